package oai

import (
	"strconv"
	"unicode/utf8"

	"github.com/tidwall/pretty"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string literal. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does; "<", ">" and "&" are left alone (as OpenAI
// does); U+2028 and U+2029 are escaped (valid JSON, but they break
// JavaScript consumers).
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendEscaped(dst, s)
	return append(dst, '"')
}

// AppendEscaped appends the escaped contents of s as a JSON string, without
// the quotes.
func AppendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// AppendInt appends a JSON integer.
func AppendInt(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }

// AppendKey appends a member name and its colon: `"name":`. name must not
// need escaping (the package's own keys never do).
func AppendKey(dst []byte, name string) []byte {
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// AppendCompact appends raw JSON to dst without insignificant whitespace.
func AppendCompact(dst []byte, raw string) []byte {
	n := len(dst)
	dst = append(dst, raw...)
	ugly := pretty.UglyInPlace(dst[n:])
	return dst[:n+len(ugly)]
}

// AppendStringOfJSON appends the JSON string literal whose value is raw
// compacted: what JavaScript's JSON.stringify(value) gives for the value
// raw encodes. It is how an object of tool arguments becomes OpenAI's
// "arguments" string. An empty raw becomes "{}".
func AppendStringOfJSON(dst []byte, raw string) []byte {
	if raw == "" {
		return append(dst, `"{}"`...)
	}
	var buf [256]byte
	compact := AppendCompact(buf[:0], raw)
	return AppendString(dst, string(compact))
}
