package server

import (
	"net/http"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/surface/aigne"
)

// The plumbing the surfaces' sinks share: a whole answer written in one
// go, and a stream whose status line goes with its first bytes.

// sseContentType is the Content-Type of every SSE answer.
const sseContentType = "text/event-stream; charset=utf-8"

// writeBody answers 200 with body as contentType.
func writeBody(w http.ResponseWriter, contentType string, body []byte) error {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}

// writeAIGNE answers with out, the AIGNE rendering of a whole answer, or
// with a 500 in AIGNE's shape when rendering failed (err).
func writeAIGNE(w http.ResponseWriter, out []byte, err error) error {
	if err != nil {
		aigne.WriteError(w, apierr.Internal(err))
		return nil
	}
	return writeBody(w, "application/json; charset=utf-8", out)
}

// eventStream is what a streaming sink writes through: the response, its
// controller, a buffer reused for every write, and whether the stream's
// status line has been sent.
type eventStream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     []byte
	started bool
}

func newEventStream(w http.ResponseWriter) eventStream {
	return eventStream{w: w, rc: http.NewResponseController(w)}
}

// begin sends the status line and headers of a stream of contentType, once.
func (s *eventStream) begin(contentType string) {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

func (s *eventStream) Flush() error { return s.rc.Flush() }

// send writes buf, unless it is empty.
func (s *eventStream) send() error {
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	return err
}

// sendFlush writes buf and, when that worked, flushes: the end of a
// stream, or an error event.
func (s *eventStream) sendFlush() error {
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

// chunkEncoder turns canonical stream chunks into a surface's events
// (anthropic.StreamEncoder, aigne.StreamEncoder, aigne.LegacyStreamEncoder).
type chunkEncoder interface {
	Chunk(dst, chunk []byte) []byte
	Done(dst []byte) []byte
}

// chunk writes what enc makes of a canonical chunk.
func (s *eventStream) chunk(enc chunkEncoder, chunk []byte) error {
	s.buf = enc.Chunk(s.buf[:0], chunk)
	return s.send()
}

// done writes enc's end of the stream and flushes.
func (s *eventStream) done(enc chunkEncoder) error {
	s.buf = enc.Done(s.buf[:0])
	return s.sendFlush()
}
