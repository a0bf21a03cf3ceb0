package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// This file holds what the non-OpenAI dialects share: the request content
// they all parse, the deterministic answer they all render, and the event
// writer of their streams. Their bodies are built with encoding/json from
// structs whose field order is the wire's key order; only the OpenAI
// endpoints are on the benchmarks' hot path.

// reasoningText is the text whose words, cycled, make up reasoning output
// (OpenAI-compatible reasoning_content, Anthropic thinking, Gemini
// thoughts, Ollama thinking).
const reasoningText = "The user asks for an answer. The emulator thinks in canned words, then replies with its configured text."

// blockWord in a Gemini prompt (or an Ideogram prompt) makes the provider
// refuse it as unsafe.
const blockWord = "BLOCKME"

// splitWords splits text into words with a leading space, both JSON-escaped
// and plain; the first word of an answer drops the space. It never returns
// an empty list.
func splitWords(text string) ([][]byte, []string) {
	var esc [][]byte
	var plain []string
	for _, w := range strings.Fields(text) {
		esc = append(esc, appendJSONEscaped([]byte{' '}, w))
		plain = append(plain, " "+w)
	}
	if len(esc) == 0 {
		return [][]byte{[]byte(" ")}, []string{" "}
	}
	return esc, plain
}

// cycle returns the first n words of words, cycled, as stream pieces: each
// piece but the first starts with a space.
func cycle(words []string, n int) []string {
	out := make([]string, n)
	for i := range out {
		w := words[i%len(words)]
		if i == 0 {
			w = w[1:]
		}
		out[i] = w
	}
	return out
}

// parts is the content of a turn in any dialect: a string, null, or an
// array of blocks (Anthropic content blocks, Gemini parts, Bedrock content
// blocks). Only what the emulator acts on is kept: the text size, whether
// the turn carries a tool result, and whether its text contains blockWord.
type parts struct {
	size       int
	toolResult bool
	blocked    bool
}

// block is the union of the block shapes parts reads.
type block struct {
	Type                  string          `json:"type"`
	Text                  *string         `json:"text"`
	ToolResult            json.RawMessage `json:"toolResult"`
	FunctionResponse      json.RawMessage `json:"functionResponse"`
	FunctionResponseSnake json.RawMessage `json:"function_response"`
}

func (p *parts) addText(s string) {
	p.size += len(s)
	if strings.Contains(s, blockWord) {
		p.blocked = true
	}
}

func (p *parts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		p.addText(s)
	case '[':
		var blocks []block
		if err := json.Unmarshal(b, &blocks); err != nil {
			return err
		}
		for _, bl := range blocks {
			if bl.Text != nil {
				p.addText(*bl.Text)
			}
			if bl.Type == "tool_result" || len(bl.ToolResult) > 0 || len(bl.FunctionResponse) > 0 || len(bl.FunctionResponseSnake) > 0 {
				p.toolResult = true
			}
		}
	case 'n':
	default:
		return errContentType
	}
	return nil
}

// partList is a Gemini parts or Bedrock content array: unlike parts, it
// refuses a string or an object.
type partList struct{ parts }

func (p *partList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '[' && b[0] != 'n' {
		return errContentType
	}
	return p.parts.UnmarshalJSON(b)
}

// errContentType is the decode error of content that is neither a
// string nor blocks.
var errContentType = errors.New("content must be a string or an array of blocks")

// toolDecl is a tool as every dialect declares it: a name and the JSON
// schema of its arguments.
type toolDecl struct {
	name   string
	schema json.RawMessage
}

// Finish reasons of a reply, each dialect names them its own way.
const (
	finishStop = iota
	finishLength
	finishTool
	finishStopSequence
)

// replyInput is what a dialect's request says about the answer to make.
type replyInput struct {
	promptBytes int        // bytes of prompt text, which make its tokens
	tools       []toolDecl // offered tools
	userLast    bool       // the last turn is the user's own words
	noTools     bool       // tool choice "none"
	forced      string     // tool choice naming a tool
	limit       int        // output token cap; 0: none
	stops       []string   // stop sequences
	think       bool       // reasoning text first
	preamble    bool       // text before a tool call (Anthropic, Bedrock)
}

// reply is the answer the emulator computed for a non-OpenAI request.
type reply struct {
	promptTokens int // prompt tokens outside the cache
	cached       int // cached prompt tokens
	text         []string
	thinking     []string
	tool         *toolDecl
	args         string   // the call's arguments, compact JSON
	fragments    []string // args split as a stream sends them
	finish       int
	stopSeq      string // the stop sequence that ended the text
}

// outputTokens counts the words, reasoning words and argument fragments.
func (r *reply) outputTokens() int {
	n := len(r.text) + len(r.thinking)
	if r.tool != nil {
		n += len(r.fragments)
	}
	return n
}

// joined returns the whole answer text.
func (r *reply) joined() string { return strings.Join(r.text, "") }

// decide decides the answer to in, following the OpenAI path's rules: the
// chosen tool is called with argumentsFor its schema, split into
// x.sw.chunks fragments; otherwise the text is x.sw.chunks words, cut to
// the limit (finish length) and before the first stop sequence it
// contains (finish stop sequence). The limit does not apply to tool calls.
func (e *Emulator) decide(x *exchange, in replyInput) *reply {
	r := &reply{promptTokens: max(1, in.promptBytes/4), cached: x.sw.cached}
	n := x.sw.chunks
	if in.think {
		r.thinking = cycle(e.thinkPlain, n)
	}
	i := chooseTool(len(in.tools), func(i int) string { return in.tools[i].name }, in.userLast, in.noTools, in.forced)
	if i >= 0 {
		r.tool = &in.tools[i]
		r.args = argumentsFor(r.tool.schema)
		r.fragments = splitFragments(r.args, n)
		r.finish = finishTool
		if in.preamble {
			r.text = cycle(e.plain, n)
		}
		return r
	}
	r.finish = finishStop
	if in.limit > 0 && in.limit < n {
		n = in.limit
		r.finish = finishLength
	}
	r.text = cycle(e.plain, n)
	full := r.joined()
	cut := -1
	for _, s := range in.stops {
		if s == "" {
			continue
		}
		if j := strings.Index(full, s); j >= 0 && (cut < 0 || j < cut) {
			cut, r.stopSeq = j, s
		}
	}
	if cut >= 0 {
		r.finish = finishStopSequence
		kept := r.text[:0]
		at := 0
		for _, p := range r.text {
			if at+len(p) <= cut {
				kept = append(kept, p)
			} else if at < cut {
				kept = append(kept, p[:cut-at])
			}
			at += len(p)
		}
		r.text = kept
	}
	return r
}

// marshalJSON renders v compactly, without escaping <, > and & (as the
// providers do not).
func marshalJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("emulator: marshal: " + err.Error()) // the emulator's own types always marshal
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}

// prettyJSON renders v with 2-space indentation and no trailing newline, as
// Gemini's non-stream bodies are.
func prettyJSON(v any) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, marshalJSON(v), "", "  "); err != nil {
		panic("emulator: indent: " + err.Error())
	}
	return buf.Bytes()
}

// base62ID returns prefix followed by n base62 characters derived from seq
// and salt.
func base62ID(prefix string, n int, seq, salt uint64) string {
	b := make([]byte, len(prefix)+n)
	copy(b, prefix)
	fillID(b[len(prefix):], seq^salt)
	return string(b)
}

// eventStream writes the events of a non-OpenAI stream: it paces them,
// flushes each, and applies the fail-after switch by sending the dialect's
// in-stream error (failure) in place of the next event, then ending the
// body. An event marked final would complete the stream, so with
// fail-after set it is always replaced: a failed stream never completes.
type eventStream struct {
	e *Emulator
	x *exchange
	// failure renders the in-stream error sent after sent events.
	failure func(sent int) []byte
	sent    int
	done    bool // the failure was sent or the client is gone
}

// start writes the success status and headers of the stream.
func (s *eventStream) start(status int) {
	s.x.w.WriteHeader(status)
	flush(s.x.w)
}

// send writes one event; it reports false when the stream is over.
func (s *eventStream) send(b []byte, final bool) bool {
	if s.done {
		return false
	}
	if fa := s.x.sw.failAfter; fa >= 0 && (s.sent >= fa || final) {
		b = s.failure(s.sent)
		s.done = true
	}
	if s.sent > 0 {
		if err := s.e.wait(s.x.r.Context(), &s.x.timer, s.x.sw.pace); err != nil {
			s.done = true
			return false
		}
	}
	if _, err := s.x.w.Write(b); err != nil {
		s.done = true
		return false
	}
	flush(s.x.w)
	s.sent++
	return !s.done
}

// fixed returns a failure renderer that always sends b.
func fixed(b []byte) func(int) []byte {
	return func(int) []byte { return b }
}

// setJSONHeaders sets a non-stream success's content type and length.
func setJSONHeaders(h http.Header, ct string, n int) {
	h["Content-Type"] = []string{ct}
	if n >= 0 {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
}
