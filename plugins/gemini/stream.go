package main

import (
	"bytes"
	"unicode/utf8"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// A stream event is handled in two steps: reading it into an event, then
// writing the event's chunks (emit). Reading has three implementations:
// scanLayout (fast.go) and scanGeneral (scan.go), fast readers for the
// events a stream is made of (text and thought parts, usage,
// finishReason), and readEvent, the general gjson reader, which takes
// every event they decline. All fill the same event and the writer is
// shared, so they can only differ in what they read; fast_test.go holds
// them to the same result.

// event is what a stream event says, as far as the canonical stream cares.
type event struct {
	id, model string // "" when the event has none
	// The first candidate's parts that make a chunk, in order: n of
	// them, in parts and then more.
	n        int
	parts    [4]part
	more     []part
	finish   string // the first candidate's finishReason, "BLOCKED" for a blocked prompt
	usage    abi.Usage
	hasUsage bool
	errObj   gjson.Result // an {"error": …} event (general reader only)
}

// A part is one chunk's worth of a candidate's content.
type part struct {
	kind byte   // partText, partThought or partCall
	lit  string // text: a valid JSON string literal, not ""
	name string // call: the function name
	args string // call: the args' JSON text
	sig  string // call: the thoughtSignature
}

const (
	partText byte = iota
	partThought
	partCall
)

func (e *event) add(p part) {
	if e.n < len(e.parts) {
		e.parts[e.n] = p
	} else {
		e.more = append(e.more, p)
	}
	e.n++
}

// part returns part i < e.n.
func (e *event) part(i int) *part {
	if i < len(e.parts) {
		return &e.parts[i]
	}
	return &e.more[i-len(e.parts)]
}

func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 {
		return nil
	}
	st, err := parseState(out.State)
	if err != nil {
		return err
	}
	if st.kind != kindChat {
		return errBadState
	}
	var e event
	if p.general || !scanEvent(data, &e) {
		e = event{}
		if err := readEvent(data, &e); err != nil {
			return err
		}
	}
	if e.errObj.Exists() {
		return streamError(e.errObj)
	}
	return p.emit(&st, &e, out)
}

// readEvent reads any event with gjson.
func readEvent(data []byte, e *event) error {
	root := parse(data)
	if !root.IsObject() {
		return oai.StreamError("upstream_error", "the provider sent a stream event that is not JSON", true)
	}
	var candidates, feedback, usage gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "candidates":
			candidates = v
		case "promptFeedback":
			feedback = v
		case "usageMetadata":
			usage = v
		case "modelVersion":
			e.model = v.Str
		case "responseId":
			e.id = v.Str
		case "error":
			e.errObj = v
		}
		return true
	})
	if e.errObj.Exists() {
		return nil
	}
	// The first candidate only: the canonical stream has one choice (n > 1
	// is refused). Gets skip what they do not need without parsing it.
	if bytes.Contains(str2b(candidates.Raw), finishKey) { // only on the last event
		e.finish = candidates.Get("0.finishReason").Str
	}
	if parts := candidates.Get("0.content.parts"); parts.IsArray() {
		parts.ForEach(func(_, pt gjson.Result) bool {
			var txt, fc, sig gjson.Result
			thought := false
			pt.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "text":
					txt = v
				case "thought":
					thought = v.Type == gjson.True
				case "functionCall":
					fc = v
				case "thoughtSignature":
					sig = v
				}
				return true
			})
			switch {
			case fc.IsObject():
				e.add(part{kind: partCall, name: fc.Get("name").Str, args: fc.Get("args").Raw, sig: sig.Str})
			case txt.Type == gjson.String && len(txt.Raw) > 2:
				raw := txt.Raw
				if !validString(raw) {
					// A malformed event (the host does not validate
					// them): re-encode what gjson read.
					raw = string(oai.AppendString(nil, txt.Str))
				}
				kind := partText
				if thought {
					kind = partThought
				}
				e.add(part{kind: kind, lit: raw})
			}
			return true
		})
	}
	if e.finish == "" && !candidates.Exists() && feedback.Get("blockReason").Exists() {
		e.finish = "BLOCKED" // the prompt was blocked: no candidates
	}
	if usage.IsObject() {
		e.usage, e.hasUsage = usageOf(usage), true
	}
	return nil
}

// emit writes the chunks of e, its usage and the new state into out.
func (p *plugin) emit(st *state, e *event, out *abi.StreamOut) error {
	id, model := e.id, e.model
	if id == "" {
		id = responseID(st.requestID)
	}
	if model == "" {
		model = st.model
	}
	s := oai.Stream{ID: id, Model: model, Created: st.created}
	flags, count := st.flags, st.count
	sc := p.scratch.Take(out)
	buf, start := sc.Buf, len(sc.Buf)
	chunk := func() {
		out.Chunks = append(out.Chunks, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	if flags&fStarted == 0 {
		buf = s.AppendRole(buf)
		chunk()
		flags |= fStarted
	}
	var f *oai.Frames
	if e.n > 0 {
		f = sc.FramesFor(&s)
	}
	for i := 0; i < e.n; i++ {
		switch pt := e.part(i); pt.kind {
		case partCall:
			k := int(count)
			buf = s.AppendToolCall(buf, k, oai.ToolCallID(st.requestID, k), pt.name, pt.args)
			if pt.sig != "" {
				buf = spliceSignature(buf, pt.sig)
			}
			chunk()
			count++
			flags |= fSawCall
		case partThought:
			buf = f.Reasoning.Append(buf, pt.lit)
			chunk()
		default:
			buf = f.Content.Append(buf, pt.lit)
			chunk()
		}
	}
	if e.hasUsage {
		sc.Usage = e.usage
		out.Usage = &sc.Usage
	}
	if e.finish != "" {
		reason := oai.FinishContentFilter
		if e.finish != "BLOCKED" {
			reason = finishReason(e.finish, flags&fSawCall != 0)
		}
		buf = s.AppendFinish(buf, reason)
		chunk()
		if flags&fUsage != 0 {
			u := out.Usage
			if u == nil {
				u = &abi.Usage{}
			}
			buf = s.AppendUsage(buf, u)
			chunk()
		}
		out.Flags |= abi.StreamDone
	}
	sc.Buf = buf
	p.scratch.Put(sc)
	if flags != st.flags || count != st.count {
		ns := make([]byte, len(out.State))
		copy(ns, out.State)
		ns[1] = flags
		ns[2], ns[3], ns[4], ns[5] = byte(count), byte(count>>8), byte(count>>16), byte(count>>24)
		out.State = ns
	}
	return nil
}

var finishKey = []byte(`"finishReason"`)

// toolCallTail is what follows a tool call's closing brace in a chunk
// written by oai.Stream.AppendToolCall.
const toolCallTail = `]},"finish_reason":null}]}`

// spliceSignature adds extra_content.google.thought_signature to the tool
// call of the chunk at the end of buf (see withSignatures).
func spliceSignature(buf []byte, sig string) []byte {
	at := len(buf) - len(toolCallTail) - 1
	if at < 0 || string(buf[at:]) != "}"+toolCallTail {
		return buf
	}
	tail := len(toolCallTail) + 1
	var tmp [len(toolCallTail) + 1]byte
	copy(tmp[:], buf[at:])
	buf = appendSignature(buf[:at], sig)
	return append(buf, tmp[:tail]...)
}

// validString reports whether raw is a well-formed JSON string literal
// (quotes, escapes, no control characters, valid UTF-8), so that it can be
// copied into a chunk as it is.
func validString(raw string) bool {
	n := len(raw) - 1
	if n < 1 || raw[0] != '"' || raw[n] != '"' {
		return false
	}
	for i := 1; i < n; i++ {
		switch c := raw[i]; {
		case c < 0x20 || c == '"':
			return false
		case c == '\\':
			i++
			if i >= n {
				return false
			}
			switch raw[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= n {
					return false
				}
				for _, h := range []byte(raw[i+1 : i+5]) {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(raw[i:n])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size - 1
		}
	}
	return true
}
