package main

import (
	"bytes"
	"strings"
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
	sc := p.takeScratch(out)
	buf, start := sc.buf, len(sc.buf)
	chunk := func() {
		out.Chunks = append(out.Chunks, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	if flags&fStarted == 0 {
		buf = s.AppendRole(buf)
		chunk()
		flags |= fStarted
	}
	var f *frames
	if e.n > 0 {
		f = sc.framesFor(&s)
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
			buf = f.reasoning.append(buf, pt.lit)
			chunk()
		default:
			buf = f.content.append(buf, pt.lit)
			chunk()
		}
	}
	if e.hasUsage {
		sc.usage = e.usage
		out.Usage = &sc.usage
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
	sc.buf = buf
	p.scratch.Store(sc)
	if flags != st.flags || count != st.count {
		ns := make([]byte, len(out.State))
		copy(ns, out.State)
		ns[1] = flags
		ns[2], ns[3], ns[4], ns[5] = byte(count), byte(count>>8), byte(count>>16), byte(count>>24)
		out.State = ns
	}
	return nil
}

// scratch is what StreamEvent reuses from one event to the next: the
// buffer its chunks are written in, the usage it reports, and the frames
// of the stream's delta chunks. Chunks and usage must stay valid until the
// SDK has copied them into the export's result, at the end of the export
// call, so a scratch belongs to one StreamOut (the SDK's dispatcher reuses
// one for every call; a Wasm instance has one dispatcher and runs one call
// at a time): its buffer starts over only when that StreamOut holds no
// chunks yet (a new call), and a call for another StreamOut gets a new
// scratch. The scratch is only a cache: what a call returns never depends
// on what an earlier call left in it.
type scratch struct {
	owner  *abi.StreamOut
	buf    []byte
	usage  abi.Usage
	frames *frames // the last stream's, nil before the first
}

// takeScratch returns the scratch for out, for the caller alone until it
// stores it back in p.scratch (natively, calls may run concurrently).
func (p *plugin) takeScratch(out *abi.StreamOut) *scratch {
	sc := p.scratch.Swap(nil)
	switch {
	case sc == nil:
		return &scratch{owner: out, buf: make([]byte, 0, scratchSize)}
	case sc.owner != out:
		// Another StreamOut's chunks may still point into sc.buf: leave
		// it to them. Frames are never modified, so they can be shared.
		return &scratch{owner: out, buf: make([]byte, 0, scratchSize), frames: sc.frames}
	case len(out.Chunks) == 0 && cap(sc.buf) > scratchMax:
		sc.buf = make([]byte, 0, scratchSize) // let a huge event's buffer go
	case len(out.Chunks) == 0:
		sc.buf = sc.buf[:0]
	}
	return sc
}

// The scratch buffer's first size, and the size above which it is not
// kept from one call to the next.
const (
	scratchSize = 1 << 10
	scratchMax  = 64 << 10
)

// frames are the content and reasoning delta chunks of one stream (id,
// model, created) around their text.
type frames struct {
	id, model          string // copies
	created            int64
	content, reasoning frame
}

// framesFor returns the frames of s's chunks, made anew when s is not the
// stream of the last ones.
func (sc *scratch) framesFor(s *oai.Stream) *frames {
	if f := sc.frames; f != nil && f.id == s.ID && f.model == s.Model && f.created == s.Created {
		return f
	}
	f := &frames{id: strings.Clone(s.ID), model: strings.Clone(s.Model), created: s.Created}
	w := &oai.Stream{ID: f.id, Model: f.model, Created: f.created} // s stays on the caller's stack
	f.content = frameOf(w.AppendContent)
	f.reasoning = frameOf(w.AppendReasoning)
	sc.frames = f
	return f
}

// A frame is a chunk writer's output around the JSON string literal it is
// given: writing a chunk is then three copies.
type frame struct {
	head, tail []byte
	write      func(dst []byte, raw string) []byte // the writer, when it did not show one frame
}

// frameOf finds write's frame by writing two chunks, and keeps write
// itself if they do not share one.
func frameOf(write func(dst []byte, raw string) []byte) frame {
	const probe = `"\u0000"`
	a, b := write(nil, probe), write(nil, `"x"`)
	if at := bytes.Index(a, []byte(probe)); at >= 0 {
		head, tail := a[:at:at], a[at+len(probe):]
		if string(b) == string(head)+`"x"`+string(tail) {
			return frame{head: head, tail: tail}
		}
	}
	return frame{write: write}
}

// append writes the chunk of lit, a valid JSON string literal.
func (f *frame) append(dst []byte, lit string) []byte {
	if f.write != nil {
		return f.write(dst, lit)
	}
	dst = append(dst, f.head...)
	dst = append(dst, lit...)
	return append(dst, f.tail...)
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
