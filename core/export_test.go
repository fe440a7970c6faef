package core

import "github.com/baoguan/baoguan"

// SetAfterBatchChunk makes CreateBatch call fn after each chunk it commits.
func SetAfterBatchChunk(s *Service, fn func(b *baoguan.Batch)) { s.afterBatchChunk = fn }

// SlowChunks is how many batch chunks were stored one order at a time.
func SlowChunks(s *Service) int64 { return s.slowChunks.Load() }
