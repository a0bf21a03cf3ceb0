package main

import (
	"bytes"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// A stream line is handled in two steps: reading it into a line, then
// writing the line's chunks. Reading has two implementations: scanLine
// (fast.go), for the lines a stream is made of (a text or thinking delta,
// in the fixed layout Ollama writes them in), and readLine, the general
// gjson reader, which takes every line scanLine declines. Both fill the
// same line and the writer is shared, so the two can only differ in what
// they read; fast_test.go holds them to the same result.

// line is what a stream line says, as far as the canonical stream cares.
type line struct {
	model, createdAt string
	// content and thinking are the message's texts as valid JSON string
	// literals, "" when absent or empty.
	content, thinking string
	toolCalls         gjson.Result // an array, or nothing
	done              bool
	reason            string // done_reason
	input, output     int64  // prompt_eval_count, eval_count
	errv              gjson.Result
}

// StreamEvent turns one NDJSON line of /api/chat into canonical chunks
// (MAPPING.md §7, "From OL NDJSON"): the role chunk on the first line,
// reasoning (message.thinking) and content deltas, one whole-call delta per
// tool call, and on the done:true line the finish chunk, usage (the usage
// chunk only when the client asked) and StreamDone. An {"error": …} line
// ends the stream with an error after the chunks already sent.
func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil
	}
	var l line
	if p.general || !scanLine(data, &l) {
		l = line{}
		if err := readLine(data, &l); err != nil {
			return err
		}
	}
	return p.emit(&l, out)
}

// readLine reads any line with gjson.
func readLine(data []byte, l *line) error {
	if data[0] != '{' {
		return oai.StreamError("upstream_error", "the provider sent a stream line that is not a JSON object", false)
	}
	var content, thinking gjson.Result
	gjson.Parse(unsafeString(data)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			l.model = v.String()
		case "created_at":
			l.createdAt = v.Str
		case "message":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "content":
					content = v
				case "thinking":
					thinking = v
				case "tool_calls":
					if v.IsArray() {
						l.toolCalls = v
					}
				}
				return true
			})
		case "done":
			l.done = v.Type == gjson.True
		case "done_reason":
			l.reason = v.String()
		case "prompt_eval_count":
			l.input = v.Int()
		case "eval_count":
			l.output = v.Int()
		case "error":
			l.errv = v
		}
		return true
	})
	if l.errv.Exists() {
		return oai.StreamError("upstream_error", errorMessage(l.errv), false)
	}
	// The text deltas are copied as the JSON string literals Ollama sent;
	// gjson is lenient, so check each one before it reaches a client.
	if !validText(content) || !validText(thinking) {
		return oai.StreamError("upstream_error", "the provider sent a stream line that is not valid JSON", false)
	}
	if thinking.Type == gjson.String && thinking.Raw != `""` {
		l.thinking = thinking.Raw
	}
	if content.Type == gjson.String && content.Raw != `""` {
		l.content = content.Raw
	}
	return nil
}

// emit writes the chunks of l, its usage and the new state into out.
func (p *plugin) emit(l *line, out *abi.StreamOut) error {
	st := readState(out.State)
	changed := false
	first := st.flags&stStarted == 0
	if first {
		st.flags |= stStarted
		if t, ok := parseTime(l.createdAt); ok {
			st.created = t
		}
		changed = true
	}
	s := oai.Stream{ID: st.id, Model: l.model, Created: st.created}
	sc := p.scratch.Take(out)
	buf, start := sc.Buf, len(sc.Buf)
	chunk := func() {
		out.Chunks = append(out.Chunks, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	if first {
		buf = s.AppendRole(buf)
		chunk()
	}
	if l.thinking != "" || l.content != "" {
		f := sc.FramesFor(&s)
		if l.thinking != "" {
			buf = f.Reasoning.Append(buf, l.thinking)
			chunk()
		}
		if l.content != "" {
			buf = f.Content.Append(buf, l.content)
			chunk()
		}
	}
	l.toolCalls.ForEach(func(_, tc gjson.Result) bool {
		id, name, args := toolCall(tc, st.requestID(), st.tools)
		buf = s.AppendToolCall(buf, st.tools, id, name, args)
		chunk()
		st.tools++
		changed = true
		return true
	})
	if l.done {
		buf = s.AppendFinish(buf, finishReason(l.reason, st.tools > 0))
		chunk()
		sc.Usage = abi.Usage{InputTokens: l.input, OutputTokens: l.output}
		if st.flags&stWantUsage != 0 {
			buf = s.AppendUsage(buf, &sc.Usage)
			chunk()
		}
		out.Usage = &sc.Usage
		out.Flags |= abi.StreamDone
	}
	sc.Buf = buf
	p.scratch.Put(sc)
	if changed {
		out.State = st.encode()
	}
	return nil
}

// validText reports whether a message text member is absent or a valid
// JSON string literal (checking a short literal costs far less than
// validating the whole line).
func validText(v gjson.Result) bool {
	return !v.Exists() || v.Type == gjson.Null || v.Type == gjson.String && gjson.Valid(v.Raw)
}
