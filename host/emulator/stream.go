package emulator

import (
	"net/http"
	"strconv"
)

// obfuscationPad is the source of the "obfuscation" padding. OpenAI pads
// each chunk with a random-length string; the emulator takes deterministic
// slices of this one.
const obfuscationPad = "Dxb8VaMVUNkQ9VCYqcraXAwTdYEizspViDHkcqax70KhUeCxpxtC5K2eiiv48inO"

// obfuscation returns the padding of the k-th event of a stream: 0 to 15
// characters.
func obfuscation(k int) string {
	off := (k * 11) % 48
	return obfuscationPad[off : off+(k*7+3)%16]
}

// sseStream writes the events of one chat completion stream.
type sseStream struct {
	e *Emulator
	x *exchange
	c *completion

	includeUsage bool
	obfuscate    bool

	// head is the start every chunk shares, up to and including
	// `"choices":[`.
	head []byte
	buf  []byte
	sent int // events written
}

// stream answers a chat request with stream: true, event for event as in
// chat-completions.stream-text.response.sse (text) and
// chat-completions.stream-tools.response.sse (tool call).
func (e *Emulator) stream(x *exchange, req *chatRequest, c *completion) {
	bp := bufPool.Get().(*[]byte)
	hp := bufPool.Get().(*[]byte)
	s := sseStream{e: e, x: x, c: c, obfuscate: true, buf: (*bp)[:0]}
	defer func() {
		*bp = s.buf[:0]
		*hp = s.head[:0]
		putBuf(bp)
		putBuf(hp)
	}()
	if o := req.StreamOptions; o != nil {
		s.includeUsage = o.IncludeUsage
		if o.IncludeObfuscation != nil {
			s.obfuscate = *o.IncludeObfuscation
		}
	}
	h := (*hp)[:0]
	h = append(h, `data: {"id":"chatcmpl-`...)
	h = append(h, c.id[:]...)
	h = append(h, `","object":"chat.completion.chunk","created":`...)
	h = strconv.AppendInt(h, c.created, 10)
	h = append(h, `,"model":`...)
	h = append(h, c.model...)
	h = append(h, `,"service_tier":"default","system_fingerprint":`...)
	h = append(h, c.fingerprint()...)
	h = append(h, `,"choices":[`...)
	s.head = h

	x.setSuccessHeaders(ctSSE, -1)
	x.w.WriteHeader(http.StatusOK)

	if c.tool {
		if !s.delta(`{"role":"assistant","content":null}`, "") {
			return
		}
		if !s.reasoning() {
			return
		}
		b := s.begin()
		b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_`...)
		b = append(b, c.callID[:]...)
		b = append(b, `","type":"function","function":{"name":`...)
		b = appendJSONString(b, c.toolName)
		b = append(b, `,"arguments":""}}]}`...)
		if !s.send(s.endChoice(b, "")) {
			return
		}
		for _, f := range c.fragments {
			b := s.begin()
			b = append(b, `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"`...)
			b = appendJSONEscaped(b, f)
			b = append(b, `"}}]}`...)
			if !s.send(s.endChoice(b, "")) {
				return
			}
		}
	} else {
		if !s.delta(`{"role":"assistant","content":"","refusal":null}`, "") {
			return
		}
		if !s.reasoning() {
			return
		}
		for i := range c.words {
			w := e.words[i%len(e.words)]
			if i == 0 {
				w = w[1:]
			}
			b := s.begin()
			b = append(b, `{"index":0,"delta":{"content":"`...)
			b = append(b, w...)
			b = append(b, `"}`...)
			if !s.send(s.endChoice(b, "")) {
				return
			}
		}
	}
	if !s.delta(`{}`, c.finish) {
		return
	}
	if s.includeUsage {
		b := s.begin()
		b = append(b, `],"usage":{"prompt_tokens":`...)
		ct := c.completionTokens()
		b = strconv.AppendInt(b, int64(c.promptTokens), 10)
		b = append(b, `,"completion_tokens":`...)
		b = strconv.AppendInt(b, int64(ct), 10)
		b = append(b, `,"total_tokens":`...)
		b = strconv.AppendInt(b, int64(c.promptTokens+ct), 10)
		if c.cached == 0 && c.reasoning == 0 && c.flavour == 0 {
			b = append(b, `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
		} else {
			b = s.appendUsageTail(b)
		}
		if !s.send(s.end(b)) {
			return
		}
	}
	if x.sw.failAfter >= 0 {
		// The stream had fewer events than the cut point: cut before
		// [DONE] anyway, so a fail-after never looks like success.
		s.cut()
	}
	b := append(s.buf[:0], "data: [DONE]\n\n"...)
	s.buf = b
	x.w.Write(b)
	flush(x.w)
}

// appendUsageTail appends the usage details of a flavoured or cached
// answer, from prompt_tokens_details on.
func (s *sseStream) appendUsageTail(b []byte) []byte {
	c := s.c
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, int64(c.cached), 10)
	b = append(b, `,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, int64(c.reasoning), 10)
	b = append(b, `,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}`...)
	if c.flavour&flavourDeepSeek != 0 {
		b = append(b, `,"prompt_cache_hit_tokens":`...)
		b = strconv.AppendInt(b, int64(c.cached), 10)
		b = append(b, `,"prompt_cache_miss_tokens":`...)
		b = strconv.AppendInt(b, int64(c.promptTokens-c.cached), 10)
	}
	return append(b, '}')
}

// reasoning sends the reasoning deltas of a reasoning answer, one word
// each, in DeepSeek's form ({"content":null,"reasoning_content":…}) or
// OpenRouter's ({"role":"assistant","content":"","reasoning":…}).
func (s *sseStream) reasoning() bool {
	for i := range s.c.reasoning {
		w := s.e.thinkWords[i%len(s.e.thinkWords)]
		if i == 0 {
			w = w[1:]
		}
		b := s.begin()
		if s.c.flavour&flavourOpenRouter != 0 {
			b = append(b, `{"index":0,"delta":{"role":"assistant","content":"","reasoning":"`...)
		} else {
			b = append(b, `{"index":0,"delta":{"content":null,"reasoning_content":"`...)
		}
		b = append(b, w...)
		b = append(b, `"}`...)
		if !s.send(s.endChoice(b, "")) {
			return false
		}
	}
	return true
}

// begin starts a chunk in the event buffer.
func (s *sseStream) begin() []byte {
	return append(s.buf[:0], s.head...)
}

// delta sends a chunk whose only choice has this delta and finish reason.
func (s *sseStream) delta(delta, finish string) bool {
	b := s.begin()
	b = append(b, `{"index":0,"delta":`...)
	b = append(b, delta...)
	return s.send(s.endChoice(b, finish))
}

// endChoice closes a choice opened after the delta, and the chunk.
func (s *sseStream) endChoice(b []byte, finish string) []byte {
	if !s.c.gpt5 {
		b = append(b, `,"logprobs":null`...)
	}
	if finish == "" {
		b = append(b, `,"finish_reason":null}]`...)
	} else {
		b = append(b, `,"finish_reason":"`...)
		b = append(b, finish...)
		b = append(b, `"}]`...)
	}
	if s.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return s.end(b)
}

// end appends the obfuscation padding and the event terminator.
func (s *sseStream) end(b []byte) []byte {
	if s.obfuscate {
		b = append(b, `,"obfuscation":"`...)
		b = append(b, obfuscation(s.sent)...)
		b = append(b, '"')
	}
	return append(b, "}\n\n"...)
}

// send waits out the pace, writes the event in b and flushes it. It
// reports false when the client is gone; a fail-after cut does not return.
func (s *sseStream) send(b []byte) bool {
	s.buf = b
	if s.sent == s.x.sw.failAfter {
		s.cut()
	}
	if s.sent > 0 {
		if err := s.e.wait(s.x.r.Context(), &s.x.timer, s.x.sw.pace); err != nil {
			return false
		}
	}
	if _, err := s.x.w.Write(b); err != nil {
		return false
	}
	flush(s.x.w)
	s.sent++
	return true
}

// cut flushes what was sent and breaks the connection, as a provider
// failing mid-stream would: the client sees the body end without [DONE].
func (s *sseStream) cut() {
	flush(s.x.w)
	panic(http.ErrAbortHandler)
}
