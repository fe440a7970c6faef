package sqlite

import "time"

// SetBareAfterFailure sets how long the writer runs every fn in a
// savepoint after a fn run without one failed, for a test; restore sets
// it back.
func SetBareAfterFailure(d time.Duration) (restore func()) {
	old := bareAfterFailure
	bareAfterFailure = d
	return func() { bareAfterFailure = old }
}

// QueuedCalls is how many Updates wait for the writer, for a test.
func (db *DB) QueuedCalls() int { return db.calls.Len() }

// SetCheckpointBeside sets whether stores opened from now on run the
// checkpointer beside the writer, for a benchmark; restore sets it back.
func SetCheckpointBeside(on bool) (restore func()) {
	old := checkpointBeside
	checkpointBeside = on
	return func() { checkpointBeside = old }
}

// SetCheckpointAt sets how many frames of the WAL not yet copied make the
// checkpointer run, for a test; restore sets it back.
func SetCheckpointAt(frames uint32) (restore func()) {
	old := checkpointAt
	checkpointAt = frames
	return func() { checkpointAt = old }
}

// SetCheckpointPoll sets how often at most the checkpointer reads the
// WAL's index, for a benchmark; restore sets it back.
func SetCheckpointPoll(d time.Duration) (restore func()) {
	old := checkpointPoll
	checkpointPoll = d
	return func() { checkpointPoll = old }
}
