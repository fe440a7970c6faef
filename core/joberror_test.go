package core_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
	"github.com/baoguan/baoguan/keyring"
	"github.com/baoguan/baoguan/sandbox"
	"github.com/baoguan/baoguan/sqlite"
	"github.com/baoguan/baoguan/storetest"
)

// quotingPort is a live customs port whose failures quote the payer, as
// an upstream's error text may.
type quotingPort struct{}

func (quotingPort) Name() string { return "quoting" }
func (quotingPort) Declare(_ context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	if r.Declaration.Payer.IDNumber == storetest.IDNumber(7778) {
		return baoguan.Receipt{State: baoguan.DeclFail, Explanation: "订购人证件号" + r.Declaration.Payer.IDNumber + "与姓名不一致"}, nil
	}
	return baoguan.Receipt{}, errors.New("upstream refused payer " + r.Declaration.Payer.IDNumber + " tel " + r.Declaration.Payer.Phone)
}
func (quotingPort) Receipt(context.Context, baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return baoguan.Receipt{}, errors.New("no receipt")
}

// TestJobErrorsMasked: a job's error that quotes the payer's ID number and
// phone is stored (and shown to operators by `baoguan jobs --dead` and the
// console) masked, and so is customs' explanation that quotes it; neither
// value reaches the database in clear.
func TestJobErrorsMasked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "core.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	retries := core.DefaultRetries()
	retries[baoguan.JobDeclare] = baoguan.Retry{time.Millisecond}
	svc := core.New(&core.Service{Store: db, Retries: retries,
		Sandbox:        core.Adapters{Channel: sandbox.NewChannel(), Port: sandbox.NewPort(0)},
		Live:           core.Adapters{Channel: sandbox.NewChannel(), Routes: map[string]core.Route{baoguan.RouteEPort: {Port: quotingPort{}, Name: "quoting"}}},
		SampleIdentity: sandbox.IsSampleIdentity,
		HTTP:           &http.Client{Timeout: 5 * time.Second}})
	m, _, err := svc.CreateMerchant(ctx, core.MerchantInput{Name: "live"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err = svc.UpdateMerchant(ctx, m.No, func(m *baoguan.Merchant) error { m.Mode = baoguan.ModeLive; return nil }); err != nil {
		t.Fatal(err)
	}
	id, phone := storetest.IDNumber(7777), storetest.Phone(7777)
	if _, _, err := svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "JE-1", Amount: 100, Subject: "奶粉",
		Channel: "external", Payment: baoguan.Payment{No: "PAY-JE-1", PSP: "OTHERPAY"},
		Payer: baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: id, Phone: phone}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}); err != nil {
		t.Fatal(err)
	}
	id2 := storetest.IDNumber(7778)
	if _, _, err := svc.CreateOrder(ctx, m, core.OrderInput{Order: baoguan.Order{MerchantOrderNo: "JE-2", Amount: 100, Subject: "奶粉",
		Channel: "external", Payment: baoguan.Payment{No: "PAY-JE-2", PSP: "OTHERPAY"},
		Payer: baoguan.Payer{Name: "张三", IDType: baoguan.IDTypeIDCard, IDNumber: id2, Phone: phone}},
		Declarations: []baoguan.DeclarationSpec{{Customs: "HG014"}}}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx, core.RunnerOptions{Poll: 10 * time.Millisecond}) }()
	var dead []baoguan.Job
	deadline := time.Now().Add(20 * time.Second)
	for len(dead) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the declare job never failed for good")
		}
		time.Sleep(10 * time.Millisecond)
		if dead, err = svc.Jobs(ctx, baoguan.JobFilter{State: baoguan.JobDead}); err != nil {
			t.Fatal(err)
		}
	}
	e := dead[0].LastError
	if !strings.Contains(e, "upstream refused payer") || strings.Contains(e, id) || strings.Contains(e, phone) ||
		!strings.Contains(e, baoguan.MaskID(id)) {
		t.Errorf("the job's error is %q; want the upstream's text with the payer masked", e)
	}
	var ds []baoguan.Declaration
	for len(ds) == 0 || !ds[0].Final() {
		if time.Now().After(deadline) {
			t.Fatalf("JE-2 never failed: %+v", ds)
		}
		time.Sleep(10 * time.Millisecond)
		if ds, err = svc.Declarations(ctx, m, "JE-2"); err != nil {
			t.Fatal(err)
		}
	}
	if x := ds[0].Explanation; ds[0].State != baoguan.DeclFail || strings.Contains(x, id2) || !strings.Contains(x, baoguan.MaskID(id2)) {
		t.Errorf("JE-2: %s %q; want FAIL with the payer masked in the explanation", ds[0].State, x)
	}
	cancel()
	<-done
	found, err := storetest.FindInFiles(path, []string{id, id2, phone})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("in clear at rest: %s", f)
	}
}
