package oai

import (
	"unsafe"

	"github.com/tidwall/gjson"
)

// View returns b as a string without copying it. The string is valid only
// while b is neither modified nor reused: inside one export call, over the
// input the host wrote (which a plugin must not keep anyway). It spares
// Wasm plugins the copy gjson.ParseBytes makes of every body and event.
func View(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// Parse is gjson.ParseBytes without the copy; see View for how long the
// result's strings stay valid.
func Parse(b []byte) gjson.Result { return gjson.Parse(View(b)) }

// LiteralEnd returns the offset just past the closing quote of the JSON
// string literal whose contents start at s[i] (just after its opening
// quote), or -1 when the literal is not valid JSON: a raw control
// character, a bad escape, or no closing quote.
func LiteralEnd(s string, i int) int {
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i+1 >= len(s) {
				return -1
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default:
			i++
		}
	}
	return -1
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// ValidLiteral reports whether raw is exactly one valid JSON string literal.
// gjson does not validate what it skips, so a plugin that copies a string's
// raw text into its output (the fast way) checks it with this first.
func ValidLiteral(raw string) bool {
	return len(raw) >= 2 && raw[0] == '"' && LiteralEnd(raw, 1) == len(raw)
}

// Literal returns v's JSON string literal, valid JSON whatever the input:
// gjson's raw text when it is valid (always, from a sane upstream), else
// v's value encoded anew.
func Literal(v gjson.Result) string {
	if ValidLiteral(v.Raw) {
		return v.Raw
	}
	return string(AppendString(nil, v.Str))
}
