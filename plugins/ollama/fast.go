package main

import (
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"github.com/aignehub/hub/sdk/oai"
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
	lModel     = oai.NewLit(`{"model":`)
	lCreated   = oai.NewLit(`,"created_at":`)
	lMessage   = oai.NewLit(`,"message":{"role":"assistant",`)
	lContent   = oai.NewLit(`"content":`)
	lThinking  = oai.NewLit(`,"thinking":`)
	lDoneFalse = oai.NewLit(`},"done":false}`)
)

// scanLine reads data (trimmed, not empty) into l, which must be zero. It
// returns false, leaving l in any state, for a line readLine must read.
func scanLine(b []byte, l *line) bool {
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !lModel.At(b, p, 0) {
		return false
	}
	i := oai.PlainEnd(b, lModel.N)
	if !lCreated.At(b, p, i) {
		return false
	}
	l.model = unsafeString(b[lModel.N+1 : i-1])
	j := i + lCreated.N
	if i = oai.PlainEnd(b, j); !lMessage.At(b, p, i) {
		return false
	}
	l.createdAt = unsafeString(b[j+1 : i-1])
	if i += lMessage.N; !lContent.At(b, p, i) {
		return false
	}
	j = i + lContent.N
	if i = textEnd(b, j); i < 0 {
		return false
	}
	if i-j > 2 {
		l.content = unsafeString(b[j:i])
	}
	if lThinking.At(b, p, i) {
		j = i + lThinking.N
		if i = textEnd(b, j); i < 0 {
			return false
		}
		if i-j > 2 {
			l.thinking = unsafeString(b[j:i])
		}
	}
	return lDoneFalse.At(b, p, i) && i+lDoneFalse.N == len(b)
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
			m := (oai.Stops(oai.Word(p, i)) | oai.Word(p, i)) & oai.Highs
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
