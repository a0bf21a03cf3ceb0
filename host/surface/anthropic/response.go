package anthropic

import (
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
)

// Meta is what a converted response takes from the hub rather than from
// the canonical body.
type Meta struct {
	// ID is the message id, used unless the canonical id is already an
	// Anthropic one ("msg_…"); see [MessageID]. Empty means "msg_hub".
	ID string
	// Model is the model named when the canonical output names none
	// (usually the model the client asked for).
	Model string
}

// MessageID returns the Anthropic message id for the hub's request id
// ("req_<hex>" → "msg_<hex>").
func MessageID(requestID string) string {
	return "msg_" + strings.TrimPrefix(requestID, "req_")
}

// id picks the message id: the canonical one when it is Anthropic's.
func (m *Meta) id(canonical string) string {
	switch {
	case strings.HasPrefix(canonical, "msg_"):
		return canonical
	case m.ID != "":
		return m.ID
	}
	return "msg_hub"
}

func (m *Meta) model(canonical string) string {
	if canonical != "" {
		return canonical
	}
	return m.Model
}

// StopReason maps a canonical finish_reason to Anthropic's stop_reason.
// tools says the message has tool calls (a provider that does not report
// tool_calls as the finish reason still stops for tool use).
func StopReason(finish string, tools bool) string {
	switch finish {
	case oai.FinishLength:
		return "max_tokens"
	case oai.FinishToolCalls, "function_call":
		return "tool_use"
	case oai.FinishContentFilter:
		return "refusal"
	}
	if tools {
		return "tool_use"
	}
	return "end_turn"
}

// appendUsage appends Anthropic's usage object for u (canonical usage:
// input includes the cached and cache-write tokens, Anthropic's excludes
// them).
func appendUsage(dst []byte, u *abi.Usage) []byte {
	in := max(u.InputTokens-u.CachedTokens-u.CacheWriteTokens, 0)
	dst = append(dst, `{"input_tokens":`...)
	dst = oai.AppendInt(dst, in)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = oai.AppendInt(dst, u.CacheWriteTokens)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = oai.AppendInt(dst, u.CachedTokens)
	dst = append(dst, `,"output_tokens":`...)
	dst = oai.AppendInt(dst, u.OutputTokens)
	return append(dst, '}')
}

// appendToolInput appends a tool call's arguments as a tool_use input
// object: the arguments when they are a JSON object (compacted), {} when
// empty, else {"_raw": arguments}, so that nothing the model produced is
// lost.
func appendToolInput(dst []byte, arguments string) []byte {
	if obj, ok := oai.ToolArgs(arguments); ok {
		return oai.AppendCompact(dst, obj)
	}
	dst = append(dst, `{"_raw":`...)
	dst = oai.AppendString(dst, arguments)
	return append(dst, '}')
}

// errNotCompletion is returned for a canonical body that is not a JSON
// object.
var errNotCompletion = errors.New("anthropic: the canonical response is not a JSON object")

// ToMessage converts a canonical chat.completion into an Anthropic message
// (see the package doc for the mapping). Only the first choice is read.
func ToMessage(canonical []byte, meta Meta) ([]byte, error) {
	if !gjson.ValidBytes(canonical) {
		return nil, errNotCompletion
	}
	root := gjson.ParseBytes(canonical)
	if !root.IsObject() {
		return nil, errNotCompletion
	}
	var id, model, choices, usage gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			id = v
		case "model":
			model = v
		case "choices":
			choices = v
		case "usage":
			usage = v
		}
		return true
	})
	choice := choices.Get("0")
	var msg, finish gjson.Result
	choice.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "message":
			msg = v
		case "finish_reason":
			finish = v
		}
		return true
	})
	content, reasoning, refusal, calls := messageFields(msg)

	b := make([]byte, 0, len(canonical)+128)
	b = append(b, `{"id":`...)
	b = oai.AppendString(b, meta.id(id.String()))
	b = append(b, `,"type":"message","role":"assistant","model":`...)
	b = oai.AppendString(b, meta.model(model.String()))
	b = append(b, `,"content":[`...)
	n := 0
	sep := func() {
		if n > 0 {
			b = append(b, ',')
		}
		n++
	}
	if reasoning.Type == gjson.String && reasoning.Str != "" {
		sep()
		b = append(b, `{"type":"thinking","thinking":`...)
		b = append(b, oai.Literal(reasoning)...)
		b = append(b, `,"signature":""}`...)
	}
	text := contentText(content)
	if text == "" && refusal.Type == gjson.String {
		text = refusal.Str
	}
	if text != "" {
		sep()
		b = append(b, `{"type":"text","text":`...)
		b = oai.AppendString(b, text)
		b = append(b, '}')
	}
	ncalls := 0
	calls.ForEach(func(_, tc gjson.Result) bool {
		tid := tc.Get("id").String()
		if tid == "" {
			tid = oai.ToolCallID(meta.id(id.String()), ncalls)
		}
		ncalls++
		sep()
		b = append(b, `{"type":"tool_use","id":`...)
		b = oai.AppendString(b, tid)
		b = append(b, `,"name":`...)
		b = oai.AppendString(b, tc.Get("function.name").String())
		b = append(b, `,"input":`...)
		b = appendToolInput(b, tc.Get("function.arguments").String())
		b = append(b, '}')
		return true
	})
	b = append(b, `],"stop_reason":`...)
	b = oai.AppendString(b, StopReason(finish.String(), ncalls > 0))
	b = append(b, `,"stop_sequence":null,"usage":`...)
	u := &abi.Usage{}
	if usage.IsObject() {
		u = oai.ParseUsage(usage)
	}
	b = appendUsage(b, u)
	return append(b, '}'), nil
}

// contentText reads a canonical message content: a string, or the texts
// of an array of parts.
func contentText(content gjson.Result) string {
	if content.Type == gjson.String || !content.IsArray() {
		return content.String()
	}
	var sb strings.Builder
	content.ForEach(func(_, p gjson.Result) bool {
		if t := p.Get("type").String(); t == "text" || t == "output_text" {
			sb.WriteString(p.Get("text").String())
		}
		return true
	})
	return sb.String()
}

// messageFields reads the fields of an OpenAI message (or a stream delta)
// that become Anthropic content: content, the reasoning text
// (reasoning_content, else OpenRouter's "reasoning", should a plugin pass it
// on), refusal and tool_calls, in one pass over the object.
func messageFields(msg gjson.Result) (content, reasoning, refusal, calls gjson.Result) {
	var alt gjson.Result
	msg.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "content":
			content = v
		case "reasoning_content":
			reasoning = v
		case "reasoning":
			alt = v
		case "refusal":
			refusal = v
		case "tool_calls":
			calls = v
		}
		return true
	})
	if reasoning.Type != gjson.String || reasoning.Str == "" {
		reasoning = alt
	}
	return content, reasoning, refusal, calls
}
