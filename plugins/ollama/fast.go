package main

import (
	"math/bits"
	"unicode/utf8"
	"unsafe"
)

// The stream's fast path. Nearly every line of an /api/chat stream is a
// text (or thinking) delta, which Ollama (Go's encoding/json) always
// writes in one layout:
//
//	{"model":"llama3.2","created_at":"2025-10-26T17:15:24.109172Z","message":{"role":"assistant","content":"jour"},"done":false}
//	{"model":"qwen3:8b","created_at":"…","message":{"role":"assistant","content":"","thinking":" × 17."},"done":false}
//
// scanLine matches that layout as a few fixed strings compared a word at a
// time, with holes for the values, which it scans a word at a time: in Go's
// Wasm every jump of a function is an indirect branch, so byte-at-a-time
// parsing (gjson's) costs several nanoseconds a byte. Any other line (tool
// calls, the done line, errors, another layout) is declined and read by
// readLine (gjson). scanLine accepts only what readLine reads the same way:
// valid JSON, a model and created_at without escapes (gjson would unescape
// them), and texts that are valid JSON string literals with valid UTF-8.

// The layout's fixed strings.
var (
	lModel     = mkLit(`{"model":`)
	lCreated   = mkLit(`,"created_at":`)
	lMessage   = mkLit(`,"message":{"role":"assistant",`)
	lContent   = mkLit(`"content":`)
	lThinking  = mkLit(`,"thinking":`)
	lDoneFalse = mkLit(`},"done":false}`)
)

// scanLine reads data (trimmed, not empty) into l, which must be zero. It
// returns false, leaving l in any state, for a line readLine must read.
func scanLine(b []byte, l *line) bool {
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !lModel.at(b, p, 0) {
		return false
	}
	i := plainEnd(b, lModel.n)
	if !lCreated.at(b, p, i) {
		return false
	}
	l.model = unsafeString(b[lModel.n+1 : i-1])
	j := i + lCreated.n
	if i = plainEnd(b, j); !lMessage.at(b, p, i) {
		return false
	}
	l.createdAt = unsafeString(b[j+1 : i-1])
	if i += lMessage.n; !lContent.at(b, p, i) {
		return false
	}
	j = i + lContent.n
	if i = textEnd(b, j); i < 0 {
		return false
	}
	if i-j > 2 {
		l.content = unsafeString(b[j:i])
	}
	if lThinking.at(b, p, i) {
		j = i + lThinking.n
		if i = textEnd(b, j); i < 0 {
			return false
		}
		if i-j > 2 {
			l.thinking = unsafeString(b[j:i])
		}
	}
	return lDoneFalse.at(b, p, i) && i+lDoneFalse.n == len(b)
}

// A lit is a fixed string of 8 to 32 bytes, as the four words that cover
// it (overlapping when it is shorter than 32 bytes), so that comparing it
// takes four loads and no call.
type lit struct {
	n              int
	o1, o2         int // the offsets of the middle words
	w0, w1, w2, w3 uint64
}

func mkLit(s string) lit {
	if len(s) < 8 || len(s) > 32 {
		panic("ollama: bad lit " + s)
	}
	l := lit{n: len(s), o1: min(8, len(s)-8), o2: min(16, len(s)-8)}
	p := unsafe.Pointer(unsafe.StringData(s))
	l.w0, l.w1, l.w2, l.w3 = word(p, 0), word(p, l.o1), word(p, l.o2), word(p, len(s)-8)
	return l
}

// at reports whether b, whose data p points to, has l at i (false for a
// negative i).
func (l *lit) at(b []byte, p unsafe.Pointer, i int) bool {
	return uint(i) <= uint(len(b)) && len(b)-i >= l.n && word(p, i) == l.w0 && word(p, i+l.o1) == l.w1 &&
		word(p, i+l.o2) == l.w2 && word(p, i+l.n-8) == l.w3
}

// word loads the eight bytes at p+i.
func word(p unsafe.Pointer, i int) uint64 { return *(*uint64)(unsafe.Add(p, i)) }

// SWAR (a word at a time) tests of eight bytes: the lowest byte they flag
// is the first byte that has the property (the ones above it may be
// flagged wrongly, by borrows).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stops flags '"', '\\' and control characters (under highs).
func stops(x uint64) uint64 {
	q := x ^ ones*'"'
	s := x ^ ones*'\\'
	return ((q - ones) &^ q) | ((s - ones) &^ s) | ((x - ones*0x20) &^ x)
}

// plainEnd returns the offset past the string at b[i] ('"'), which must
// have no escapes and no control characters (its contents are then what
// gjson's Str would be), or -1.
func plainEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	for i++; i+8 <= len(b); i += 8 {
		if m := stops(word(p, i)) & highs; m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			if b[i] != '"' {
				return -1
			}
			return i + 1
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' {
			return i + 1
		} else if c == '\\' || c < 0x20 {
			return -1
		}
	}
	return -1
}

// textEnd returns the offset past the string at b[i] ('"') if it is a
// valid JSON string literal with valid UTF-8, or -1.
func textEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	for i++; i < len(b); {
		if i+8 <= len(b) {
			m := (stops(word(p, i)) | word(p, i)) & highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		switch c := b[i]; {
		case strPlain[c]:
			i++
		case c == '"':
			return i + 1
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return -1
			}
			i += size
		case c == '\\' && validEscape(b, i):
			if b[i+1] == 'u' {
				i += 6
			} else {
				i += 2
			}
		default:
			return -1
		}
	}
	return -1
}

// validEscape reports whether b[i] ('\\') starts a valid JSON escape.
func validEscape(b []byte, i int) bool {
	if i+1 >= len(b) {
		return false
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		return i+6 <= len(b) && isHex(b[i+2]) && isHex(b[i+3]) && isHex(b[i+4]) && isHex(b[i+5])
	}
	return false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// strPlain marks the bytes that stand for themselves in a JSON string
// literal and need no check: ASCII but control characters, '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()
