package baoguan

import "time"

// Real-name check results (payzero appendix A.7).
const (
	RealNamePass         = "PASS"
	RealNameNotPass      = "NOT_PASS"
	RealNameNameInvalid  = "NAME_INVALID"
	RealNameIDNoInvalid  = "IDNO_INVALID"
	RealNameCannotFindID = "CANNOT_FIND_ID"
)

// RealNameCheck is one check of a name and resident ID number against the
// public-security database, kept for the operator. IDNo is personal data:
// sealed by the store. Birth (yyyyMMdd), Sex (男 / 女) and Addr are what the
// provider says of the holder, empty when it says nothing.
type RealNameCheck struct {
	ID         string // a UUID, unique per check
	MerchantID int64
	Name       string
	IDNo       string
	Birth      string
	Sex        string
	Addr       string
	Result     string
	CheckedAt  time.Time
}
