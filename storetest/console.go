package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
)

// consoleTests cover what the console and key lifecycle store: users,
// sessions, retired keys, the dashboard aggregates and dead-job retry.
var consoleTests = []struct {
	name string
	fn   func(t *testing.T, s baoguan.Store)
}{
	{"Users", testUsers},
	{"Sessions", testSessions},
	{"RetiredKeys", testRetiredKeys},
	{"Stats", testStats},
	{"OrderTimeFilter", testOrderTimeFilter},
	{"RetryJob", testRetryJob},
}

func testUsers(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	op := &baoguan.User{Login: "ops", Name: "Ops", Role: baoguan.RoleOperator, PasswordHash: "$argon2id$x"}
	mu := &baoguan.User{Login: "clerk@acme", Name: "Clerk", Role: baoguan.RoleMerchant, MerchantID: m.ID, PasswordHash: "$argon2id$y"}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateUser(op); err != nil {
			return err
		}
		return tx.CreateUser(mu)
	})
	if op.ID == 0 || op.ID == mu.ID || op.CreatedAt.IsZero() {
		t.Fatalf("CreateUser did not set ID/CreatedAt: %+v %+v", op, mu)
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateUser(&baoguan.User{Login: "ops", Role: baoguan.RoleOperator})
	})
	wantErr(t, "second user with login ops", err, baoguan.ECONFLICT, "duplicate")
	mu.Name, mu.Disabled, mu.PasswordHash = "Clerk Two", true, "$argon2id$z"
	update(t, s, func(tx baoguan.Tx) error { return tx.UpdateUser(mu) })
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.UserByLogin("clerk@acme")
		if err != nil {
			return err
		}
		same(t, "user by login", got, mu)
		got, err = tx.User(op.ID)
		if err != nil {
			return err
		}
		same(t, "user by id", got, op)
		_, err = tx.UserByLogin("nobody")
		notFound(t, "unknown login", err)
		all, err := tx.Users()
		if err != nil {
			return err
		}
		same(t, "users", ids(all, func(u *baoguan.User) int64 { return u.ID }), []int64{op.ID, mu.ID})
		return nil
	})
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { return tx.UpdateUser(&baoguan.User{ID: 999999}) })
	notFound(t, "update of a missing user", err)
}

func testSessions(t *testing.T, s baoguan.Store) {
	u := &baoguan.User{Login: "ops", Role: baoguan.RoleOperator, PasswordHash: "h"}
	v := &baoguan.User{Login: "ops2", Role: baoguan.RoleOperator, PasswordHash: "h"}
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	live := &baoguan.Session{TokenHash: "live", UserID: 0, CSRF: "c1", ExpiresAt: now.Add(time.Hour)}
	old := &baoguan.Session{TokenHash: "old", CSRF: "c2", ExpiresAt: now.Add(-time.Minute)}
	other := &baoguan.Session{TokenHash: "other", CSRF: "c3", ExpiresAt: now.Add(time.Hour)}
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.CreateUser(u); err != nil {
			return err
		}
		if err := tx.CreateUser(v); err != nil {
			return err
		}
		live.UserID, old.UserID, other.UserID = u.ID, u.ID, v.ID
		for _, x := range []*baoguan.Session{live, old, other} {
			if err := tx.CreateSession(x); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Update(context.Background(), func(tx baoguan.Tx) error {
		return tx.CreateSession(&baoguan.Session{TokenHash: "ghost", UserID: 999999, ExpiresAt: now.Add(time.Hour)})
	})
	notFound(t, "session of a missing user", err)
	view(t, s, func(tx baoguan.Tx) error {
		got, err := tx.Session("live")
		if err != nil {
			return err
		}
		if got.UserID != u.ID || got.CSRF != "c1" || !got.ExpiresAt.Equal(live.ExpiresAt.Truncate(time.Millisecond)) {
			t.Errorf("session: got %+v, want %+v", got, live)
		}
		_, err = tx.Session("old")
		notFound(t, "expired session", err)
		_, err = tx.Session("nope")
		notFound(t, "unknown session", err)
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error {
		if err := tx.DeleteSessions(0); err != nil { // expired ones
			return err
		}
		if err := tx.DeleteSession("live"); err != nil {
			return err
		}
		return tx.DeleteSession("live") // twice is fine
	})
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.Session("live")
		notFound(t, "session after logout", err)
		_, err = tx.Session("other")
		if err != nil {
			t.Errorf("another user's session went with the logout: %v", err)
		}
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error { return tx.DeleteSessions(v.ID) })
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.Session("other")
		notFound(t, "session after DeleteSessions(user)", err)
		return nil
	})
}

func testRetiredKeys(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	update(t, s, func(tx baoguan.Tx) error {
		for _, k := range []*baoguan.RetiredKey{
			{MerchantID: a.ID, Kind: baoguan.KeyAPI, Secret: "hash-old", ExpiresAt: now.Add(time.Hour)},
			{MerchantID: a.ID, Kind: baoguan.KeyAPI, Secret: "hash-gone", ExpiresAt: now.Add(-time.Second)},
			{MerchantID: a.ID, Kind: baoguan.KeyWebhook, Secret: "whsec_old", ExpiresAt: now.Add(time.Hour)},
			{MerchantID: b.ID, Kind: baoguan.KeyApp, Secret: "apphash", ExpiresAt: now.Add(time.Hour)},
		} {
			if err := tx.RetireKey(k); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx baoguan.Tx) error {
		m, err := tx.MerchantByRetiredKey(baoguan.KeyAPI, "hash-old")
		if err != nil {
			return err
		}
		same(t, "merchant of a retired API key", m.ID, a.ID)
		_, err = tx.MerchantByRetiredKey(baoguan.KeyAPI, "hash-gone")
		notFound(t, "expired retired key", err)
		_, err = tx.MerchantByRetiredKey(baoguan.KeyAPI, "apphash")
		notFound(t, "retired key of another kind", err)
		_, err = tx.MerchantByRetiredKey(baoguan.KeyWebhook, "whsec_old")
		notFound(t, "signing secrets are not looked up", err)
		ks, err := tx.RetiredKeys(a.ID, baoguan.KeyWebhook)
		if err != nil {
			return err
		}
		if len(ks) != 1 || ks[0].Secret != "whsec_old" {
			t.Errorf("retired webhook secrets: %+v", ks)
		}
		ks, err = tx.RetiredKeys(b.ID, baoguan.KeyWebhook)
		if err != nil {
			return err
		}
		same(t, "another merchant's retired webhook secrets", len(ks), 0)
		return nil
	})
	update(t, s, func(tx baoguan.Tx) error { return tx.RevokeRetiredKeys(a.ID, baoguan.KeyAPI) })
	view(t, s, func(tx baoguan.Tx) error {
		_, err := tx.MerchantByRetiredKey(baoguan.KeyAPI, "hash-old")
		notFound(t, "revoked retired key", err)
		if _, err := tx.MerchantByRetiredKey(baoguan.KeyApp, "apphash"); err != nil {
			t.Errorf("revoking one merchant's API keys dropped another's app key: %v", err)
		}
		return nil
	})
}

func testStats(t *testing.T, s baoguan.Store) {
	a := newMerchant(t, s, "acme")
	b := newMerchant(t, s, "bolt")
	states := []struct {
		pay  baoguan.PayStatus
		decl baoguan.DeclState
		port string
		why  string
	}{
		{baoguan.PaySucceed, baoguan.DeclSuccess, "HANGZHOU", ""},
		{baoguan.PaySucceed, baoguan.DeclFail, "HANGZHOU", "订购人身份证号校验不通过"},
		{baoguan.PaySucceed, baoguan.DeclFail, "HANGZHOU", "订购人身份证号校验不通过"},
		{baoguan.PaySucceed, baoguan.DeclFail, "GUANGZHOU", "订购人姓名不合法"},
		{baoguan.PayFailed, baoguan.DeclUndeclared, "GUANGZHOU", ""},
		{baoguan.PayNotPayed, baoguan.DeclUndeclared, "GUANGZHOU", ""},
	}
	for i, st := range states {
		o := sampleOrder(a, fmt.Sprint("S", i))
		o.PayStatus = st.pay
		o.Amount = int64(100 * (i + 1))
		update(t, s, func(tx baoguan.Tx) error {
			if err := tx.CreateOrder(o); err != nil {
				return err
			}
			d := sampleDeclaration(o, "HANGZHOU_ZONGSHU", "")
			d.Port, d.State, d.Explanation = st.port, st.decl, st.why
			return tx.CreateDeclaration(d)
		})
	}
	newOrder(t, s, b, "B1") // another merchant's
	var now time.Time
	view(t, s, func(tx baoguan.Tx) error { now = tx.Now(); return nil })
	f := baoguan.StatsFilter{MerchantID: a.ID, From: now.Add(-time.Hour), To: now.Add(time.Hour)}
	view(t, s, func(tx baoguan.Tx) error {
		days, err := tx.OrderDays(f)
		if err != nil {
			return err
		}
		if len(days) != 1 {
			t.Fatalf("OrderDays: %d days, want 1: %+v", len(days), days)
		}
		d := days[0]
		same(t, "day counts", []any{d.Orders, d.Paid, d.PaidAmount, d.PayFailed}, []any{6, 4, int64(100 + 200 + 300 + 400), 1})
		china := time.FixedZone("CST", 8*3600)
		if l := d.Day.In(china); l.Hour() != 0 || l.Minute() != 0 || now.In(china).Format("20060102") != l.Format("20060102") {
			t.Errorf("day starts at %v, want today's midnight in China", l)
		}
		all, err := tx.OrderDays(baoguan.StatsFilter{From: f.From, To: f.To})
		if err != nil {
			return err
		}
		same(t, "every merchant's orders today", all[0].Orders, 7)
		none, err := tx.OrderDays(baoguan.StatsFilter{MerchantID: a.ID, From: now.Add(time.Hour)})
		if err != nil {
			return err
		}
		same(t, "days after now", len(none), 0)

		ports, err := tx.DeclarationPorts(f)
		if err != nil {
			return err
		}
		same(t, "ports", ports, []baoguan.PortCount{
			{Port: "GUANGZHOU", Success: 0, Failed: 1, Waiting: 2},
			{Port: "HANGZHOU", Success: 1, Failed: 2, Waiting: 0},
		})
		fails, err := tx.DeclarationFailures(f, 10)
		if err != nil {
			return err
		}
		if len(fails) != 2 || fails[0].Count != 2 || fails[0].Port != "HANGZHOU" || fails[0].Explanation != "订购人身份证号校验不通过" ||
			fails[1].Port != "GUANGZHOU" || fails[1].Count != 1 || fails[0].Last.IsZero() {
			t.Errorf("failures: %+v", fails)
		}
		other, err := tx.DeclarationFailures(baoguan.StatsFilter{MerchantID: b.ID}, 10)
		if err != nil {
			return err
		}
		same(t, "another merchant's failures", len(other), 0)
		return nil
	})
}

func testOrderTimeFilter(t *testing.T, s baoguan.Store) {
	m := newMerchant(t, s, "acme")
	o := newOrder(t, s, m, "T1")
	view(t, s, func(tx baoguan.Tx) error {
		for _, c := range []struct {
			from, to time.Time
			want     int
		}{
			{time.Time{}, time.Time{}, 1},
			{o.CreatedAt, time.Time{}, 1},
			{o.CreatedAt.Add(time.Millisecond), time.Time{}, 0},
			{time.Time{}, o.CreatedAt, 0},
			{time.Time{}, o.CreatedAt.Add(time.Millisecond), 1},
		} {
			f := baoguan.OrderFilter{MerchantID: m.ID, From: c.from, To: c.to}
			os, err := tx.ListOrders(f)
			if err != nil {
				return err
			}
			n, err := tx.CountOrders(f)
			if err != nil {
				return err
			}
			if len(os) != c.want || n != c.want {
				t.Errorf("from %v to %v: listed %d, counted %d, want %d", c.from, c.to, len(os), n, c.want)
			}
		}
		return nil
	})
}

func testRetryJob(t *testing.T, s baoguan.Store) {
	a, b := &baoguan.Job{Kind: baoguan.JobNotify, DedupeKey: "a"}, &baoguan.Job{Kind: baoguan.JobNotify, DedupeKey: "b"}
	enqueue(t, s, a, b)
	got := claim(t, s, nil, 1, time.Minute)
	got[0].State, got[0].LastError = baoguan.JobDead, "receiver down"
	update(t, s, func(tx baoguan.Tx) error { return tx.FinishJob(&got[0]) })
	var again *baoguan.Job
	update(t, s, func(tx baoguan.Tx) error {
		var err error
		again, err = tx.RetryJob(got[0].ID)
		return err
	})
	if again.State != baoguan.JobQueued || again.Attempts != 0 || again.LastError != "receiver down" {
		t.Errorf("retried job: %+v", again)
	}
	err := s.Update(context.Background(), func(tx baoguan.Tx) error { _, err := tx.RetryJob(b.ID); return err })
	wantErr(t, "retry of a queued job", err, baoguan.ESTATE, "job_not_dead")
	err = s.Update(context.Background(), func(tx baoguan.Tx) error { _, err := tx.RetryJob(999999); return err })
	notFound(t, "retry of a missing job", err)
	re := claim(t, s, nil, 5, time.Minute)
	if len(re) != 2 {
		t.Errorf("after retry, %d jobs claimable, want 2", len(re))
	}
}
