package oai

import "github.com/aignehub/hub/sdk/abi"

// Finish reasons of the canonical API.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// Stream writes the chunks of one canonical chat-completion stream
// ("chat.completion.chunk" objects, one choice, index 0). Its fields are
// repeated in every chunk. Each method appends one whole chunk, without SSE
// framing (the host frames chunks for the client's surface).
type Stream struct {
	ID      string
	Model   string
	Created int64
}

// head appends the chunk up to and including `"delta":`.
func (s *Stream) head(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, s.ID)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = AppendInt(dst, s.Created)
	dst = append(dst, `,"model":`...)
	dst = AppendString(dst, s.Model)
	return append(dst, `,"choices":[{"index":0,"delta":`...)
}

func tail(dst []byte) []byte { return append(dst, `,"finish_reason":null}]}`...) }

// AppendRole appends the first chunk of a stream:
// delta {"role":"assistant","content":""}.
func (s *Stream) AppendRole(dst []byte) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"role":"assistant","content":""}`...)
	return tail(dst)
}

// AppendContent appends a content delta. raw is a JSON string literal.
func (s *Stream) AppendContent(dst []byte, raw string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"content":`...)
	dst = append(dst, raw...)
	return tail(append(dst, '}'))
}

// AppendReasoning appends a reasoning delta, delta.reasoning_content (the
// field DeepSeek introduced and most OpenAI-compatible clients read). raw
// is a JSON string literal.
func (s *Stream) AppendReasoning(dst []byte, raw string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"reasoning_content":`...)
	dst = append(dst, raw...)
	return tail(append(dst, '}'))
}

// AppendToolCallStart appends the delta that opens tool call index (the
// ordinal of the call in this message, from 0) with its id and function
// name and empty arguments; AppendToolCallArgs continues it.
func (s *Stream) AppendToolCallStart(dst []byte, index int, id, name string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = AppendInt(dst, int64(index))
	dst = append(dst, `,"id":`...)
	dst = AppendString(dst, id)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = AppendString(dst, name)
	dst = append(dst, `,"arguments":""}}]}`...)
	return tail(dst)
}

// AppendToolCallArgs appends a fragment of tool call index's arguments.
// raw is a JSON string literal holding the fragment.
func (s *Stream) AppendToolCallArgs(dst []byte, index int, raw string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = AppendInt(dst, int64(index))
	dst = append(dst, `,"function":{"arguments":`...)
	dst = append(dst, raw...)
	dst = append(dst, `}}]}`...)
	return tail(dst)
}

// AppendToolCall appends one delta holding a whole tool call, for providers
// that send a call at once (Gemini, Ollama). args is the arguments' JSON
// text (an object), stringified into OpenAI's "arguments" string.
func (s *Stream) AppendToolCall(dst []byte, index int, id, name, args string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{"tool_calls":[{"index":`...)
	dst = AppendInt(dst, int64(index))
	dst = append(dst, `,"id":`...)
	dst = AppendString(dst, id)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = AppendString(dst, name)
	dst = append(dst, `,"arguments":`...)
	dst = AppendStringOfJSON(dst, args)
	dst = append(dst, `}}]}`...)
	return tail(dst)
}

// AppendFinish appends the chunk that ends the choice: an empty delta and
// the finish reason.
func (s *Stream) AppendFinish(dst []byte, reason string) []byte {
	dst = s.head(dst)
	dst = append(dst, `{},"finish_reason":`...)
	dst = AppendString(dst, reason)
	return append(dst, `}]}`...)
}

// AppendUsage appends the usage chunk that ends a stream whose client asked
// for stream_options.include_usage: "choices":[] and the usage object.
func (s *Stream) AppendUsage(dst []byte, u *abi.Usage) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, s.ID)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = AppendInt(dst, s.Created)
	dst = append(dst, `,"model":`...)
	dst = AppendString(dst, s.Model)
	dst = append(dst, `,"choices":[],"usage":`...)
	dst = AppendUsage(dst, u)
	return append(dst, '}')
}

// AppendUsage appends OpenAI's usage object for u: prompt, completion and
// total tokens, with cached (and cache-write) prompt tokens and reasoning
// tokens in their details objects.
func AppendUsage(dst []byte, u *abi.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = AppendInt(dst, u.InputTokens)
	dst = append(dst, `,"completion_tokens":`...)
	dst = AppendInt(dst, u.OutputTokens)
	dst = append(dst, `,"total_tokens":`...)
	dst = AppendInt(dst, u.InputTokens+u.OutputTokens)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = AppendInt(dst, u.CachedTokens)
	if u.CacheWriteTokens != 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = AppendInt(dst, u.CacheWriteTokens)
	}
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = AppendInt(dst, u.ReasoningTokens)
	return append(dst, `}}`...)
}
