package sqlstore

import (
	"strings"

	"github.com/baoguan/baoguan"
)

// Agents: service providers acting for several merchants. Their settings
// hold request-signing keys, so they are sealed like merchants' settings.

const agentCols = `id, agent_no, name, settings, created_at, updated_at`

const (
	qInsertAgent = `INSERT INTO agents (agent_no, name, settings, created_at, updated_at)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING
RETURNING id`
	qUpdateAgent = `UPDATE agents SET name = ?, settings = ?, updated_at = ? WHERE id = ?`
	qAgent       = `SELECT ` + agentCols + ` FROM agents WHERE id = ?`
	qAgentByNo   = `SELECT ` + agentCols + ` FROM agents WHERE agent_no = ?`
	qAgents      = `SELECT ` + agentCols + ` FROM agents ORDER BY id`
	qAgentTaken  = `SELECT agent_no, name FROM agents WHERE id <> ? AND (agent_no = ? OR name = ?) LIMIT 1`
)

// agentTaken returns the ECONFLICT naming the key of a that another agent
// than id holds, or nil.
func (t *Tx) agentTaken(a *baoguan.Agent, id int64) error {
	var no, name string
	found, err := t.one(qAgentTaken, []any{id, a.No, a.Name}, func(s Scanner) error { return s.Scan(&no, &name) })
	switch {
	case err != nil:
		return err
	case !found:
		return nil
	case no == a.No:
		return duplicate("agent_no", "agent %q already exists", a.No)
	}
	return duplicate("name", "an agent named %q already exists", a.Name)
}

// CreateAgent inserts a. A number or name another agent holds is ECONFLICT
// reason duplicate, naming the field.
func (t *Tx) CreateAgent(a *baoguan.Agent) error {
	if err := t.agentTaken(a, 0); err != nil {
		return err
	}
	settings, err := t.toJSON(a.Settings)
	if err != nil {
		return err
	}
	s := t.sealer()
	sealed := s.seal(settings)
	if s.err != nil {
		return s.err
	}
	id, inserted, err := t.insertID(qInsertAgent, []any{a.No, a.Name, sealed, ms(t.now), ms(t.now)})
	if err != nil {
		return err
	}
	if !inserted { // a concurrent writer took a key after the check
		if err := t.agentTaken(a, 0); err != nil {
			return err
		}
		return duplicate("agent_no", "agent %q already exists", a.No)
	}
	a.ID, a.CreatedAt, a.UpdatedAt = id, t.now, t.now
	return nil
}

// UpdateAgent writes a's name and settings (its number never changes).
// ENOTFOUND; ECONFLICT when the name is another agent's.
func (t *Tx) UpdateAgent(a *baoguan.Agent) error {
	if err := t.agentTaken(&baoguan.Agent{Name: a.Name}, a.ID); err != nil {
		return err
	}
	settings, err := t.toJSON(a.Settings)
	if err != nil {
		return err
	}
	s := t.sealer()
	sealed := s.seal(settings)
	if s.err != nil {
		return s.err
	}
	n, err := t.exec(qUpdateAgent, a.Name, sealed, ms(t.now), a.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("agent %d not found", a.ID)
	}
	a.UpdatedAt = t.now
	return nil
}

func (t *Tx) scanAgent(sc Scanner, a *baoguan.Agent) error {
	var settings string
	var created, updated int64
	if err := sc.Scan(&a.ID, &a.No, &a.Name, &settings, &created, &updated); err != nil {
		return err
	}
	a.CreatedAt, a.UpdatedAt = fromMS(created), fromMS(updated)
	if strings.HasPrefix(settings, "k1.") {
		s := t.sealer()
		if settings = s.open(settings); s.err != nil {
			return s.err
		}
	}
	return t.fromJSON(settings, &a.Settings)
}

func (t *Tx) agentBy(q string, arg any, what string) (*baoguan.Agent, error) {
	a := new(baoguan.Agent)
	found, err := t.one(q, []any{arg}, func(s Scanner) error { return t.scanAgent(s, a) })
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, notFound("agent %s not found", what)
	}
	return a, nil
}

// Agent reads an agent by id; ENOTFOUND.
func (t *Tx) Agent(id int64) (*baoguan.Agent, error) { return t.agentBy(qAgent, id, itoa(id)) }

// AgentByNo reads an agent by number; ENOTFOUND.
func (t *Tx) AgentByNo(no string) (*baoguan.Agent, error) {
	return t.agentBy(qAgentByNo, no, quote(no))
}

// Agents lists every agent, oldest first.
func (t *Tx) Agents() ([]baoguan.Agent, error) {
	var out []baoguan.Agent
	err := t.each(qAgents, nil, func(s Scanner) error {
		var a baoguan.Agent
		if err := t.scanAgent(s, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}
