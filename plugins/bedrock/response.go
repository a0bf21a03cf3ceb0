package main

import (
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "bedrock returned a body that is not JSON", Retryable: true}
	}
	st := parseState(in.State)
	c := oai.Completion{ID: st.id, Model: st.model, Created: st.created}
	var content, reasoning strings.Builder
	var stop string
	gjson.ParseBytes(in.Body).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "output":
			v.Get("message.content").ForEach(func(_, block gjson.Result) bool {
				block.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "text":
						content.WriteString(v.String())
						c.HasContent = true
					case "toolUse":
						var tc oai.ToolCall
						v.ForEach(func(k, v gjson.Result) bool {
							switch k.Str {
							case "toolUseId":
								tc.ID = v.String()
							case "name":
								tc.Name = v.String()
							case "input":
								tc.Args = v.Raw
							}
							return true
						})
						c.ToolCalls = append(c.ToolCalls, tc)
					case "reasoningContent":
						reasoning.WriteString(v.Get("reasoningText.text").String())
					}
					return true
				})
				return true
			})
		case "stopReason":
			stop = v.String()
		case "usage":
			c.Usage = parseUsage(v)
		}
		return true
	})
	c.Content, c.Reasoning = content.String(), reasoning.String()
	c.Finish = finishReason(stop, len(c.ToolCalls) > 0)
	return &abi.ResponseOut{Body: c.Append(nil), Usage: c.Usage}, nil
}

// finishReason maps Converse's stopReason. A stop with tool calls is
// tool_calls, as OpenAI clients expect.
func finishReason(stop string, toolCalls bool) string {
	switch stop {
	case "tool_use":
		return oai.FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return oai.FinishLength
	case "guardrail_intervened", "content_filtered":
		return oai.FinishContentFilter
	}
	// end_turn, stop_sequence, malformed_model_output, malformed_tool_use
	// and reasons this plugin does not know.
	if toolCalls {
		return oai.FinishToolCalls
	}
	return oai.FinishStop
}

// parseUsage maps Converse's TokenUsage. Bedrock's inputTokens, like
// Anthropic's input_tokens, excludes the tokens read from and written to
// the prompt cache, while the canonical input count includes them; Bedrock
// does not report reasoning tokens apart from outputTokens.
func parseUsage(v gjson.Result) *abi.Usage {
	var u abi.Usage
	var input int64
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "inputTokens":
			input = v.Int()
		case "outputTokens":
			u.OutputTokens = v.Int()
		case "cacheReadInputTokens":
			u.CachedTokens = v.Int()
		case "cacheWriteInputTokens":
			u.CacheWriteTokens = v.Int()
		}
		return true
	})
	u.InputTokens = input + u.CachedTokens + u.CacheWriteTokens
	return &u
}

// upstreamError normalizes a Bedrock error response: the error's name is
// the x-amzn-ErrorType header ("ThrottlingException:http://internal…"), or
// the body's __type or code, and its text the body's message.
func upstreamError(in *abi.ResponseIn) *abi.Error {
	body := gjson.ParseBytes(in.Body)
	name := in.Header("X-Amzn-Errortype")
	if name == "" {
		name = body.Get("__type").String()
	}
	if name == "" {
		name = body.Get("code").String()
	}
	msg := body.Get("message").String()
	if msg == "" {
		msg = body.Get("Message").String()
	}
	u := oai.UpstreamError{Status: int(in.Status), RetryAfter: in.Header("Retry-After"), Message: msg}
	mapError(&u, errorName(name))
	return oai.Normalize(u)
}

// errorName reduces an AWS error type to its name: the part before ':'
// and after the last '#' ("com.amazon.coral#ThrottlingException").
func errorName(s string) string {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// mapError maps a Bedrock error name (exception names compare without
// case: the stream's are lowerCamelCase) to the status, type and code the
// hub answers with, through oai.Normalize's conventions.
func mapError(u *oai.UpstreamError, name string) {
	switch strings.ToLower(name) {
	case "throttlingexception":
		u.Status, u.Type, u.Code = 429, "rate_limit_error", "rate_limit_exceeded"
	case "servicequotaexceededexception":
		u.Status, u.Type, u.Code = 429, "rate_limit_error", "service_quota_exceeded"
	case "validationexception":
		u.Status, u.Type = 400, "invalid_request_error"
		if tooLong(u.Message) {
			u.Code = "context_length_exceeded"
		}
	case "accessdeniedexception", "unrecognizedclientexception", "invalidsignatureexception",
		"incompletesignatureexception", "missingauthenticationtokenexception", "expiredtokenexception":
		u.Status = 403 // the hub's credential: answered as upstream_auth_failed
	case "resourcenotfoundexception":
		u.Status, u.Type, u.Code = 404, "invalid_request_error", "model_not_found"
	case "modelnotreadyexception", "serviceunavailableexception":
		u.Overloaded = true
	case "internalserverexception", "modelerrorexception", "modelstreamerrorexception":
		u.Status = 500
	case "modeltimeoutexception":
		u.Status = 408
	}
}

// tooLong recognizes Bedrock's "input too long" validation messages.
func tooLong(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "too long") || strings.Contains(m, "too many input tokens") || strings.Contains(m, "context length")
}
