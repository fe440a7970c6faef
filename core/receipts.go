package core

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// Receipts that customs ports receive on their own (baoguan.ReceiptReader:
// the E-Port client drops receipt files into a folder). One periodic job per
// such port reads them and stores them; the declaration's poll job then hands
// them to the port, which decides what they mean (DeclareRequest.Receipts).

// receiptReaders are the ports of this process whose receipts arrive on
// their own, by name.
func (s *Service) receiptReaders() map[string]baoguan.ReceiptReader {
	out := map[string]baoguan.ReceiptReader{}
	for _, a := range []Adapters{s.Sandbox, s.Live} {
		if r, ok := a.Port.(baoguan.ReceiptReader); ok {
			out[r.Name()] = r
		}
		for _, rt := range a.Routes {
			if r, ok := rt.Port.(baoguan.ReceiptReader); ok {
				out[r.Name()] = r
			}
		}
	}
	return out
}

// receiptsKey is the dedupe key of a port's receipts job: one such job
// exists, so one runner at a time (across instances) reads the port's
// receipts.
func receiptsKey(port string) string { return baoguan.JobReceipts + ":" + port }

// StartReceiptJobs makes sure each receipt-reading port of this process has
// its periodic job. Run calls it; enqueueing an existing job does nothing.
func (s *Service) StartReceiptJobs(ctx context.Context) error {
	names := s.receiptReaders()
	if len(names) == 0 {
		return nil
	}
	return s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		for name := range names {
			if err := q.add(baoguan.JobReceipts, receiptsKey(name), 0, 0, tx.Now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// receiptsJob reads a port's receipts and stores them, then runs again
// after the port's ReadEvery. It never fails: a folder that cannot be read
// or a store error is logged and tried again at the next read, so the job
// lives as long as the installation.
func (s *Service) receiptsJob(ctx context.Context, w *work) error {
	name := strings.TrimPrefix(w.job.DedupeKey, baoguan.JobReceipts+":")
	r := s.receiptReaders()[name]
	if r == nil {
		// Another instance may serve this port; this one cannot.
		s.Log.Warn("receipts job for a port this process does not have", "port", name)
		return Later(time.Minute)
	}
	err := r.ReadReceipts(ctx, func(ctx context.Context, rs []baoguan.CustomsReceipt) error {
		return s.storeReceipts(ctx, name, rs)
	})
	if err != nil {
		s.Log.Error("reading customs receipts", "port", name, "err", err)
	}
	every := r.ReadEvery()
	if every <= 0 {
		every = 5 * time.Second
	}
	return Later(every)
}

// storeReceipts stores one batch of a port's receipts in one transaction,
// and asks the poll job of every declaration they answer to run now. A
// receipt for a reference no declaration recorded is kept, logged and
// counted (baoguan receipts --unmatched lists them).
func (s *Service) storeReceipts(ctx context.Context, port string, rs []baoguan.CustomsReceipt) error {
	for i := range rs {
		rs[i].Port = port
	}
	var unmatched []baoguan.CustomsReceipt
	matched := 0
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		unmatched, matched = nil, 0
		if _, err := tx.AddCustomsReceipts(rs); err != nil {
			return err
		}
		for _, r := range rs {
			if r.DeclarationID == 0 {
				unmatched = append(unmatched, r)
				continue
			}
			matched++
			key := "poll:" + strconv.FormatInt(r.DeclarationID, 10) + ":receipt:" + r.Ref + ":" + r.Status
			if err := q.add(baoguan.JobPoll, key, r.MerchantID, r.DeclarationID, tx.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Metrics.Receipts.WithLabelValues(port, "matched").Add(float64(matched))
	s.Metrics.Receipts.WithLabelValues(port, "unmatched").Add(float64(len(unmatched)))
	for _, r := range unmatched {
		s.Log.Warn("customs receipt for an unknown reference kept", "port", port, "ref", r.Ref, "status", r.Status, "source", r.Source)
	}
	return nil
}

// portReceipts fills the stored receipts of the declaration into a request
// for a port that reads its receipts on its own.
func (s *Service) portReceipts(ctx context.Context, port baoguan.CustomsPort, r *baoguan.DeclareRequest) error {
	if _, ok := port.(baoguan.ReceiptReader); !ok {
		return nil
	}
	return s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		r.Receipts, err = tx.DeclarationReceipts(r.Declaration.MerchantID, r.Declaration.ID)
		return err
	})
}

// UnmatchedReceipts lists, newest first, the receipts of port ("" for any)
// that no declaration's attempt carries: receipts for messages baoguan did
// not send, or sent from another installation, masked (MaskPersonal).
// Operators only.
func (s *Service) UnmatchedReceipts(ctx context.Context, port string, p baoguan.Page) ([]baoguan.CustomsReceipt, error) {
	var out []baoguan.CustomsReceipt
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.UnmatchedReceipts(port, p)
		return err
	})
	maskReceipts(out)
	return out, err
}

// maskReceipts masks personal data in receipts shown to people: customs'
// text may quote the declaration it answers.
func maskReceipts(rs []baoguan.CustomsReceipt) {
	for i := range rs {
		rs[i].Info, rs[i].Raw = baoguan.MaskPersonal(rs[i].Info), baoguan.MaskPersonal(rs[i].Raw)
	}
}

// DeclarationReceipts lists the receipts stored for one of the merchant's
// declarations, every attempt, oldest first, masked (MaskPersonal).
func (s *Service) DeclarationReceipts(ctx context.Context, m *baoguan.Merchant, declarationID int64) ([]baoguan.CustomsReceipt, error) {
	var out []baoguan.CustomsReceipt
	err := s.view(ctx, func(tx baoguan.Tx) error {
		var err error
		out, err = tx.DeclarationReceipts(m.ID, declarationID)
		return err
	})
	maskReceipts(out)
	return out, err
}
