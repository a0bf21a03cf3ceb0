package main

import (
	"bytes"

	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// The text-delta fast path. Nearly every event of a stream is a
// content_block_delta carrying a text_delta, in Anthropic's fixed layout:
//
//	{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}
//
// (live streams may pad with spaces before a closing brace). textDelta
// recognizes exactly that layout with a few byte comparisons and returns
// the text's JSON string literal, checked to be valid JSON; any other
// layout returns ok false and takes the general gjson path.

var (
	textDeltaHead = []byte(`{"type":"content_block_delta","index":`)
	textDeltaKey  = []byte(`,"delta":{"type":"text_delta","text":"`)
)

func textDelta(data []byte) (lit []byte, ok bool) {
	if !bytes.HasPrefix(data, textDeltaHead) {
		return nil, false
	}
	i := len(textDeltaHead)
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	if i == len(textDeltaHead) || !bytes.HasPrefix(data[i:], textDeltaKey) {
		return nil, false
	}
	start := i + len(textDeltaKey) - 1 // the opening quote
	end := literalEnd(str(data), start+1)
	if end < 0 {
		return nil, false
	}
	rest := data[end:]
	for n := 0; n < 2; n++ { // "}" "}" with optional spaces
		rest = bytes.TrimLeft(rest, " \t\r\n")
		if len(rest) == 0 || rest[0] != '}' {
			return nil, false
		}
		rest = rest[1:]
	}
	if len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, false
	}
	return data[start:end], true
}

// literalEnd returns the offset just past the closing quote of the JSON
// string whose contents start at data[i], or -1 when the literal is not
// valid JSON (a control character, a bad escape, no closing quote).
func literalEnd(data string, i int) int {
	for i < len(data) {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c == '\\':
			if i+1 >= len(data) {
				return -1
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
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

// literal returns v's JSON string literal as valid JSON: gjson's raw text
// when it is valid (always, from a sane upstream), else v's value encoded
// anew.
func literal(v gjson.Result) string {
	if raw := v.Raw; len(raw) >= 2 && raw[0] == '"' && literalEnd(raw, 1) == len(raw) {
		return raw
	}
	return string(oai.AppendString(nil, v.Str))
}
