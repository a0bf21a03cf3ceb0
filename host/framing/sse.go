package framing

import (
	"bytes"
	"io"
	"time"
)

// lineSlack is how much longer than the event limit a line may be: room for
// a field name, its colon and a space. A "data", "event", "id" or "retry"
// line longer than limit+lineSlack fails with ErrEventTooLarge without being
// buffered whole (its value would exceed the limit anyway); any other line
// that long is skipped as it streams by.
const lineSlack = 16

// maxRetryMillis caps a "retry" value so the Duration cannot overflow.
const maxRetryMillis = 1 << 40

// SSE reads a text/event-stream body. Use [NewSSE]; it is not safe for
// concurrent use.
type SSE struct {
	src     source
	max     int // limit on Data, Name and ID
	lineMax int // limit on one line, without its end

	data  []byte // the data buffer: each data line's value plus "\n"
	name  []byte // the event type buffer
	id    []byte // the last event ID buffer
	retry time.Duration

	// Line scanning state. Indexes lf and lfEnd are absolute in src.buf
	// and move with it when fill compacts it.
	scan    int  // src.buf[src.r:src.r+scan] holds no CR or LF
	lf      int  // if lf >= src.r+scan: the first LF at or after src.r
	lfEnd   int  // otherwise: no LF in src.buf[src.r+scan:lfEnd]
	skipLF  bool // the last line ended in a CR: drop an LF that follows
	discard bool // skipping the rest of an over-long ignorable line
	pending bool // a field line was read since the last blank line
	bomDone bool
	err     error // sticky
}

// NewSSE returns a reader of the SSE stream r whose events' data, name and
// id are each at most max bytes (DefaultMax when max <= 0; at most 1 GiB).
// Memory use stays within a small multiple of max (the input buffer holds
// at most one line of max+17 bytes), however long the stream or its lines.
func NewSSE(r io.Reader, max int) *SSE {
	p := &SSE{}
	p.reset(r, max)
	return p
}

// Reset discards all state and makes p read r with the limit max, reusing
// its buffers.
func (p *SSE) Reset(r io.Reader, max int) { p.reset(r, max) }

func (p *SSE) reset(r io.Reader, max int) {
	max = limit(max)
	p.src.reset(r, max+lineSlack+1)
	*p = SSE{
		src:     p.src,
		max:     max,
		lineMax: max + lineSlack,
		data:    p.data[:0],
		name:    p.name[:0],
		id:      p.id[:0],
		lf:      -1,
	}
}

// Next returns the next event that has data. See [Reader].
func (p *SSE) Next() (Event, error) {
	if p.err != nil {
		return Event{}, p.err
	}
	if !p.bomDone {
		p.src.skipBOM(p.fill)
		p.bomDone = true
	}
	for {
		line, err := p.line()
		if err != nil {
			p.err = err
			return Event{}, err
		}
		if len(line) == 0 {
			// Dispatch. An event without data is dropped, resetting its
			// name as the standard says.
			p.pending = false
			if len(p.data) == 0 {
				p.name = p.name[:0]
				continue
			}
			ev := Event{Data: p.data[:len(p.data)-1], Retry: p.retry}
			if len(p.name) > 0 {
				ev.Name = p.name
			}
			if len(p.id) > 0 {
				ev.ID = p.id
			}
			p.data, p.name = p.data[:0], p.name[:0]
			return ev, nil
		}
		if err := p.field(line); err != nil {
			p.err = err
			return Event{}, err
		}
	}
}

// field processes one non-blank line.
func (p *SSE) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	p.pending = true
	name, value := line, line[len(line):]
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		// The data if dispatched now: the buffer (values and "\n"s) plus
		// value, its final "\n" removed.
		if len(p.data)+len(value) > p.max {
			return tooLarge(p.max)
		}
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
	case "event":
		if len(value) > p.max {
			return tooLarge(p.max)
		}
		p.name = append(p.name[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) >= 0 {
			return nil
		}
		if len(value) > p.max {
			return tooLarge(p.max)
		}
		p.id = append(p.id[:0], value...)
	case "retry":
		if ms, ok := parseRetry(value); ok {
			p.retry = time.Duration(ms) * time.Millisecond
		}
	}
	return nil
}

// parseRetry parses a "retry" value: ASCII digits only, else it is ignored.
func parseRetry(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int64(c-'0'), maxRetryMillis)
	}
	return n, true
}

// longLine decides about a line longer than lineMax, given all of it or
// just its first bytes (more than lineMax of them, so a known field's name
// and colon are among them): a known field is an error, anything else is
// ignored.
func (p *SSE) longLine(prefix []byte) error {
	if prefix[0] == ':' {
		return nil // comment
	}
	p.pending = true
	name := prefix
	if i := bytes.IndexByte(prefix, ':'); i >= 0 {
		name = prefix[:i]
	}
	switch string(name) {
	case "data", "event", "id", "retry":
		return tooLarge(p.max)
	}
	return nil
}

// line returns the next whole line without its end, aliasing src.buf until
// the next fill. An empty line is a blank line. At the end of the stream it
// returns io.EOF, ErrTruncated or the wrapped read error.
func (p *SSE) line() ([]byte, error) {
	s := &p.src
	for {
		if p.skipLF && s.r < s.w {
			if s.buf[s.r] == '\n' {
				s.r++
			}
			p.skipLF = false
		}
		if e := p.eol(); e >= 0 {
			line := s.buf[s.r:e]
			if s.buf[e] == '\r' {
				if e+1 == s.w {
					p.skipLF = true
				} else if s.buf[e+1] == '\n' {
					e++
				}
			}
			s.r, p.scan = e+1, 0
			switch {
			case p.discard:
				p.discard = false // the end of a skipped line
			case len(line) > p.lineMax:
				if err := p.longLine(line); err != nil {
					return nil, err
				}
			default:
				return line, nil
			}
			continue
		}
		// No line end buffered: s.buf[s.r:s.w] is a partial line.
		if p.discard || p.scan > p.lineMax {
			if !p.discard {
				if err := p.longLine(s.buf[s.r:s.w]); err != nil {
					return nil, err
				}
				p.discard = true
			}
			s.r, p.scan = s.w, 0
		}
		if s.err != nil {
			if s.err != io.EOF {
				return nil, readError(s.err)
			}
			if p.scan > 0 || p.discard || p.pending {
				return nil, ErrTruncated
			}
			return nil, io.EOF
		}
		p.fill()
	}
}

// eol returns the absolute index in src.buf of the end of the line starting
// at src.r (its CR or LF), or -1 if no line end is buffered yet. Thanks to
// scan, lf and lfEnd, each byte is searched for an LF once and for a CR at
// most once per line it belongs to, even for CR-only streams.
func (p *SSE) eol() int {
	s := &p.src
	start := s.r + p.scan
	if p.lf < start {
		from := max(start, p.lfEnd)
		if i := bytes.IndexByte(s.buf[from:s.w], '\n'); i >= 0 {
			p.lf = from + i
		} else {
			p.lf, p.lfEnd = -1, s.w
		}
	}
	end := s.w
	if p.lf >= 0 {
		end = p.lf
	}
	if i := bytes.IndexByte(s.buf[start:end], '\r'); i >= 0 {
		return start + i
	}
	if p.lf >= 0 {
		return p.lf
	}
	p.scan = s.w - s.r
	return -1
}

// fill reads more input, keeping the absolute indexes right.
func (p *SSE) fill() {
	shift := p.src.fill()
	p.lf -= shift
	p.lfEnd -= shift
}
