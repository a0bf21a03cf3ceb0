package main

import (
	"bytes"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

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
	if data[0] != '{' {
		return oai.StreamError("upstream_error", "the provider sent a stream line that is not a JSON object", false)
	}
	var model, createdAt, reason string
	var content, thinking, toolCalls, errv gjson.Result
	var done bool
	var input, output int64
	gjson.Parse(unsafeString(data)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			model = v.String()
		case "created_at":
			createdAt = v.Str
		case "message":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "content":
					content = v
				case "thinking":
					thinking = v
				case "tool_calls":
					if v.IsArray() {
						toolCalls = v
					}
				}
				return true
			})
		case "done":
			done = v.Type == gjson.True
		case "done_reason":
			reason = v.String()
		case "prompt_eval_count":
			input = v.Int()
		case "eval_count":
			output = v.Int()
		case "error":
			errv = v
		}
		return true
	})
	if errv.Exists() {
		return oai.StreamError("upstream_error", errorMessage(errv), false)
	}
	// The text deltas are copied as the JSON string literals Ollama sent;
	// gjson is lenient, so check each one before it reaches a client.
	if !validText(content) || !validText(thinking) {
		return oai.StreamError("upstream_error", "the provider sent a stream line that is not valid JSON", false)
	}

	st := readState(out.State)
	changed := false
	first := st.flags&stStarted == 0
	if first {
		st.flags |= stStarted
		if t, ok := parseTime(createdAt); ok {
			st.created = t
		}
		changed = true
	}
	s := oai.Stream{ID: st.id, Model: model, Created: st.created}
	buf := make([]byte, 0, 160+2*(len(s.ID)+len(model))+len(data))
	emit := func(start int) {
		out.Chunks = append(out.Chunks, buf[start:len(buf):len(buf)])
	}
	if first {
		buf = s.AppendRole(buf)
		emit(0)
	}
	if thinking.Type == gjson.String && thinking.Raw != `""` {
		n := len(buf)
		buf = s.AppendReasoning(buf, thinking.Raw)
		emit(n)
	}
	if content.Type == gjson.String && content.Raw != `""` {
		n := len(buf)
		buf = s.AppendContent(buf, content.Raw)
		emit(n)
	}
	toolCalls.ForEach(func(_, tc gjson.Result) bool {
		id, name, args := toolCall(tc, st.requestID(), st.tools)
		n := len(buf)
		buf = s.AppendToolCall(buf, st.tools, id, name, args)
		emit(n)
		st.tools++
		changed = true
		return true
	})
	if done {
		n := len(buf)
		buf = s.AppendFinish(buf, finishReason(reason, st.tools > 0))
		emit(n)
		u := &abi.Usage{InputTokens: input, OutputTokens: output}
		if st.flags&stWantUsage != 0 {
			n = len(buf)
			buf = s.AppendUsage(buf, u)
			emit(n)
		}
		out.Usage = u
		out.Flags |= abi.StreamDone
	}
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
