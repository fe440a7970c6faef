package core

import (
	"context"

	"github.com/baoguan/baoguan"
)

// Allow takes a token from the rate-limit bucket named key, which refills at
// rate tokens a second up to burst, and reports whether there was one. The
// bucket is in the database, so the limit holds across every instance that
// shares it (a per-process bucket would let N instances allow N times the
// rate).
func (s *Service) Allow(ctx context.Context, key string, rate float64, burst int) (bool, error) {
	var ok bool
	err := s.Store.Update(ctx, func(tx baoguan.Tx) error {
		var err error
		ok, err = tx.TakeToken(key, rate, burst)
		return err
	})
	return ok, err
}
