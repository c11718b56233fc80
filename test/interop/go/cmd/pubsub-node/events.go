package main

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// eventWriter prints one JSON object per line, each stamped with "at": the wall clock in Unix milliseconds, which
// the Node.js test reads with Date.now() to compute times across processes
type eventWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newEventWriter(w io.Writer) *eventWriter {
	return &eventWriter{enc: json.NewEncoder(w)}
}

func (e *eventWriter) emit(event map[string]any) {
	event["at"] = time.Now().UnixMilli()
	e.mu.Lock()
	defer e.mu.Unlock()
	// stdout is a pipe to the test; if it is gone there is nobody left to tell
	_ = e.enc.Encode(event)
}
