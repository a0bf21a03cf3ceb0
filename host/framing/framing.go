package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Event is one whole event of a stream.
//
// Its slices alias the reader's internal buffers: they are valid until the
// next call of Next or Reset on the reader that returned them. Copy them to
// keep them longer.
type Event struct {
	// Name is the SSE "event" field; empty if the event had none. Always
	// empty for NDJSON.
	Name []byte
	// Data is, for SSE, the event's "data" lines joined with "\n" (one
	// leading space after the colon removed); for NDJSON, the line without
	// its "\n" or "\r\n".
	Data []byte
	// ID is the SSE stream's last event ID as of this event (the standard's
	// "last event ID buffer"): the value of the latest "id" field without a
	// NUL byte, which persists across events. Always empty for NDJSON.
	ID []byte
	// Retry is the SSE stream's reconnection time as last set by a "retry"
	// field, which persists across events; zero if none was seen (or it was
	// "retry: 0"). Always zero for NDJSON.
	Retry time.Duration
}

// Reader yields the whole events of one stream.
type Reader interface {
	// Next returns the next event. Its slices are valid only until the
	// next call. At a clean end of the stream it returns io.EOF; every
	// error is sticky (later calls return it again).
	Next() (Event, error)
}

var (
	_ Reader = (*SSE)(nil)
	_ Reader = (*NDJSON)(nil)
	_ Reader = (*EventStream)(nil)
)

// DefaultMax is the event size limit used when a constructor is given a
// limit of zero or less.
const DefaultMax = 8 << 20

// maxLimit caps the size limit so that the limit plus the line overhead
// cannot overflow an int.
const maxLimit = 1 << 30

var (
	// ErrEventTooLarge reports an event (or an NDJSON line) larger than the
	// reader's limit. The returned error wraps it and states the limit.
	ErrEventTooLarge = errors.New("framing: event too large")

	// ErrTruncated reports an SSE stream that ended inside an event: after
	// one of its field lines ("data", "event", "id", …; comments do not
	// count) but before the blank line that ends it, or in the middle of a
	// line. The partial event is discarded, as the SSE standard says. A
	// stream that ends right after a blank line or a comment line ends
	// cleanly, with io.EOF. It wraps io.ErrUnexpectedEOF, so
	// errors.Is(err, io.ErrUnexpectedEOF) also holds when the transport
	// itself reported a cut body.
	ErrTruncated = fmt.Errorf("framing: stream ended inside an event: %w", io.ErrUnexpectedEOF)
)

// New returns the reader for framing, "sse", "ndjson" or "aws-eventstream"
// (the values of a plugin manifest's stream_framing), reading r, with events
// limited to max bytes (DefaultMax when max <= 0).
func New(framing string, r io.Reader, max int) (Reader, error) {
	switch framing {
	case "sse":
		return NewSSE(r, max), nil
	case "ndjson":
		return NewNDJSON(r, max), nil
	case "aws-eventstream":
		return NewEventStream(r, max), nil
	}
	return nil, fmt.Errorf("framing: unknown stream framing %q (want \"sse\", \"ndjson\" or \"aws-eventstream\")", framing)
}

// limit normalizes a caller's size limit.
func limit(max int) int {
	if max <= 0 {
		return DefaultMax
	}
	return min(max, maxLimit)
}

func tooLarge(max int) error {
	return fmt.Errorf("%w (limit %d bytes)", ErrEventTooLarge, max)
}

func readError(err error) error {
	return fmt.Errorf("framing: read: %w", err)
}

// bom is the UTF-8 byte order mark, skipped at the start of a stream.
var bom = []byte("\xEF\xBB\xBF")

const (
	// initialBuf is the input buffer's first size (it grows as long lines
	// need, up to the reader's limit).
	initialBuf = 4096
	// maxEmptyReads is how many (0, nil) reads in a row are tolerated before
	// giving up with io.ErrNoProgress, as bufio does.
	maxEmptyReads = 100
)

var errBadRead = errors.New("framing: reader returned an invalid count")

// source is a minimal bufio.Reader: the unread bytes are buf[r:w].
type source struct {
	rd   io.Reader
	buf  []byte
	r, w int
	err  error // sticky error of rd, io.EOF included
	max  int   // the most len(buf) may grow to
}

func (s *source) reset(rd io.Reader, max int) {
	*s = source{rd: rd, buf: s.buf[:cap(s.buf)], max: max}
	if len(s.buf) > max {
		s.buf = nil
	}
}

// fill moves the unread bytes to the front of buf, grows buf if it is full,
// and reads once. It returns how far the unread bytes moved, so callers can
// adjust indexes into buf. The caller guarantees that w-r < max.
func (s *source) fill() (shift int) {
	if s.r > 0 {
		copy(s.buf, s.buf[s.r:s.w])
		shift = s.r
		s.w -= s.r
		s.r = 0
	}
	if s.w == len(s.buf) {
		n := min(max(2*len(s.buf), initialBuf), s.max)
		if n <= s.w {
			// Unreachable when callers keep their promise; fail rather
			// than spin.
			s.err = errBadRead
			return shift
		}
		buf := make([]byte, n)
		copy(buf, s.buf[:s.w])
		s.buf = buf
	}
	for range maxEmptyReads {
		n, err := s.rd.Read(s.buf[s.w:])
		if n < 0 || n > len(s.buf)-s.w {
			s.err = errBadRead
			return shift
		}
		s.w += n
		if err != nil {
			s.err = err
			return shift
		}
		if n > 0 {
			return shift
		}
	}
	s.err = io.ErrNoProgress
	return shift
}

// skipBOM drops a UTF-8 BOM at the start of the stream. fill is the
// reader's own fill, which keeps its indexes right.
func (s *source) skipBOM(fill func()) {
	for s.w-s.r < len(bom) && s.err == nil && bytes.HasPrefix(bom, s.buf[s.r:s.w]) {
		fill()
	}
	if bytes.HasPrefix(s.buf[s.r:s.w], bom) {
		s.r += len(bom)
	}
}
