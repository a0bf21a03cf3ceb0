package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// parseUsage converts usageMetadata (MAPPING.md §6).
func parseUsage(u gjson.Result) *abi.Usage {
	out := usageOf(u)
	return &out
}

// usageOf converts usageMetadata (MAPPING.md §6). Gemini omits zero
// counts; thoughts are not part of candidatesTokenCount, cached tokens are
// part of promptTokenCount.
func usageOf(u gjson.Result) abi.Usage {
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
	return out
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
