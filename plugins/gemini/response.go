package main

import (
	"bytes"
	"unicode/utf8"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// parseUsage converts usageMetadata (MAPPING.md §6). Gemini omits zero
// counts; thoughts are not part of candidatesTokenCount, cached tokens are
// part of promptTokenCount.
func parseUsage(u gjson.Result) *abi.Usage {
	var out abi.Usage
	var prompt, toolUse, candidates, thoughts int64
	u.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "promptTokenCount":
			prompt = v.Int()
		case "toolUsePromptTokenCount":
			toolUse = v.Int()
		case "candidatesTokenCount":
			candidates = v.Int()
		case "thoughtsTokenCount":
			thoughts = v.Int()
		case "cachedContentTokenCount":
			out.CachedTokens = v.Int()
		}
		return true
	})
	out.InputTokens = prompt + toolUse
	out.OutputTokens = candidates + thoughts
	out.ReasoningTokens = thoughts
	return &out
}

// finishReason maps a Gemini finishReason (MAPPING.md §6).
func finishReason(r string, calls bool) string {
	switch r {
	case "STOP":
		if calls {
			return oai.FinishToolCalls
		}
		return oai.FinishStop
	case "MAX_TOKENS":
		return oai.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII",
		"IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return oai.FinishContentFilter
	}
	// LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
	// TOO_MANY_TOOL_CALLS, NO_IMAGE, IMAGE_OTHER, unspecified: no OpenAI
	// equivalent.
	return oai.FinishStop
}

// responseID is the completion id when Gemini sent no responseId.
func responseID(requestID string) string {
	return "chatcmpl-" + oai.ToolCallID(requestID, -1)[len("call_"):]
}

// chatResponse converts a generateContent response.
func chatResponse(st *state, body []byte) (*abi.ResponseOut, error) {
	root := parse(body)
	var candidates, feedback, usage gjson.Result
	id, model := "", st.model
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "candidates":
			candidates = v
		case "promptFeedback":
			feedback = v
		case "usageMetadata":
			usage = v
		case "modelVersion":
			if v.Str != "" {
				model = v.Str
			}
		case "responseId":
			id = v.Str
		}
		return true
	})
	if !root.IsObject() || !candidates.IsArray() && !feedback.Exists() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not a Gemini response", Retryable: true}
	}
	if id == "" {
		id = responseID(st.requestID)
	}
	out := &abi.ResponseOut{}
	if usage.IsObject() {
		out.Usage = parseUsage(usage)
	}
	ordinal := 0
	var doc []byte
	n := 0
	candidates.ForEach(func(_, cand gjson.Result) bool {
		c := oai.Completion{ID: id, Model: model, Created: st.created}
		if n == 0 {
			c.Usage = out.Usage
		}
		var text, reasoning []byte
		var sigs []string
		var finish string
		cand.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "finishReason":
				finish = v.Str
			case "content":
				v.Get("parts").ForEach(func(_, part gjson.Result) bool {
					var txt, fc, sig gjson.Result
					thought := false
					part.ForEach(func(k, v gjson.Result) bool {
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
						c.ToolCalls = append(c.ToolCalls, oai.ToolCall{
							ID: oai.ToolCallID(st.requestID, ordinal), Name: fc.Get("name").Str, Args: fc.Get("args").Raw})
						ordinal++
						sigs = append(sigs, sig.Str)
					case txt.Type == gjson.String && thought:
						reasoning = append(reasoning, txt.Str...)
					case txt.Type == gjson.String:
						text = append(text, txt.Str...)
						c.HasContent = true
					}
					return true
				})
			}
			return true
		})
		c.Content, c.Reasoning = string(text), string(reasoning)
		c.Finish = finishReason(finish, len(c.ToolCalls) > 0)
		one := withSignatures(c.Append(nil), sigs)
		if n == 0 {
			doc = one
		} else {
			doc = appendChoice(doc, one, n)
		}
		n++
		return true
	})
	if n == 0 {
		// The prompt was blocked (promptFeedback.blockReason): an empty
		// answer, filtered.
		c := oai.Completion{ID: id, Model: model, Created: st.created, Usage: out.Usage, Finish: oai.FinishContentFilter}
		doc = c.Append(nil)
	}
	out.Body = doc
	return out, nil
}

// withSignatures adds extra_content.google.thought_signature to the tool
// calls of a one-choice completion that had one (sigs[i] for call i), the
// convention of Google's OpenAI-compatible endpoint, so that a client that
// replays the assistant message sends the signature back.
func withSignatures(doc []byte, sigs []string) []byte {
	any := false
	for _, s := range sigs {
		any = any || s != ""
	}
	if !any {
		return doc
	}
	var ends []int // offset of each tool call's closing brace
	gjson.GetBytes(doc, "choices.0.message.tool_calls").ForEach(func(_, tc gjson.Result) bool {
		ends = append(ends, tc.Index+len(tc.Raw)-1)
		return true
	})
	if len(ends) != len(sigs) {
		return doc
	}
	out := make([]byte, 0, len(doc)+len(sigs)*64)
	last := 0
	for i, end := range ends {
		if sigs[i] == "" {
			continue
		}
		out = append(out, doc[last:end]...)
		out = appendSignature(out, sigs[i])
		last = end
	}
	return append(out, doc[last:]...)
}

func appendSignature(dst []byte, sig string) []byte {
	dst = append(dst, `,"extra_content":{"google":{"thought_signature":`...)
	dst = oai.AppendString(dst, sig)
	return append(dst, "}}"...)
}

// appendChoice adds the choice of the one-choice completion one to doc's
// choices, as choice index.
func appendChoice(doc, one []byte, index int) []byte {
	choices := gjson.GetBytes(doc, "choices")
	choice := gjson.GetBytes(one, "choices.0")
	if !choices.IsArray() || !choice.IsObject() {
		return doc
	}
	const head = `{"index":0`
	raw := choice.Raw
	if len(raw) < len(head) || raw[:len(head)] != head {
		return doc
	}
	end := choices.Index + len(choices.Raw) - 1 // the closing ']'
	out := make([]byte, 0, len(doc)+len(raw)+8)
	out = append(out, doc[:end]...)
	out = append(out, `,{"index":`...)
	out = oai.AppendInt(out, int64(index))
	out = append(out, raw[len(head):]...)
	return append(out, doc[end:]...)
}

// chunkEnds collects the chunks of one event in one buffer.
type chunkEnds struct {
	buf  []byte
	ends [8]int
	n    int
	more []int
}

func (c *chunkEnds) mark() {
	if c.n < len(c.ends) {
		c.ends[c.n] = len(c.buf)
	} else {
		c.more = append(c.more, len(c.buf))
	}
	c.n++
}

func (c *chunkEnds) flush(out *abi.StreamOut) {
	start := 0
	for i := 0; i < c.n; i++ {
		var end int
		if i < len(c.ends) {
			end = c.ends[i]
		} else {
			end = c.more[i-len(c.ends)]
		}
		out.Chunks = append(out.Chunks, c.buf[start:end:end])
		start = end
	}
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
	root := parse(data)
	if !root.IsObject() {
		return oai.StreamError("upstream_error", "the provider sent a stream event that is not JSON", true)
	}
	var candidates, feedback, usage, errObj gjson.Result
	var id, model string
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "candidates":
			candidates = v
		case "promptFeedback":
			feedback = v
		case "usageMetadata":
			usage = v
		case "modelVersion":
			model = v.Str
		case "responseId":
			id = v.Str
		case "error":
			errObj = v
		}
		return true
	})
	if errObj.Exists() {
		return streamError(errObj)
	}
	if id == "" {
		id = responseID(st.requestID)
	}
	if model == "" {
		model = st.model
	}
	s := oai.Stream{ID: id, Model: model, Created: st.created}
	flags, count := st.flags, st.count
	// Room for the usual: one delta chunk, or the role chunk and one more.
	per := 144 + len(id) + len(model)
	c := chunkEnds{buf: make([]byte, 0, 2*per+len(candidates.Raw))}
	if flags&fStarted == 0 {
		c.buf = s.AppendRole(c.buf)
		c.mark()
		flags |= fStarted
	}
	// The first candidate only: the canonical stream has one choice (n > 1
	// is refused). Gets skip what they do not need without parsing it.
	finish := ""
	if bytes.Contains(str2b(candidates.Raw), finishKey) { // only on the last event
		finish = candidates.Get("0.finishReason").Str
	}
	if parts := candidates.Get("0.content.parts"); parts.IsArray() {
		parts.ForEach(func(_, part gjson.Result) bool {
			var txt, fc, sig gjson.Result
			thought := false
			part.ForEach(func(k, v gjson.Result) bool {
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
				k := int(count)
				c.buf = s.AppendToolCall(c.buf, k, oai.ToolCallID(st.requestID, k), fc.Get("name").Str, fc.Get("args").Raw)
				if sig.Str != "" {
					c.buf = spliceSignature(c.buf, sig.Str)
				}
				c.mark()
				count++
				flags |= fSawCall
			case txt.Type == gjson.String && len(txt.Raw) > 2:
				raw := txt.Raw
				if !validString(raw) {
					// A malformed event (the host does not validate
					// them): re-encode what gjson read.
					raw = string(oai.AppendString(nil, txt.Str))
				}
				if thought {
					c.buf = s.AppendReasoning(c.buf, raw)
				} else {
					c.buf = s.AppendContent(c.buf, raw)
				}
				c.mark()
			}
			return true
		})
	}
	if finish == "" && !candidates.Exists() && feedback.Get("blockReason").Exists() {
		finish = "BLOCKED" // the prompt was blocked: no candidates
	}
	if usage.IsObject() {
		out.Usage = parseUsage(usage)
	}
	if finish != "" {
		reason := oai.FinishContentFilter
		if finish != "BLOCKED" {
			reason = finishReason(finish, flags&fSawCall != 0)
		}
		c.buf = s.AppendFinish(c.buf, reason)
		c.mark()
		if flags&fUsage != 0 {
			u := out.Usage
			if u == nil {
				u = &abi.Usage{}
			}
			c.buf = s.AppendUsage(c.buf, u)
			c.mark()
		}
		out.Flags |= abi.StreamDone
	}
	c.flush(out)
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
