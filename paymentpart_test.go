package baoguan_test

import (
	"testing"

	"github.com/baoguan/baoguan"
)

// The vector is the one docs/protocols/accp.md prints for split pushes: the
// E-Port port and ACCP must declare the same number for the same part.
func TestPartTransactionID(t *testing.T) {
	if got := baoguan.PartTransactionID("55365885253633933566", "PUSH20261123002"); got != "ae6401a4ad63ec38373f032f59c2aa2b" {
		t.Fatalf("PartTransactionID = %s", got)
	}
	if a, b := baoguan.PartTransactionID("P1", "S1"), baoguan.PartTransactionID("P1", "S2"); a == b {
		t.Fatalf("two parts of one payment share %s", a)
	}
}
