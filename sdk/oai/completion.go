package oai

import "github.com/aignehub/hub/sdk/abi"

// ToolCall is one tool call of an assistant message.
type ToolCall struct {
	ID   string
	Name string
	// Args is the arguments' JSON text (an object); empty means "{}".
	Args string
}

// Completion is a canonical non-stream chat completion with one choice.
type Completion struct {
	ID      string
	Model   string
	Created int64
	// Content is the assistant's text; with HasContent false and tool calls
	// present it is written as null, as OpenAI does.
	Content    string
	HasContent bool
	// Reasoning is the model's reasoning text, written as
	// message.reasoning_content when not empty.
	Reasoning string
	ToolCalls []ToolCall
	// Refusal is written as message.refusal when not empty.
	Refusal string
	Finish  string
	// Usage is written when not nil.
	Usage *abi.Usage
}

// Append appends the "chat.completion" object.
func (c *Completion) Append(dst []byte) []byte {
	dst = append(dst, `{"id":`...)
	dst = AppendString(dst, c.ID)
	dst = append(dst, `,"object":"chat.completion","created":`...)
	dst = AppendInt(dst, c.Created)
	dst = append(dst, `,"model":`...)
	dst = AppendString(dst, c.Model)
	dst = append(dst, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if c.HasContent || len(c.ToolCalls) == 0 {
		dst = AppendString(dst, c.Content)
	} else {
		dst = append(dst, "null"...)
	}
	if c.Reasoning != "" {
		dst = append(dst, `,"reasoning_content":`...)
		dst = AppendString(dst, c.Reasoning)
	}
	if len(c.ToolCalls) > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for i, tc := range c.ToolCalls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = AppendString(dst, tc.ID)
			dst = append(dst, `,"type":"function","function":{"name":`...)
			dst = AppendString(dst, tc.Name)
			dst = append(dst, `,"arguments":`...)
			dst = AppendStringOfJSON(dst, tc.Args)
			dst = append(dst, `}}`...)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"refusal":`...)
	if c.Refusal != "" {
		dst = AppendString(dst, c.Refusal)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `},"logprobs":null,"finish_reason":`...)
	finish := c.Finish
	if finish == "" {
		finish = FinishStop
	}
	dst = AppendString(dst, finish)
	dst = append(dst, `}]`...)
	if c.Usage != nil {
		dst = append(dst, `,"usage":`...)
		dst = AppendUsage(dst, c.Usage)
	}
	return append(dst, '}')
}
