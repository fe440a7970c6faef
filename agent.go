package baoguan

import "time"

// Agent is a service provider (服务商, WiseCashier's AgentNo) that acts for
// several merchants with one key: it signs requests naming any of its
// merchants, and sees and acts only for them. A merchant belongs to at most
// one agent (Merchant.AgentID).
type Agent struct {
	ID   int64
	No   string // the agent's public number (AgentNo), unique
	Name string // unique
	// Settings holds the agent's per-protocol keys and options
	// ("wisecashier.public-key"), sealed at rest like a merchant's.
	Settings map[string]string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// AgentOf reports whether merchant m is one of agent a's merchants.
func (a *Agent) AgentOf(m *Merchant) bool {
	return a != nil && m != nil && a.ID != 0 && m.AgentID == a.ID
}
