package core

import (
	"context"

	"github.com/baoguan/baoguan"
)

// RetryJob puts a dead job back in the queue now with a fresh retry
// schedule, after an operator fixed what killed it. Its handler checks the
// state of the object first, so a job whose work was meanwhile done does
// nothing. Errors: ENOTFOUND; ESTATE reason job_not_dead.
func (s *Service) RetryJob(ctx context.Context, id int64) (*baoguan.Job, error) {
	var j *baoguan.Job
	err := s.update(ctx, func(tx baoguan.Tx, q *queue) error {
		var err error
		if j, err = tx.RetryJob(id); err == nil {
			q.n++ // wake the runner
		}
		return err
	})
	return j, err
}
