package main

import (
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// StreamEvent converts one ConverseStream event. The host's aws-eventstream
// framing names it by its :event-type (messageStart, contentBlockStart,
// contentBlockDelta, contentBlockStop, messageStop, metadata), or
// "exception:<type>" / "error:<code>" for an in-stream error; the data is
// the event's JSON payload.
func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	name := oai.View(ev.Name)
	if i := strings.IndexByte(name, ':'); i >= 0 {
		if kind := name[:i]; kind == "exception" || kind == "error" {
			return streamError(kind, name[i+1:], ev.Data)
		}
		return nil // a message type AWS may add later
	}
	switch name {
	case "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata":
	default:
		return nil // an event this plugin does not know, or a new one
	}
	// A text delta, the common event, is not validated as a whole: only the
	// string literals copied into chunks are (see literal).
	if name != "contentBlockDelta" && !gjson.ValidBytes(ev.Data) {
		return &abi.Error{Status: 502, Type: "upstream_error", Message: "bedrock sent a " + name + " event that is not JSON", Retryable: true}
	}
	data := oai.Parse((ev.Data))
	st := parseState(out.State)
	s := oai.Stream{ID: st.id, Model: st.model, Created: st.created}
	old := st
	if name != "metadata" && st.flags&flagStarted == 0 {
		out.Chunks = append(out.Chunks, s.AppendRole(chunkBuf(&st, 0)))
		st.flags |= flagStarted
	}
	switch name {
	case "contentBlockDelta":
		// The common event: one delta member, read without closures so
		// that nothing escapes to the heap.
		if v := data.Get("delta.text"); v.Exists() {
			if literal(v) {
				out.Chunks = append(out.Chunks, s.AppendContent(chunkBuf(&st, len(v.Raw)), v.Raw))
			}
		} else if v := data.Get("delta.toolUse.input"); v.Exists() {
			if literal(v) && st.toolBlock > 0 {
				out.Chunks = append(out.Chunks, s.AppendToolCallArgs(chunkBuf(&st, len(v.Raw)), int(st.tools-1), v.Raw))
				st.flags |= flagToolArgs
			}
		} else if v := data.Get("delta.reasoningContent.text"); literal(v) {
			out.Chunks = append(out.Chunks, s.AppendReasoning(chunkBuf(&st, len(v.Raw)), v.Raw))
		}
	case "contentBlockStart":
		tu := data.Get("start.toolUse")
		if !tu.IsObject() {
			break
		}
		closeTool(&st, &s, out)
		st.toolBlock = data.Get("contentBlockIndex").Int() + 1
		st.flags &^= flagToolArgs
		id, name := tu.Get("toolUseId").String(), tu.Get("name").String()
		out.Chunks = append(out.Chunks, s.AppendToolCallStart(chunkBuf(&st, len(id)+len(name)), int(st.tools), id, name))
		st.tools++
	case "contentBlockStop":
		if st.toolBlock > 0 && data.Get("contentBlockIndex").Int()+1 == st.toolBlock {
			closeTool(&st, &s, out)
		}
	case "messageStop":
		finish(&st, &s, out, data.Get("stopReason").String())
	case "metadata":
		// The last event: usage (and metrics). A stream without
		// messageStop still gets its finish chunk.
		if st.flags&flagFinished == 0 {
			if st.flags&flagStarted == 0 {
				out.Chunks = append(out.Chunks, s.AppendRole(chunkBuf(&st, 0)))
				st.flags |= flagStarted
			}
			finish(&st, &s, out, "")
		}
		if u := data.Get("usage"); u.IsObject() {
			out.Usage = parseUsage(u)
			if st.flags&flagWantUsage != 0 {
				out.Chunks = append(out.Chunks, s.AppendUsage(chunkBuf(&st, 160), out.Usage))
			}
		}
		out.Flags |= abi.StreamDone
	}
	if st != old {
		out.State = st.encode()
	}
	return nil
}

// literal reports whether v is a non-empty string whose raw JSON literal
// is valid, so it can be copied into a chunk as it is: quoted, without
// control characters, with valid escapes only.
func literal(v gjson.Result) bool {
	return v.Type == gjson.String && len(v.Raw) > 2 && oai.ValidLiteral(v.Raw)
}

// chunkBuf returns a buffer with room for a chunk whose variable part is
// extra bytes long, so that writing it allocates once.
func chunkBuf(st *state, extra int) []byte {
	return make([]byte, 0, 160+len(st.id)+len(st.model)+extra)
}

// closeTool ends the open toolUse block: one that sent no argument
// fragment gets "{}", so that the call's arguments are valid JSON.
func closeTool(st *state, s *oai.Stream, out *abi.StreamOut) {
	if st.toolBlock == 0 {
		return
	}
	if st.flags&flagToolArgs == 0 {
		out.Chunks = append(out.Chunks, s.AppendToolCallArgs(chunkBuf(st, 4), int(st.tools-1), `"{}"`))
	}
	st.toolBlock = 0
	st.flags &^= flagToolArgs
}

// finish appends the finish chunk (once).
func finish(st *state, s *oai.Stream, out *abi.StreamOut, stop string) {
	closeTool(st, s, out)
	if st.flags&flagFinished != 0 {
		return
	}
	out.Chunks = append(out.Chunks, s.AppendFinish(chunkBuf(st, 16), finishReason(stop, st.tools > 0)))
	st.flags |= flagFinished
}

// streamError is the error of an exception or error message: kind is
// "exception" or "error", typ its :exception-type or :error-code, data its
// payload ({"message":…}) or, for an error message without one, its
// :error-message.
func streamError(kind, typ string, data []byte) error {
	msg := ""
	if gjson.ValidBytes(data) {
		d := gjson.ParseBytes(data)
		msg = d.Get("message").String()
		if msg == "" {
			msg = d.Get("Message").String()
		}
	} else if kind == "error" {
		msg = string(data)
	}
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	switch {
	case typ != "" && msg != "":
		msg = "bedrock " + typ + ": " + msg
	case typ != "":
		msg = "bedrock " + typ
	}
	if kind != "exception" {
		return oai.StreamError("upstream_error", msg, false)
	}
	switch strings.ToLower(typ) {
	case "throttlingexception":
		return oai.StreamError("rate_limit_error", msg, true)
	case "serviceunavailableexception":
		return oai.StreamError("upstream_overloaded", msg, true)
	case "internalserverexception", "modelstreamerrorexception":
		return oai.StreamError("upstream_error", msg, true)
	case "validationexception":
		return oai.StreamError("invalid_request_error", msg, false)
	}
	return oai.StreamError("upstream_error", msg, false)
}
