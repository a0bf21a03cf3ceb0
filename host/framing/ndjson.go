package framing

import (
	"bytes"
	"io"
)

// NDJSON reads a newline-delimited JSON body, one event per non-blank line.
// Use [NewNDJSON]; it is not safe for concurrent use.
type NDJSON struct {
	src     source
	max     int
	scan    int // src.buf[src.r:src.r+scan] holds no LF
	bomDone bool
	err     error // sticky
}

// NewNDJSON returns a reader of the NDJSON stream r whose lines are at most
// max bytes, not counting the line end (DefaultMax when max <= 0; at most
// 1 GiB). Memory use stays below max+2 bytes of buffer, however long the
// stream or its lines.
//
// Lines are split on "\n" only; a "\r" before it is removed. Lines of only
// spaces, tabs and CRs are skipped. A last line without "\n" is returned
// like any other. A UTF-8 BOM at the start is skipped. The lines are not
// checked to be JSON.
func NewNDJSON(r io.Reader, max int) *NDJSON {
	p := &NDJSON{}
	p.reset(r, max)
	return p
}

// Reset discards all state and makes p read r with the limit max, reusing
// its buffer.
func (p *NDJSON) Reset(r io.Reader, max int) { p.reset(r, max) }

func (p *NDJSON) reset(r io.Reader, max int) {
	max = limit(max)
	// Room for the line, a "\r" and one byte more to see that it is too
	// long.
	p.src.reset(r, max+2)
	*p = NDJSON{src: p.src, max: max}
}

// Next returns the next non-blank line as Data. See [Reader].
func (p *NDJSON) Next() (Event, error) {
	if p.err != nil {
		return Event{}, p.err
	}
	s := &p.src
	if !p.bomDone {
		s.skipBOM(func() { s.fill() })
		p.bomDone = true
	}
	for {
		var line []byte
		if i := bytes.IndexByte(s.buf[s.r+p.scan:s.w], '\n'); i >= 0 {
			e := s.r + p.scan + i
			line = s.buf[s.r:e]
			s.r, p.scan = e+1, 0
		} else {
			p.scan = s.w - s.r
			switch {
			case p.scan > p.max+1:
				// Too long even if its last byte is a "\r".
				p.err = tooLarge(p.max)
				return Event{}, p.err
			case s.err == nil:
				s.fill()
				continue
			case s.err != io.EOF:
				p.err = readError(s.err)
				return Event{}, p.err
			case p.scan == 0:
				p.err = io.EOF
				return Event{}, p.err
			}
			// The last line, without "\n".
			line = s.buf[s.r:s.w]
			s.r, p.scan = s.w, 0
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > p.max {
			p.err = tooLarge(p.max)
			return Event{}, p.err
		}
		if !blank(line) {
			return Event{Data: line}, nil
		}
	}
}

// blank reports whether b holds only JSON whitespace other than LF.
func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}
