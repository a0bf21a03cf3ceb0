package main

import (
	"bytes"

	"github.com/aignehub/hub/sdk/oai"
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
	end := oai.LiteralEnd(oai.View(data), start+1)
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
