package emulator

import (
	"net/http"
	"sync"
)

// RecordedRequest is one request as the emulator received it.
type RecordedRequest struct {
	Method string
	// Path is the URL path, e.g. /v1/chat/completions, decoded.
	Path string
	// RawPath is the path as sent, still escaped: it tells
	// /model/a%3A0/converse from /model/a:0/converse.
	RawPath string
	// Query is the raw query string, without '?'.
	Query string
	// Header holds every request header, Authorization included, so a test
	// can assert which key the hub injected.
	Header http.Header
	// Body is the request body as received.
	Body []byte
}

// recorder is a fixed-size ring of the most recent requests. One mutex
// guards it: recording is a slot assignment, so contention stays short even
// at benchmark concurrency.
type recorder struct {
	mu   sync.Mutex
	ring []RecordedRequest
	next int  // slot the next request goes to
	full bool // the ring has wrapped
}

func newRecorder(limit int) *recorder {
	return &recorder{ring: make([]RecordedRequest, limit)}
}

// add stores rr, which the caller hands over: it must not be modified later.
func (r *recorder) add(rr RecordedRequest) {
	r.mu.Lock()
	r.ring[r.next] = rr
	r.next++
	if r.next == len(r.ring) {
		r.next = 0
		r.full = true
	}
	r.mu.Unlock()
}

// snapshot returns deep copies of the stored requests, oldest first.
func (r *recorder) snapshot() []RecordedRequest {
	r.mu.Lock()
	var held []RecordedRequest
	if r.full {
		held = make([]RecordedRequest, 0, len(r.ring))
		held = append(held, r.ring[r.next:]...)
		held = append(held, r.ring[:r.next]...)
	} else {
		held = append([]RecordedRequest(nil), r.ring[:r.next]...)
	}
	r.mu.Unlock()
	// Stored entries are never mutated, so copying outside the lock is safe.
	for i := range held {
		held[i].Header = held[i].Header.Clone()
		held[i].Body = append([]byte(nil), held[i].Body...)
	}
	return held
}

func (r *recorder) reset() {
	r.mu.Lock()
	clear(r.ring)
	r.next = 0
	r.full = false
	r.mu.Unlock()
}
