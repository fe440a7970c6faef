package sandbox

import (
	"context"

	"github.com/baoguan/baoguan"
)

var _ baoguan.RealNameVerifier = (*Channel)(nil)

// VerifyRealName plays the real-name service of payzero's test environment
// (§7.1), keyed on the first digit of the ID number: 1 passes, 2 is not in
// the database, 3 has an invalid name, 4 is an invalid number, anything else
// does not pass. A number that is not shaped like a resident ID number at
// all is IDNO_INVALID whatever its first digit. Birth, sex and region are
// read from the number itself, as a real provider would return them from
// the database.
func (c *Channel) VerifyRealName(ctx context.Context, r baoguan.RealNameRequest) (baoguan.RealNameCheck, error) {
	if err := ctx.Err(); err != nil {
		return baoguan.RealNameCheck{}, err
	}
	out := baoguan.RealNameCheck{Name: r.Name, IDNo: r.IDNo}
	if baoguan.CheckIDFormat("idno", baoguan.IDTypeIDCard, r.IDNo) != nil {
		out.Result = baoguan.RealNameIDNoInvalid
		return out, nil
	}
	out.Birth, out.Sex, out.Addr = baoguan.ReadIDCard(r.IDNo)
	switch r.IDNo[0] {
	case '1':
		out.Result = baoguan.RealNamePass
	case '2':
		out.Result = baoguan.RealNameCannotFindID
	case '3':
		out.Result = baoguan.RealNameNameInvalid
	case '4':
		out.Result = baoguan.RealNameIDNoInvalid
	default:
		out.Result = baoguan.RealNameNotPass
	}
	return out, nil
}
