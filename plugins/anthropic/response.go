package main

import (
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Response turns an Anthropic message into a canonical chat.completion
// (§6 of the mapping), or an error response into a normalized error.
func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(int(in.Status), in.Headers, in.Body)
	}
	if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not JSON", Retryable: true}
	}
	root := oai.Parse((in.Body))
	if !root.IsObject() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not a JSON object", Retryable: true}
	}
	st := parseState(in.State)
	c := oai.Completion{Created: st.created}
	var u anUsage
	var typ string
	var content, errObj gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			c.ID = v.String()
		case "model":
			c.Model = v.String()
		case "type":
			typ = v.String()
		case "content":
			content = v
		case "stop_reason":
			c.Finish = finishReason(v.String())
		case "usage":
			readUsage(v, &u)
		case "error":
			errObj = v
		}
		return true
	})
	if typ == "error" || errObj.Exists() && !content.Exists() { // an error in a 2xx body: a server fault
		return nil, upstreamError(502, in.Headers, in.Body)
	}
	var text, reasoning strings.Builder
	content.ForEach(func(_, b gjson.Result) bool {
		var bt, id, name, txt, input gjson.Result
		b.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "type":
				bt = v
			case "id":
				id = v
			case "name":
				name = v
			case "text", "thinking":
				txt = v
			case "input":
				input = v
			}
			return true
		})
		switch bt.Str {
		case "text":
			text.WriteString(txt.String())
			c.HasContent = true
		case "thinking":
			reasoning.WriteString(txt.String())
		case "tool_use":
			args := input.Raw
			if !input.IsObject() {
				args = "{}"
			}
			c.ToolCalls = append(c.ToolCalls, oai.ToolCall{ID: id.String(), Name: name.String(), Args: args})
		}
		return true
	})
	c.Content = text.String()
	c.Reasoning = reasoning.String()
	c.Usage = u.canonical()
	body := c.Append(make([]byte, 0, 320+len(c.Content)+len(c.Reasoning)+len(in.Body)/2))
	return &abi.ResponseOut{Body: body, Usage: c.Usage}, nil
}
