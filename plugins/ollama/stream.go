package main

import (
	"bytes"
	"strings"

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
	sc := p.takeScratch(out)
	buf, start := sc.buf, len(sc.buf)
	chunk := func() {
		out.Chunks = append(out.Chunks, buf[start:len(buf):len(buf)])
		start = len(buf)
	}
	if first {
		buf = s.AppendRole(buf)
		chunk()
	}
	if l.thinking != "" || l.content != "" {
		f := sc.framesFor(&s)
		if l.thinking != "" {
			buf = f.reasoning.append(buf, l.thinking)
			chunk()
		}
		if l.content != "" {
			buf = f.content.append(buf, l.content)
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
		sc.usage = abi.Usage{InputTokens: l.input, OutputTokens: l.output}
		if st.flags&stWantUsage != 0 {
			buf = s.AppendUsage(buf, &sc.usage)
			chunk()
		}
		out.Usage = &sc.usage
		out.Flags |= abi.StreamDone
	}
	sc.buf = buf
	p.scratch.Store(sc)
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

// scratch is what StreamEvent reuses from one line to the next: the buffer
// its chunks are written in, the usage it reports, and the frames of the
// stream's delta chunks. Chunks and usage must stay valid until the SDK
// has copied them into the export's result, at the end of the export call,
// so a scratch belongs to one StreamOut (the SDK's dispatcher reuses one
// for every call; a Wasm instance has one dispatcher and runs one call at
// a time): its buffer starts over only when that StreamOut holds no chunks
// yet (a new call), and a call for another StreamOut gets a new scratch.
// The scratch is only a cache: what a call returns never depends on what
// an earlier call left in it.
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
