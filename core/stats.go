package core

import (
	"context"
	"time"

	"github.com/baoguan/baoguan"
)

// DashboardDays is how many days the dashboard charts, today included.
const DashboardDays = 14

// Dashboard is what the console's first page shows: orders and payments
// per day, today's among them, and declarations by customs port.
type Dashboard struct {
	Days     []baoguan.DayCount // DashboardDays entries, oldest first, days without orders included
	Today    baoguan.DayCount
	Ports    []baoguan.PortCount
	Failures []baoguan.FailureCount
}

// startOfDay is midnight of t's day in China time.
func startOfDay(t time.Time) time.Time {
	l := t.In(ChinaTime)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, ChinaTime)
}

// Dashboard computes the figures of the last DashboardDays days for one
// merchant, or with m nil for every merchant (operators).
func (s *Service) Dashboard(ctx context.Context, m *baoguan.Merchant) (*Dashboard, error) {
	today := startOfDay(s.Now())
	from := today.AddDate(0, 0, -(DashboardDays - 1))
	f := baoguan.StatsFilter{From: from, To: today.AddDate(0, 0, 1)}
	if m != nil {
		f.MerchantID = m.ID
	}
	var days []baoguan.DayCount
	d := &Dashboard{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if days, err = tx.OrderDays(f); err != nil {
			return err
		}
		if d.Ports, err = tx.DeclarationPorts(f); err != nil {
			return err
		}
		d.Failures, err = tx.DeclarationFailures(f, 10)
		return err
	})
	if err != nil {
		return nil, err
	}
	byDay := map[int64]baoguan.DayCount{}
	for _, x := range days {
		byDay[x.Day.Unix()] = x
	}
	for i := range DashboardDays {
		day := from.AddDate(0, 0, i)
		x := byDay[day.Unix()]
		x.Day = day
		d.Days = append(d.Days, x)
	}
	d.Today = d.Days[len(d.Days)-1]
	return d, nil
}

// DeclarationReport is declarations by port with their failure reasons,
// for operators, over [From, To).
type DeclarationReport struct {
	Ports    []baoguan.PortCount
	Failures []baoguan.FailureCount
}

// Declarations reports declarations by port and failure reason for one
// merchant (m) or all (nil), over f's window.
func (s *Service) DeclarationReport(ctx context.Context, m *baoguan.Merchant, from, to time.Time) (*DeclarationReport, error) {
	f := baoguan.StatsFilter{From: from, To: to}
	if m != nil {
		f.MerchantID = m.ID
	}
	r := &DeclarationReport{}
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		if r.Ports, err = tx.DeclarationPorts(f); err != nil {
			return err
		}
		r.Failures, err = tx.DeclarationFailures(f, 200)
		return err
	})
	return r, err
}
