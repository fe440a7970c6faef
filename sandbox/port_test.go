package sandbox_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/sandbox"
)

// validID completes a 17-digit body with its GB 11643-1999 check digit,
// computed here independently of the code under test.
func validID(body string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// badCheck returns body with a wrong check digit.
func badCheck(body string) string {
	good := validID(body)
	if good[17] == '0' {
		return body + "1"
	}
	return body + "0"
}

func testDecl(idType, id string, attempts int) *baoguan.Declaration {
	return &baoguan.Declaration{
		ID: 9, OrderID: 42, MerchantID: 7, Customs: "HG022", SubOrderID: "S2025032000042",
		Payer:    baoguan.Payer{Name: "张三", IDType: idType, IDNumber: id, Phone: "13800138000"},
		State:    baoguan.DeclSubmitted,
		Attempts: attempts, SubmittedAt: now,
	}
}

func declare(t *testing.T, p *sandbox.Port, d *baoguan.Declaration, at time.Time) baoguan.Receipt {
	t.Helper()
	rc, err := p.Declare(context.Background(), baoguan.DeclareRequest{Declaration: d, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func receipt(t *testing.T, p *sandbox.Port, d *baoguan.Declaration, at time.Time) baoguan.Receipt {
	t.Helper()
	rc, err := p.Receipt(context.Background(), baoguan.DeclareRequest{Declaration: d, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

func TestPortName(t *testing.T) {
	if n := sandbox.NewPort(0).Name(); n != "sandbox" {
		t.Fatalf("Name() = %q", n)
	}
	if d := sandbox.NewPort(-time.Second).Delay; d != 0 {
		t.Fatalf("negative delay kept: %v", d)
	}
}

func TestPortRules(t *testing.T) {
	const ord = "11010519900101123"
	tests := []struct {
		name     string
		idType   string
		id       string
		attempts int
		state    baoguan.DeclState
		explain  string
	}{
		{"ordinary", baoguan.IDTypeIDCard, validID(ord), 1, baoguan.DeclSuccess, ""},
		{"empty type means IDCARD", "", validID(ord), 1, baoguan.DeclSuccess, ""},
		{"lower-case x check char", baoguan.IDTypeIDCard, strings.ToLower(validID("11010519900101998")), 2, baoguan.DeclSuccess, ""},
		{"bad checksum", baoguan.IDTypeIDCard, badCheck(ord), 1, baoguan.DeclFail, sandbox.ExplainBadChecksum},
		{"bad checksum, empty type", "", badCheck(ord), 1, baoguan.DeclFail, sandbox.ExplainBadChecksum},
		{"bad checksum beats sequence code", baoguan.IDTypeIDCard, badCheck("11010519900101999"), 1, baoguan.DeclFail, sandbox.ExplainBadChecksum},
		{"impossible birth date", baoguan.IDTypeIDCard, validID("11010519900230123"), 1, baoguan.DeclFail, sandbox.ExplainBadChecksum},
		{"15-digit card", baoguan.IDTypeIDCard, "110105900101123", 1, baoguan.DeclFail, sandbox.ExplainBadChecksum},
		{"999 name mismatch", baoguan.IDTypeIDCard, validID("11010519900101999"), 1, baoguan.DeclFail, sandbox.ExplainNameMismatch},
		{"999 on retry too", baoguan.IDTypeIDCard, validID("11010519900101999"), 3, baoguan.DeclFail, sandbox.ExplainNameMismatch},
		{"996 payment invalid", baoguan.IDTypeIDCard, validID("11010519900101996"), 1, baoguan.DeclFail, sandbox.ExplainPaymentInvalid},
		{"998 attempt 0", baoguan.IDTypeIDCard, validID("11010519900101998"), 0, baoguan.DeclExcept, sandbox.ExplainCustomsException},
		{"998 attempt 1", baoguan.IDTypeIDCard, validID("11010519900101998"), 1, baoguan.DeclExcept, sandbox.ExplainCustomsException},
		{"998 heals on attempt 2", baoguan.IDTypeIDCard, validID("11010519900101998"), 2, baoguan.DeclSuccess, ""},
		{"998 attempt 5", baoguan.IDTypeIDCard, validID("11010519900101998"), 5, baoguan.DeclSuccess, ""},
		{"997 attempt 1", baoguan.IDTypeIDCard, validID("11010519900101997"), 1, baoguan.DeclExcept, sandbox.ExplainCustomsException},
		{"997 never heals", baoguan.IDTypeIDCard, validID("11010519900101997"), 9, baoguan.DeclExcept, sandbox.ExplainCustomsException},
		{"sequence code elsewhere is ordinary", baoguan.IDTypeIDCard, validID("99910519900101123"), 1, baoguan.DeclSuccess, ""},
		{"OTHER skips ID card rules", baoguan.IDTypeOther, "E12345678", 1, baoguan.DeclSuccess, ""},
		{"OTHER with a 999 ID card number", baoguan.IDTypeOther, validID("11010519900101999"), 1, baoguan.DeclSuccess, ""},
		{"OTHER with a bad checksum", baoguan.IDTypeOther, badCheck(ord), 1, baoguan.DeclSuccess, ""},
		{"sample identity (bad checksum) succeeds", baoguan.IDTypeIDCard, "310113198010101234", 1, baoguan.DeclSuccess, ""},
		{"sample 周Xx fails as documented", baoguan.IDTypeIDCard, "610327198509271234", 1, baoguan.DeclFail, sandbox.ExplainNameMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDecl(tt.idType, tt.id, tt.attempts)
			// The same rules whether the port answers at once (delay 0) or
			// on a poll once the delay has passed.
			for _, rc := range []baoguan.Receipt{
				declare(t, sandbox.NewPort(0), d, now),
				receipt(t, sandbox.NewPort(0), d, now),
				receipt(t, sandbox.NewPort(time.Second), d, now.Add(time.Second)),
			} {
				if rc.State != tt.state || rc.Explanation != tt.explain {
					t.Fatalf("%s %q attempt %d: %s %q, want %s %q", tt.idType, tt.id, tt.attempts, rc.State, rc.Explanation, tt.state, tt.explain)
				}
				checkReceiptShape(t, rc)
			}
		})
	}
}

// checkReceiptShape checks the fields that go with each state.
func checkReceiptShape(t *testing.T, rc baoguan.Receipt) {
	t.Helper()
	if !strings.HasPrefix(rc.Ref, "SBX") || len(rc.Ref) != 20 || !isDigits(rc.Ref[3:]) {
		t.Errorf("Ref = %q, want SBX + 17 digits", rc.Ref)
	}
	if rc.RetryAfter != 0 {
		t.Errorf("final receipt asks to retry after %v", rc.RetryAfter)
	}
	switch rc.State {
	case baoguan.DeclSuccess:
		id := rc.VerifyDepartmentTradeID
		if rc.VerifyDepartment != "UNIONPAY" || rc.ReceiptCode != "2" || !strings.HasPrefix(id, "4208") || len(id) != 20 || !isDigits(id) {
			t.Errorf("success receipt %+v", rc)
		}
	case baoguan.DeclFail:
		if rc.ReceiptCode != "-1" || rc.VerifyDepartment != "" || rc.VerifyDepartmentTradeID != "" {
			t.Errorf("fail receipt %+v", rc)
		}
	case baoguan.DeclExcept:
		if rc.ReceiptCode != "" || rc.VerifyDepartment != "" || rc.VerifyDepartmentTradeID != "" {
			t.Errorf("except receipt %+v", rc)
		}
	}
}

func TestPortUsesDeclaredPayer(t *testing.T) {
	// The order's payer would fail; the re-declared payer decides.
	d := testDecl(baoguan.IDTypeIDCard, validID("11010519900101123"), 2)
	o := testOrder(baoguan.ChannelMock, "F1")
	o.Payer.IDNumber = validID("11010519900101999")
	rc, err := sandbox.NewPort(0).Declare(context.Background(), baoguan.DeclareRequest{Declaration: d, Order: o, Now: now})
	if err != nil || rc.State != baoguan.DeclSuccess {
		t.Fatalf("%+v, %v; want SUCCESS from the declared payer", rc, err)
	}
}

func TestSampleIdentities(t *testing.T) {
	// The examples the seed documents print; each must be in the table.
	wantIDs := []string{
		"310327198009270027", "360104199010101234", "310113198010101234", "110113198010101234",
		"610327198509271234", "32068119891142120001", "510921199308772318", "330821198809085211",
	}
	for _, id := range wantIDs {
		if !sandbox.IsSampleIdentity(id) {
			t.Errorf("%s is not a sample identity", id)
		}
	}
	if len(sandbox.SampleIdentities) != len(wantIDs) {
		t.Errorf("%d sample identities, want %d", len(sandbox.SampleIdentities), len(wantIDs))
	}
	for _, s := range sandbox.SampleIdentities {
		if s.Source == "" || s.Name == "" {
			t.Errorf("%s: undocumented sample", s.IDNumber)
		}
		// Names are not matched: the documents pair numbers with several names.
		d := testDecl(baoguan.IDTypeIDCard, s.IDNumber, 1)
		d.Payer.Name = "随便谁"
		rc := declare(t, sandbox.NewPort(0), d, now)
		if s.IDNumber == "610327198509271234" {
			if rc.State != baoguan.DeclFail || rc.Explanation != "支付人姓名和证件号不匹配" {
				t.Errorf("周Xx: %s %q, want FAIL 支付人姓名和证件号不匹配", rc.State, rc.Explanation)
			}
			continue
		}
		if rc.State != baoguan.DeclSuccess {
			t.Errorf("%s %s (%s): %s %q, want SUCCESS", s.Name, s.IDNumber, s.Source, rc.State, rc.Explanation)
		}
	}
	for _, id := range []string{" 310113198010101234 ", validID("11010519900101123"), "", "31011319801010123"} {
		if got, want := sandbox.IsSampleIdentity(id), strings.TrimSpace(id) == "310113198010101234"; got != want {
			t.Errorf("IsSampleIdentity(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestPortDelay(t *testing.T) {
	p := sandbox.NewPort(time.Second)
	d := testDecl(baoguan.IDTypeIDCard, validID("11010519900101123"), 1)

	rc := declare(t, p, d, now)
	if rc.State != baoguan.DeclProcessing || rc.RetryAfter != time.Second || rc.Ref == "" {
		t.Fatalf("Declare = %+v, want PROCESSING retry after 1s", rc)
	}
	ref := rc.Ref

	tests := []struct {
		after time.Duration
		state baoguan.DeclState
		retry time.Duration
	}{
		{0, baoguan.DeclProcessing, time.Second},
		{300 * time.Millisecond, baoguan.DeclProcessing, 700 * time.Millisecond},
		{999 * time.Millisecond, baoguan.DeclProcessing, time.Millisecond},
		{time.Second, baoguan.DeclSuccess, 0},
		{time.Hour, baoguan.DeclSuccess, 0},
		{-time.Minute, baoguan.DeclProcessing, time.Minute + time.Second}, // clock behind the submit time
	}
	for _, tt := range tests {
		rc := receipt(t, p, d, now.Add(tt.after))
		if rc.State != tt.state || rc.RetryAfter != tt.retry || rc.Ref != ref {
			t.Errorf("+%v: %s retry %v ref %s, want %s retry %v ref %s", tt.after, rc.State, rc.RetryAfter, rc.Ref, tt.state, tt.retry, ref)
		}
	}

	// Without a submit time there is nothing to wait for.
	d.SubmittedAt = time.Time{}
	if rc := receipt(t, p, d, now); rc.State != baoguan.DeclSuccess {
		t.Errorf("no SubmittedAt: %s, want SUCCESS", rc.State)
	}

	// Delay 0 answers at once, even in Declare.
	d.SubmittedAt = now
	if rc := declare(t, sandbox.NewPort(0), d, now); rc.State != baoguan.DeclSuccess || rc.Ref != ref {
		t.Errorf("delay 0: %+v, want SUCCESS with ref %s", rc, ref)
	}
}

func TestPortDeterministic(t *testing.T) {
	ids := []string{validID("11010519900101123"), validID("11010519900101999"), validID("11010519900101998"), "310113198010101234"}
	for _, id := range ids {
		for _, delay := range []time.Duration{0, time.Second} {
			p := sandbox.NewPort(delay)
			d := testDecl(baoguan.IDTypeIDCard, id, 1)
			for _, at := range []time.Time{now, now.Add(500 * time.Millisecond), now.Add(2 * time.Second)} {
				if a, b := declare(t, p, d, at), declare(t, sandbox.NewPort(delay), d, at); !reflect.DeepEqual(a, b) {
					t.Errorf("Declare %s delay %v: %+v then %+v", id, delay, a, b)
				}
				if a, b := receipt(t, p, d, at), receipt(t, sandbox.NewPort(delay), d, at); !reflect.DeepEqual(a, b) {
					t.Errorf("Receipt %s delay %v: %+v then %+v", id, delay, a, b)
				}
			}
		}
	}
}

func TestPortReferencesDiffer(t *testing.T) {
	p := sandbox.NewPort(0)
	base := testDecl(baoguan.IDTypeIDCard, validID("11010519900101123"), 1)
	a := declare(t, p, base, now)

	retry := *base
	retry.Attempts = 2
	sub := *base
	sub.SubOrderID = "S2025032000043"
	noSub := *base
	noSub.SubOrderID = ""
	noSub2 := noSub
	noSub2.ID = 10
	otherCustoms := *base
	otherCustoms.Customs = "HG016"

	seenRef := map[string]string{a.Ref: "base"}
	seenTrade := map[string]string{a.VerifyDepartmentTradeID: "base"}
	for name, d := range map[string]*baoguan.Declaration{
		"retry": &retry, "other sub-order": &sub, "by row id": &noSub, "other row id": &noSub2, "other customs": &otherCustoms,
	} {
		rc := declare(t, p, d, now)
		if prev, dup := seenRef[rc.Ref]; dup {
			t.Errorf("%s shares Ref %s with %s", name, rc.Ref, prev)
		}
		if prev, dup := seenTrade[rc.VerifyDepartmentTradeID]; dup {
			t.Errorf("%s shares trade id %s with %s", name, rc.VerifyDepartmentTradeID, prev)
		}
		seenRef[rc.Ref], seenTrade[rc.VerifyDepartmentTradeID] = name, name
	}
}

func TestPortNilDeclaration(t *testing.T) {
	p := sandbox.NewPort(0)
	if _, err := p.Declare(context.Background(), baoguan.DeclareRequest{Now: now}); err == nil {
		t.Error("Declare without a declaration succeeded")
	}
	if _, err := p.Receipt(context.Background(), baoguan.DeclareRequest{Now: now}); err == nil {
		t.Error("Receipt without a declaration succeeded")
	}
}
