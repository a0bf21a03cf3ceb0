package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// chatRequest holds the fields of a chat completion request the emulator
// acts on; the rest of the body is ignored.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *streamOptions  `json:"stream_options"`
	Tools               []chatTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	MaxTokens           *int            `json:"max_tokens"`
	ReasoningEffort     *string         `json:"reasoning_effort"`
}

type streamOptions struct {
	IncludeUsage       bool  `json:"include_usage"`
	IncludeObfuscation *bool `json:"include_obfuscation"`
}

type chatMessage struct {
	Role    string      `json:"role"`
	Content contentSize `json:"content"`
}

type chatTool struct {
	Type     string `json:"type"`
	Function struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	} `json:"function"`
}

// contentSize is the number of text bytes of a message's content, which is
// a string, an array of parts, or null. Only the size feeds the emulator's
// token count, so the text itself is not kept.
type contentSize int

func (c *contentSize) UnmarshalJSON(b []byte) error {
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
		*c = contentSize(len(s))
	case '[':
		var parts []struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		n := 0
		for _, p := range parts {
			n += len(p.Text)
		}
		*c = contentSize(n)
	}
	return nil
}

// decodeRequest decodes body into v, mapping failures to OpenAI's 400s: a
// syntax error is "could not parse the JSON body", a type error names the
// parameter.
func decodeRequest(body []byte, v any) *apiError {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return errInvalidRequest("Invalid type for '"+typeErr.Field+"': expected "+jsonKind(typeErr.Type.Kind().String())+", but got "+typeErr.Value+" instead.",
			typeErr.Field, "invalid_type")
	}
	return errInvalidJSON
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// completion is the answer the emulator computed for one chat request;
// the non-stream and stream writers render the same completion.
type completion struct {
	id   [29]byte // after "chatcmpl-"
	gpt5 bool     // gpt-5 family: no logprobs, system_fingerprint null
	tool bool     // the answer is a tool call
	// flavour holds the quirks of OpenAI-compatible providers (the
	// flavour* bits). The three flags fill the padding after id, so the
	// struct stays in its allocation size class.
	flavour uint8

	model        []byte // JSON string literal
	created      int64
	promptTokens int    // cached tokens included
	cached       int    // cached prompt tokens
	finish       string // stop, length or tool_calls

	// reasoning is the number of reasoning words sent before the answer,
	// in the field c.reasoningField().
	reasoning int

	// Text answer.
	words int // the answer is the first words of the cycled answer text

	// Tool call answer (tool is true).
	callID    [24]byte // after "call_"
	toolName  string
	fragments []string // the arguments, split as a stream sends them
}

// The flavour bits of a completion.
const (
	flavourDeepSeek   = 1 << iota // usage has prompt_cache_hit/miss_tokens
	flavourOpenRouter             // reasoning text goes in "reasoning"
)

// reasoningField is the name of the field of the reasoning text.
func (c *completion) reasoningField() string {
	if c.flavour&flavourOpenRouter != 0 {
		return reasoningFieldOpenRouter
	}
	return reasoningFieldDeepSeek
}

func (c *completion) completionTokens() int {
	if c.tool {
		return len(c.fragments) + c.reasoning
	}
	return c.words + c.reasoning
}

// systemFingerprint is the fingerprint of non-gpt-5 answers.
const systemFingerprint = `"fp_e7a1b2c3d4"`

func (c *completion) fingerprint() string {
	if c.gpt5 {
		return "null"
	}
	return systemFingerprint
}

// serveChat answers POST /v1/chat/completions.
func (e *Emulator) serveChat(x *exchange, body []byte) {
	var req chatRequest
	if apiErr := decodeRequest(body, &req); apiErr != nil {
		x.writeError(apiErr, "")
		return
	}
	c, apiErr := e.plan(x, &req)
	if apiErr != nil {
		x.writeError(apiErr, "")
		return
	}
	if req.Stream {
		e.stream(x, &req, c)
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := e.appendCompletion((*bp)[:0], c)
	x.setSuccessHeaders(ctJSON, len(b))
	x.w.WriteHeader(http.StatusOK)
	defer func() { *bp = b[:0]; putBuf(bp) }()
	e.writeBody(x, b)
}

// putBuf returns a buffer to the pool unless a huge body inflated it.
func putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		bufPool.Put(bp)
	}
}

// plan validates req and decides the answer.
func (e *Emulator) plan(x *exchange, req *chatRequest) (*completion, *apiError) {
	if req.Model == "" {
		return nil, errInvalidRequest("you must provide a model parameter", "", "")
	}
	if req.Messages == nil {
		return nil, errInvalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
	}
	if len(req.Messages) == 0 {
		return nil, errInvalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array")
	}
	if req.StreamOptions != nil && !req.Stream {
		return nil, errInvalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", "")
	}
	if req.MaxTokens != nil && reasoningModel(req.Model) {
		return nil, errUnsupportedMaxTokens
	}
	limit := req.MaxCompletionTokens
	param := "max_completion_tokens"
	if limit == nil {
		limit, param = req.MaxTokens, "max_tokens"
	}
	if limit != nil && *limit < 1 {
		return nil, errInvalidRequest("Invalid '"+param+"': integer below minimum value. Expected a value >= 1, but got "+strconv.Itoa(*limit)+" instead.", param, "integer_below_min_value")
	}
	if !e.acceptsModel(req.Model) {
		return nil, errModelNotFound(req.Model)
	}

	c := &completion{
		model:   appendJSONString(nil, req.Model),
		created: e.created(x),
		gpt5:    strings.HasPrefix(req.Model, "gpt-5"),
		finish:  "stop",
	}
	seq := e.seq.Add(1)
	fillID(c.id[:], seq)
	size := 0
	for _, m := range req.Messages {
		size += int(m.Content)
	}
	c.cached = x.sw.cached
	c.promptTokens = max(1, size/4) + c.cached
	if strings.HasPrefix(req.Model, "deepseek-") {
		c.flavour |= flavourDeepSeek
	}
	if emitsReasoning(req) {
		c.reasoning = x.sw.chunks
		if x.sw.openRouter {
			c.flavour |= flavourOpenRouter
		}
	}

	if tool := pickTool(req); tool != nil {
		c.tool = true
		c.finish = "tool_calls"
		c.toolName = tool.Function.Name
		fillID(c.callID[:], seq^0x5bd1e995)
		c.fragments = splitFragments(argumentsFor(tool.Function.Parameters), x.sw.chunks)
		return c, nil
	}
	c.words = x.sw.chunks
	if limit != nil && *limit < c.words {
		c.words = *limit
		c.finish = "length"
	}
	return c, nil
}

// emitsReasoning reports whether the answer starts with reasoning text, as
// DeepSeek's reasoner and OpenRouter's reasoning models send it: for a
// model whose id contains "reasoner", or a request setting
// reasoning_effort (other than "none") to a model outside OpenAI's own
// reasoning families, which keep their reasoning hidden.
func emitsReasoning(req *chatRequest) bool {
	if strings.Contains(req.Model, "reasoner") {
		return true
	}
	return req.ReasoningEffort != nil && *req.ReasoningEffort != "none" && !reasoningModel(req.Model)
}

// reasoningModel reports whether model belongs to a family that rejects
// the deprecated max_tokens (gpt-5 and the o-series).
func reasoningModel(model string) bool {
	for _, p := range []string{"gpt-5", "o1", "o3", "o4"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// pickTool returns the tool to call, or nil for a text answer, by the
// policy of chooseTool; tool_choice "none" and a named tool_choice are
// honoured.
func pickTool(req *chatRequest) *chatTool {
	if len(req.Tools) == 0 {
		return nil
	}
	none, forced := false, ""
	choice := bytes.TrimSpace(req.ToolChoice)
	if len(choice) > 0 && choice[0] == '"' {
		var s string
		if json.Unmarshal(choice, &s) == nil && s == "none" {
			none = true
		}
	}
	if len(choice) > 0 && choice[0] == '{' {
		var named struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(choice, &named) == nil {
			forced = named.Function.Name
		}
	}
	i := chooseTool(len(req.Tools), func(i int) string { return req.Tools[i].Function.Name },
		req.Messages[len(req.Messages)-1].Role == "user", none, forced)
	if i < 0 {
		return nil
	}
	return &req.Tools[i]
}

// chooseTool is the tool-call policy every provider shares. It returns
// the index of the tool to call among n tools named by name, or -1 for a
// text answer. A request gets a tool call when it offers tools, its tool
// choice is not "none" and its last turn is the user's own words: after a
// tool result the model answers in text. A forced tool name picks that
// tool; otherwise the first is called.
func chooseTool(n int, name func(int) string, userLast, none bool, forced string) int {
	if n == 0 || !userLast || none {
		return -1
	}
	if forced != "" {
		for i := range n {
			if name(i) == forced {
				return i
			}
		}
	}
	return 0
}

// argumentsFor makes deterministic call arguments from a JSON-schema
// "parameters" object: every top-level property, in name order, with the
// first enum value or a placeholder of its type ("example", 1, true, [],
// {}). The fixture's get_weather tool so gets
// {"city":"example","unit":"celsius"}; a tool without properties gets {}.
func argumentsFor(params json.RawMessage) string {
	var schema struct {
		Properties map[string]struct {
			Type json.RawMessage   `json:"type"`
			Enum []json.RawMessage `json:"enum"`
		} `json:"properties"`
	}
	if len(params) == 0 || json.Unmarshal(params, &schema) != nil || len(schema.Properties) == 0 {
		return "{}"
	}
	names := make([]string, 0, len(schema.Properties))
	for name := range schema.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(appendJSONString(nil, name))
		b.WriteByte(':')
		p := schema.Properties[name]
		if len(p.Enum) > 0 && json.Compact(&b, p.Enum[0]) == nil {
			continue
		}
		switch strings.ToLower(schemaType(p.Type)) { // Gemini writes STRING
		case "string":
			b.WriteString(`"example"`)
		case "integer", "number":
			b.WriteString("1")
		case "boolean":
			b.WriteString("true")
		case "array":
			b.WriteString("[]")
		case "object":
			b.WriteString("{}")
		default:
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.String()
}

// schemaType returns a schema's type, the first non-null one when "type" is
// an array.
func schemaType(raw json.RawMessage) string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		for _, t := range many {
			if t != "null" {
				return t
			}
		}
	}
	return ""
}

// splitFragments splits s into n pieces of about equal length, cut on rune
// boundaries, like the argument fragments of a tool-call stream (which
// split the JSON anywhere). It returns at least one piece and never an
// empty one.
func splitFragments(s string, n int) []string {
	n = max(1, min(n, utf8.RuneCountInString(s)))
	out := make([]string, 0, n)
	start := 0
	for i := 1; i <= n && start < len(s); i++ {
		end := len(s) * i / n
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		if end > start {
			out = append(out, s[start:end])
			start = end
		}
	}
	if len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// appendWords appends the escaped text of the first n words of the cycled
// answer.
func (e *Emulator) appendWords(b []byte, n int) []byte {
	for i := range n {
		w := e.words[i%len(e.words)]
		if i == 0 {
			w = w[1:]
		}
		b = append(b, w...)
	}
	return b
}

// appendThinking appends the escaped text of the first n words of the
// cycled reasoning text.
func (e *Emulator) appendThinking(b []byte, n int) []byte {
	for i := range n {
		w := e.thinkWords[i%len(e.thinkWords)]
		if i == 0 {
			w = w[1:]
		}
		b = append(b, w...)
	}
	return b
}

// appendCompletion renders a non-stream chat.completion body: 2-space
// pretty JSON in OpenAI's key order (id, object, created, model, choices,
// usage, service_tier, system_fingerprint), as in the fixtures.
func (e *Emulator) appendCompletion(b []byte, c *completion) []byte {
	b = append(b, "{\n  \"id\": \"chatcmpl-"...)
	b = append(b, c.id[:]...)
	b = append(b, "\",\n  \"object\": \"chat.completion\",\n  \"created\": "...)
	b = strconv.AppendInt(b, c.created, 10)
	b = append(b, ",\n  \"model\": "...)
	b = append(b, c.model...)
	b = append(b, ",\n  \"choices\": [\n    {\n      \"index\": 0,\n      \"message\": {\n        \"role\": \"assistant\",\n        \"content\": "...)
	if c.tool {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = e.appendWords(b, c.words)
		b = append(b, '"')
	}
	if c.reasoning > 0 {
		b = append(b, ",\n        \""...)
		b = append(b, c.reasoningField()...)
		b = append(b, "\": \""...)
		b = e.appendThinking(b, c.reasoning)
		b = append(b, '"')
	}
	if c.tool {
		b = append(b, ",\n        \"tool_calls\": [\n          {\n            \"id\": \"call_"...)
		b = append(b, c.callID[:]...)
		b = append(b, "\",\n            \"type\": \"function\",\n            \"function\": {\n              \"name\": "...)
		b = appendJSONString(b, c.toolName)
		b = append(b, ",\n              \"arguments\": \""...)
		for _, f := range c.fragments {
			b = appendJSONEscaped(b, f)
		}
		b = append(b, "\"\n            }\n          }\n        ]"...)
	}
	b = append(b, ",\n        \"refusal\": null,\n        \"annotations\": []\n      },\n"...)
	if !c.gpt5 {
		b = append(b, "      \"logprobs\": null,\n"...)
	}
	b = append(b, "      \"finish_reason\": \""...)
	b = append(b, c.finish...)
	b = append(b, "\"\n    }\n  ],\n  \"usage\": {\n    \"prompt_tokens\": "...)
	ct := c.completionTokens()
	b = strconv.AppendInt(b, int64(c.promptTokens), 10)
	b = append(b, ",\n    \"completion_tokens\": "...)
	b = strconv.AppendInt(b, int64(ct), 10)
	b = append(b, ",\n    \"total_tokens\": "...)
	b = strconv.AppendInt(b, int64(c.promptTokens+ct), 10)
	if c.cached == 0 && c.reasoning == 0 && c.flavour == 0 {
		// The plain answer: the usage tail is one constant.
		b = append(b, ",\n    \"prompt_tokens_details\": {\n      \"cached_tokens\": 0,\n      \"audio_tokens\": 0\n    },\n"+
			"    \"completion_tokens_details\": {\n      \"reasoning_tokens\": 0,\n      \"audio_tokens\": 0,\n"+
			"      \"accepted_prediction_tokens\": 0,\n      \"rejected_prediction_tokens\": 0\n    }\n  },\n"+
			"  \"service_tier\": \"default\",\n  \"system_fingerprint\": "...)
		b = append(b, c.fingerprint()...)
		return append(b, "\n}\n"...)
	}
	b = append(b, ",\n    \"prompt_tokens_details\": {\n      \"cached_tokens\": "...)
	b = strconv.AppendInt(b, int64(c.cached), 10)
	b = append(b, ",\n      \"audio_tokens\": 0\n    },\n"+
		"    \"completion_tokens_details\": {\n      \"reasoning_tokens\": "...)
	b = strconv.AppendInt(b, int64(c.reasoning), 10)
	b = append(b, ",\n      \"audio_tokens\": 0,\n"+
		"      \"accepted_prediction_tokens\": 0,\n      \"rejected_prediction_tokens\": 0\n    }"...)
	if c.flavour&flavourDeepSeek != 0 {
		b = append(b, ",\n    \"prompt_cache_hit_tokens\": "...)
		b = strconv.AppendInt(b, int64(c.cached), 10)
		b = append(b, ",\n    \"prompt_cache_miss_tokens\": "...)
		b = strconv.AppendInt(b, int64(c.promptTokens-c.cached), 10)
	}
	b = append(b, "\n  },\n  \"service_tier\": \"default\",\n  \"system_fingerprint\": "...)
	b = append(b, c.fingerprint()...)
	return append(b, "\n}\n"...)
}
