package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// emptyArgs is the arguments fragment sent for a tool_use block that ended
// without any, so that the call's arguments are valid JSON.
const emptyArgs = `"{}"`

// StreamEvent turns one Anthropic SSE event into canonical chunks (§7 of
// the mapping, "From AN SSE").
func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	data := ev.Data
	name := oai.View(ev.Name)
	if name == "" { // data.type always equals the event name
		name = gjson.GetBytes(data, "type").String()
	}
	switch name {
	case "content_block_delta":
		if lit, ok := textDelta(data); ok {
			if len(lit) > 2 {
				st := parseState(out.State)
				out.Chunks = append(out.Chunks, st.chunk().AppendContent(st.buf(len(lit)), oai.View(lit)))
			}
			return nil
		}
		return contentDelta(data, out)
	case "message_start":
		messageStart(data, out)
	case "content_block_start":
		blockStart(data, out)
	case "content_block_stop":
		blockStop(data, out)
	case "message_delta":
		messageDelta(data, out)
	case "message_stop":
		st := parseState(out.State)
		if st.flags&flagFinished == 0 { // no message_delta came: still end the choice
			out.Chunks = append(out.Chunks, st.chunk().AppendFinish(st.buf(0), oai.FinishStop))
		}
		if st.flags&flagWantUsage != 0 {
			out.Chunks = append(out.Chunks, st.chunk().AppendUsage(st.buf(200), st.usage.canonical()))
		}
		out.Flags |= abi.StreamDone
	case "error":
		e := gjson.GetBytes(data, "error")
		typ := e.Get("type").String()
		return oai.StreamError(typ, e.Get("message").String(), streamErrorRetryable(typ))
	}
	return nil // ping and events this plugin does not know
}

// chunk returns the chunk writer of the stream.
func (s *streamState) chunk() *oai.Stream {
	return &oai.Stream{ID: s.id, Model: s.model, Created: s.created}
}

// buf returns a buffer for one chunk with room for extra bytes of payload.
func (s *streamState) buf(extra int) []byte {
	return make([]byte, 0, 144+len(s.id)+len(s.model)+extra)
}

func messageStart(data []byte, out *abi.StreamOut) {
	st := parseState(out.State)
	msg := gjson.GetBytes(data, "message")
	msg.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			st.id = v.String()
		case "model":
			st.model = v.String()
		case "usage":
			readUsage(v, &st.usage)
		}
		return true
	})
	out.State = st.encode()
	out.Chunks = append(out.Chunks, st.chunk().AppendRole(st.buf(0)))
	out.Usage = st.usage.canonical()
}

func contentDelta(data []byte, out *abi.StreamOut) error {
	delta := gjson.GetBytes(data, "delta")
	var typ, val gjson.Result
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "text", "thinking", "partial_json":
			val = v
		}
		return !typ.Exists() || !val.Exists()
	})
	if val.Type != gjson.String || val.Str == "" {
		return nil
	}
	raw := oai.Literal(val)
	switch typ.Str {
	case "text_delta":
		st := parseState(out.State)
		out.Chunks = append(out.Chunks, st.chunk().AppendContent(st.buf(len(raw)), raw))
	case "thinking_delta":
		st := parseState(out.State)
		out.Chunks = append(out.Chunks, st.chunk().AppendReasoning(st.buf(len(raw)), raw))
	case "input_json_delta":
		st := parseState(out.State)
		if st.toolBlock == 0 { // a fragment outside a tool_use block
			return nil
		}
		out.Chunks = append(out.Chunks, st.chunk().AppendToolCallArgs(st.buf(len(raw)), int(st.tools-1), raw))
		if st.flags&flagToolArgs == 0 {
			st.flags |= flagToolArgs
			out.State = st.encode()
		}
	}
	return nil // signature_delta, citations_delta, …
}

func blockStart(data []byte, out *abi.StreamOut) {
	var index int64
	var block gjson.Result
	oai.Parse((data)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			index = v.Int()
		case "content_block":
			block = v
		}
		return true
	})
	var typ, id, name, text gjson.Result
	block.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			typ = v
		case "id":
			id = v
		case "name":
			name = v
		case "text", "thinking":
			text = v
		}
		return true
	})
	st := parseState(out.State)
	switch typ.Str {
	case "tool_use":
		out.Chunks = append(out.Chunks, st.chunk().AppendToolCallStart(st.buf(len(id.Raw)+len(name.Raw)), int(st.tools), id.String(), name.String()))
		st.tools++
		st.toolBlock = index + 1
		st.flags &^= flagToolArgs
		out.State = st.encode()
	case "text": // usually "", but a start may carry text
		if text.Type == gjson.String && text.Str != "" {
			raw := oai.Literal(text)
			out.Chunks = append(out.Chunks, st.chunk().AppendContent(st.buf(len(raw)), raw))
		}
	case "thinking":
		if text.Type == gjson.String && text.Str != "" {
			raw := oai.Literal(text)
			out.Chunks = append(out.Chunks, st.chunk().AppendReasoning(st.buf(len(raw)), raw))
		}
	}
}

func blockStop(data []byte, out *abi.StreamOut) {
	st := parseState(out.State)
	if st.toolBlock == 0 || gjson.GetBytes(data, "index").Int()+1 != st.toolBlock {
		return
	}
	if st.flags&flagToolArgs == 0 {
		out.Chunks = append(out.Chunks, st.chunk().AppendToolCallArgs(st.buf(0), int(st.tools-1), emptyArgs))
	}
	st.toolBlock = 0
	st.flags &^= flagToolArgs
	out.State = st.encode()
}

func messageDelta(data []byte, out *abi.StreamOut) {
	st := parseState(out.State)
	var stop string
	oai.Parse((data)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "delta":
			stop = v.Get("stop_reason").String()
		case "usage": // cumulative; newer streams repeat the input counts
			readUsage(v, &st.usage)
		}
		return true
	})
	if st.flags&flagFinished == 0 {
		out.Chunks = append(out.Chunks, st.chunk().AppendFinish(st.buf(0), finishReason(stop)))
		st.flags |= flagFinished
	}
	out.State = st.encode()
	out.Usage = st.usage.canonical()
}
