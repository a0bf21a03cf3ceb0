package oai

import (
	"strings"

	"github.com/tidwall/gjson"
)

// Role returns a message's role, with "developer" read as "system" (the
// providers other than OpenAI know only one system slot).
func Role(msg gjson.Result) string {
	r := msg.Get("role").String()
	if r == "developer" {
		return "system"
	}
	return r
}

// Part is one content part of a message.
type Part struct {
	// Type is "text", "image_url", "input_audio", "file", or another type
	// the client sent.
	Type string
	// Text is the text of a text part.
	Text string
	// URL is an image part's URL: https or a data URL.
	URL string
	// Raw is the whole part.
	Raw gjson.Result
}

// EachPart calls fn for each content part of a message's content: a string
// content is one text part; null or absent content has none. fn returns
// false to stop.
func EachPart(content gjson.Result, fn func(Part) bool) {
	switch {
	case content.Type == gjson.String:
		fn(Part{Type: "text", Text: content.Str, Raw: content})
	case content.IsArray():
		content.ForEach(func(_, p gjson.Result) bool {
			if p.Type == gjson.String { // tolerated: a bare string part
				return fn(Part{Type: "text", Text: p.Str, Raw: p})
			}
			part := Part{Type: p.Get("type").String(), Raw: p}
			switch part.Type {
			case "text":
				part.Text = p.Get("text").String()
			case "image_url":
				iu := p.Get("image_url")
				if iu.Type == gjson.String {
					part.URL = iu.Str
				} else {
					part.URL = iu.Get("url").String()
				}
			}
			return fn(part)
		})
	}
}

// Text returns the concatenated text parts of a message's content.
func Text(content gjson.Result) string {
	if content.Type == gjson.String {
		return content.Str
	}
	var b strings.Builder
	EachPart(content, func(p Part) bool {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
		return true
	})
	return b.String()
}

// ParseDataURL splits "data:<media type>;base64,<data>". ok is false for
// any other URL (including a data URL that is not base64).
func ParseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	meta, isB64 := strings.CutSuffix(meta, ";base64")
	if !isB64 {
		return "", "", false
	}
	if i := strings.IndexByte(meta, ';'); i >= 0 { // drop parameters
		meta = meta[:i]
	}
	if meta == "" {
		meta = "application/octet-stream"
	}
	return meta, data, true
}

// Stop returns the request's stop sequences: "stop" as a string or an
// array of strings; empty strings are dropped.
func Stop(req gjson.Result) []string {
	s := req.Get("stop")
	var out []string
	switch {
	case s.Type == gjson.String:
		if s.Str != "" {
			out = append(out, s.Str)
		}
	case s.IsArray():
		s.ForEach(func(_, v gjson.Result) bool {
			if v.Type == gjson.String && v.Str != "" {
				out = append(out, v.Str)
			}
			return true
		})
	}
	return out
}

// MaxTokens returns the request's output cap: max_completion_tokens, or
// the legacy max_tokens. ok is false when neither is set to a positive
// number.
func MaxTokens(req gjson.Result) (n int64, ok bool) {
	for _, k := range [...]string{"max_completion_tokens", "max_tokens"} {
		if v := req.Get(k); v.Type == gjson.Number && v.Int() > 0 {
			return v.Int(), true
		}
	}
	return 0, false
}

// Tool choice modes returned by ToolChoice.
const (
	ChoiceUnset    = ""
	ChoiceAuto     = "auto"
	ChoiceNone     = "none"
	ChoiceRequired = "required"
	ChoiceFunction = "function" // a named function; see the name result
)

// ToolChoice reads tool_choice: "auto", "none", "required", or a named
// function ({"type":"function","function":{"name":…}}).
func ToolChoice(req gjson.Result) (mode, name string) {
	tc := req.Get("tool_choice")
	switch {
	case tc.Type == gjson.String:
		switch tc.Str {
		case ChoiceAuto, ChoiceNone, ChoiceRequired:
			return tc.Str, ""
		}
	case tc.IsObject():
		if n := tc.Get("function.name").String(); n != "" {
			return ChoiceFunction, n
		}
	}
	return ChoiceUnset, ""
}

// ToolArgs turns an OpenAI tool call's "arguments" string into a JSON
// object text, as Anthropic, Gemini, Bedrock and Ollama need. An empty
// string is "{}"; arguments that are not a JSON object give ok false (the
// plugin answers 400: such a call cannot be represented upstream).
func ToolArgs(arguments string) (obj string, ok bool) {
	a := strings.TrimSpace(arguments)
	if a == "" {
		return "{}", true
	}
	if !gjson.Valid(a) || !gjson.Parse(a).IsObject() {
		return "", false
	}
	return a, true
}

// ToolNames maps each tool_call id of the request's assistant messages to
// its function name: a tool result names only the id, and providers such
// as Gemini need the name.
func ToolNames(messages gjson.Result) map[string]string {
	names := map[string]string{}
	messages.ForEach(func(_, m gjson.Result) bool {
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			names[tc.Get("id").String()] = tc.Get("function.name").String()
			return true
		})
		return true
	})
	return names
}

// ToolCallID returns a stable tool-call id for a provider whose calls carry
// none (Gemini, older Ollama): "call_" and 24 characters derived from the
// request id and the call's ordinal in the response, so the same call gets
// the same id on every retry of the same request.
func ToolCallID(requestID string, ordinal int) string {
	// FNV-1a 64, twice with different seeds, base 32.
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	h1, h2 := uint64(14695981039346656037), uint64(0x9e3779b97f4a7c15)
	for i := 0; i < len(requestID); i++ {
		h1 = (h1 ^ uint64(requestID[i])) * 1099511628211
		h2 = (h2 ^ uint64(requestID[i])) * 1099511628211
	}
	h1 = (h1 ^ uint64(ordinal)) * 1099511628211
	h2 = (h2 ^ uint64(ordinal+0x5bd1e995)) * 1099511628211
	var b [29]byte
	copy(b[:], "call_")
	for i := 0; i < 12; i++ {
		b[5+i] = alphabet[h1&31]
		h1 >>= 5
		b[17+i] = alphabet[h2&31]
		h2 >>= 5
	}
	return string(b[:])
}

// ToolCall errors of EachToolCall, by the offending member relative to the
// call ("" for the call itself, ".function.arguments").
type ToolCallError struct {
	Index  int    // the call's index in tool_calls
	Member string // "" or ".function.arguments"
	Err    string // the message
}

// EachToolCall calls fn with the id, function name and arguments (as a JSON
// object text, see ToolArgs) of each tool call in an assistant message's
// tool_calls, in order, until fn returns false. A call without an id or a
// function name, or whose arguments are not a JSON object, stops the walk
// and is returned, for the plugin to answer as a 400 naming the call;
// provider names the upstream in that message.
func EachToolCall(calls gjson.Result, provider string, fn func(id, name, input string) bool) *ToolCallError {
	var bad *ToolCallError
	j := -1
	calls.ForEach(func(_, tc gjson.Result) bool {
		j++
		var id, name, args gjson.Result
		tc.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "id":
				id = v
			case "function":
				v.ForEach(func(k, v gjson.Result) bool {
					switch k.Str {
					case "name":
						name = v
					case "arguments":
						args = v
					}
					return true
				})
			}
			return true
		})
		if id.String() == "" || name.String() == "" {
			bad = &ToolCallError{Index: j, Err: "a tool call needs an id and a function name"}
			return false
		}
		input, ok := ToolArgs(args.String())
		if !ok {
			bad = &ToolCallError{Index: j, Member: ".function.arguments", Err: "tool call arguments must be a JSON object for " + provider}
			return false
		}
		return fn(id.String(), name.String(), input)
	})
	return bad
}
