package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/baoguan/baoguan"
)

// callLog is a customs port that writes a line for the start and the end of
// every call to the port it wraps (--customs-call-log): an audit of what was
// sent to customs and when, which survives the process. Several instances
// may append to one file: each line is written with one write(2) on a file
// opened with O_APPEND, so lines do not interleave on a local file system.
//
// The crash tests read it to check, across processes, that no declaration
// attempt was sent twice at the same time.
type callLog struct {
	next baoguan.CustomsPort
	pid  int
	mu   sync.Mutex
	f    *os.File
}

// CallRecord is one line of the customs call log.
type CallRecord struct {
	PID         int    `json:"pid"`
	Op          string `json:"op"`    // declare or receipt
	Phase       string `json:"phase"` // start, or end once the port answered
	Declaration int64  `json:"declaration"`
	Attempt     int    `json:"attempt"` // the declaration attempt being sent
	At          int64  `json:"at_us"`   // unix microseconds
	State       string `json:"state,omitempty"`
	Err         string `json:"error,omitempty"`
}

func openCallLog(path string, next baoguan.CustomsPort) (*callLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &callLog{next: next, pid: os.Getpid(), f: f}, nil
}

func (l *callLog) Close() error { return l.f.Close() }

func (l *callLog) Name() string { return l.next.Name() }

func (l *callLog) write(r CallRecord) {
	r.PID, r.At = l.pid, time.Now().UnixMicro()
	b, _ := json.Marshal(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		// An audit line that cannot be written must not stop declarations;
		// stderr at least tells the operator.
		fmt.Fprintln(os.Stderr, "baoguan: customs call log:", err)
	}
}

func (l *callLog) call(op string, r baoguan.DeclareRequest, fn func() (baoguan.Receipt, error)) (baoguan.Receipt, error) {
	rec := CallRecord{Op: op, Phase: "start", Declaration: r.Declaration.ID, Attempt: r.Declaration.Attempts}
	l.write(rec)
	res, err := fn()
	rec.Phase, rec.State = "end", string(res.State)
	if err != nil {
		rec.Err = err.Error()
	}
	l.write(rec)
	return res, err
}

func (l *callLog) Declare(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return l.call("declare", r, func() (baoguan.Receipt, error) { return l.next.Declare(ctx, r) })
}

func (l *callLog) Receipt(ctx context.Context, r baoguan.DeclareRequest) (baoguan.Receipt, error) {
	return l.call("receipt", r, func() (baoguan.Receipt, error) { return l.next.Receipt(ctx, r) })
}
