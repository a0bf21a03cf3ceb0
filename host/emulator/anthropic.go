package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Anthropic Messages API: POST /v1/messages, as in the fixtures of
// shared/fixtures/anthropic. Compact JSON bodies, SSE streams with event:
// lines, errors as {"type":"error","error":{"type","message"},"request_id"}.

var anthropicDialect = dialect{
	auth:   (*Emulator).anthropicAuth,
	forced: (*Emulator).anthropicForced,
	invalid: func(x *exchange, msg string) *apiError {
		return anthropicError(x, http.StatusBadRequest, "invalid_request_error", msg)
	},
	serve: (*Emulator).serveAnthropic,
}

// anthropicOrg is the anthropic-organization-id of every response.
const anthropicOrg = "00000000-0000-0000-0000-000000000000"

// anthropicRequestID is the request-id of the exchange, req_011C….
func anthropicRequestID(x *exchange) string {
	return base62ID("req_011C", 20, x.seq, 0x52455155)
}

// anthropicError renders an Anthropic error with its request-id and
// x-should-retry headers.
func anthropicError(x *exchange, status int, typ, message string) *apiError {
	id := anthropicRequestID(x)
	var body struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	body.Type = "error"
	body.Error.Type = typ
	body.Error.Message = message
	body.RequestID = id
	retry := "false"
	if status == http.StatusRequestTimeout || status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500 {
		retry = "true"
	}
	return &apiError{
		status:      status,
		contentType: ctJSON,
		body:        marshalJSON(body),
		header:      http.Header{"Request-Id": {id}, "X-Should-Retry": {retry}},
	}
}

// The messages of the error fixtures.
const (
	anthropicMsgMaxTokens  = "max_tokens: Field required"
	anthropicMsgInvalidKey = "invalid x-api-key"
	anthropicMsgPermission = "Your API key does not have permission to use the specified resource."
	anthropicMsgRateLimit  = "This request would exceed the rate limit for your organization (" + anthropicOrg + ") of 30,000 input tokens per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase."
	anthropicMsgUsageLimit = "You have reached your specified API usage limits. You will regain access on 2030-01-01 at 00:00 UTC."
	anthropicMsgInternal   = "Internal server error"
	anthropicMsgOverloaded = "Overloaded"
)

// anthropicAuth checks x-api-key (Options.APIKey semantics) and the
// required anthropic-version header.
func (e *Emulator) anthropicAuth(x *exchange, _ []byte) *apiError {
	v := x.r.Header["X-Api-Key"]
	if len(v) == 0 || strings.TrimSpace(v[0]) == "" {
		return anthropicError(x, http.StatusUnauthorized, "authentication_error", "x-api-key header is required")
	}
	if e.opts.APIKey != "" && strings.TrimSpace(v[0]) != e.opts.APIKey {
		return anthropicError(x, http.StatusUnauthorized, "authentication_error", anthropicMsgInvalidKey)
	}
	if v := x.r.Header["Anthropic-Version"]; len(v) == 0 || v[0] == "" {
		return anthropicError(x, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required")
	}
	return nil
}

// anthropicForced renders a forced status with the body Anthropic sends
// for it (the fixture's where there is one).
func (e *Emulator) anthropicForced(x *exchange, body []byte) *apiError {
	status := x.sw.status
	switch status {
	case http.StatusBadRequest:
		return anthropicError(x, status, "invalid_request_error", "prompt is too long: 212345 tokens > 200000 maximum")
	case http.StatusUnauthorized:
		return anthropicError(x, status, "authentication_error", anthropicMsgInvalidKey)
	case http.StatusPaymentRequired:
		return anthropicError(x, status, "billing_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.")
	case http.StatusForbidden:
		return anthropicError(x, status, "permission_error", anthropicMsgPermission)
	case http.StatusNotFound:
		model := modelOf(body)
		if model == "" {
			model = "unknown"
		}
		return anthropicError(x, status, "not_found_error", "model: "+model)
	case http.StatusRequestEntityTooLarge:
		return anthropicError(x, status, "request_too_large", "Request exceeds the maximum allowed number of bytes.")
	case http.StatusTooManyRequests:
		if x.sw.quota {
			return anthropicError(x, status, "rate_limit_error", anthropicMsgUsageLimit)
		}
		return anthropicError(x, status, "rate_limit_error", anthropicMsgRateLimit)
	case http.StatusInternalServerError:
		return anthropicError(x, status, "api_error", anthropicMsgInternal)
	case http.StatusGatewayTimeout:
		return anthropicError(x, status, "timeout_error", "Request timed out")
	case 529:
		return anthropicError(x, status, "overloaded_error", anthropicMsgOverloaded)
	}
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "api_error"
	}
	return anthropicError(x, status, typ, "Emulated error: HTTP "+strconv.Itoa(status)+" "+http.StatusText(status)+".")
}

type anthropicRequest struct {
	Model      string          `json:"model"`
	MaxTokens  *int            `json:"max_tokens"`
	Messages   []anthropicTurn `json:"messages"`
	System     parts           `json:"system"`
	Tools      []anthropicTool `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	StopSequences []string `json:"stop_sequences"`
	Stream        bool     `json:"stream"`
	Thinking      *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`
}

type anthropicTurn struct {
	Role    string `json:"role"`
	Content parts  `json:"content"`
}

type anthropicTool struct {
	Name        string          `json:"name"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// Response shapes, fields in the wire's order.
type (
	anthropicMessage struct {
		ID           string           `json:"id"`
		Type         string           `json:"type"`
		Role         string           `json:"role"`
		Model        string           `json:"model"`
		Content      []anthropicBlock `json:"content"`
		StopReason   *string          `json:"stop_reason"`
		StopSequence *string          `json:"stop_sequence"`
		Usage        anthropicUsage   `json:"usage"`
	}
	anthropicBlock struct {
		Type      string          `json:"type"`
		Text      *string         `json:"text,omitempty"`
		Thinking  *string         `json:"thinking,omitempty"`
		Signature *string         `json:"signature,omitempty"`
		ID        string          `json:"id,omitempty"`
		Name      string          `json:"name,omitempty"`
		Input     json.RawMessage `json:"input,omitempty"`
		Caller    *anthropicType  `json:"caller,omitempty"`
	}
	anthropicType struct {
		Type string `json:"type"`
	}
	anthropicUsage struct {
		InputTokens              int                     `json:"input_tokens"`
		CacheCreationInputTokens int                     `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int                     `json:"cache_read_input_tokens"`
		CacheCreation            *anthropicCacheCreation `json:"cache_creation,omitempty"`
		OutputTokens             int                     `json:"output_tokens"`
		ServiceTier              string                  `json:"service_tier,omitempty"`
	}
	anthropicCacheCreation struct {
		Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
		Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
	}
)

// anthropicDecodeError maps a decode failure to Anthropic's 400 wording.
func anthropicDecodeError(x *exchange, err error) *apiError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return anthropicError(x, http.StatusBadRequest, "invalid_request_error", typeErr.Field+": Input should be "+jsonKind(typeErr.Type.Kind().String()))
	}
	if errors.Is(err, errContentType) {
		return anthropicError(x, http.StatusBadRequest, "invalid_request_error", "messages: Input should be a valid list")
	}
	return anthropicError(x, http.StatusBadRequest, "invalid_request_error", "There was an error parsing the body of your request. Please ensure it is valid JSON.")
}

// serveAnthropic answers POST /v1/messages.
func (e *Emulator) serveAnthropic(x *exchange, body []byte) {
	var req anthropicRequest
	if err := json.Unmarshal(body, &req); err != nil {
		x.writeError(anthropicDecodeError(x, err), "")
		return
	}
	bad := func(msg string) {
		x.writeError(anthropicError(x, http.StatusBadRequest, "invalid_request_error", msg), "")
	}
	switch {
	case req.Model == "":
		bad("model: Field required")
		return
	case req.Messages == nil:
		bad("messages: Field required")
		return
	case req.MaxTokens == nil:
		bad(anthropicMsgMaxTokens)
		return
	case *req.MaxTokens < 1:
		bad("max_tokens: Input should be greater than or equal to 1")
		return
	case len(req.Messages) == 0:
		bad("messages: at least one message is required")
		return
	}
	think := false
	if t := req.Thinking; t != nil && (t.Type == "enabled" || t.Type == "adaptive") {
		if t.Type == "enabled" {
			if t.BudgetTokens < 1024 {
				bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
				return
			}
			if t.BudgetTokens >= *req.MaxTokens {
				bad("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
				return
			}
		}
		think = true
	}
	if !e.acceptsModel(req.Model) {
		x.writeError(anthropicError(x, http.StatusNotFound, "not_found_error", "model: "+req.Model), "")
		return
	}

	in := replyInput{
		promptBytes: req.System.size,
		limit:       *req.MaxTokens,
		stops:       req.StopSequences,
		think:       think,
		preamble:    true,
	}
	for _, m := range req.Messages {
		in.promptBytes += m.Content.size
	}
	last := req.Messages[len(req.Messages)-1]
	in.userLast = last.Role == "user" && !last.Content.toolResult
	for _, t := range req.Tools {
		in.tools = append(in.tools, toolDecl{name: t.Name, schema: t.InputSchema})
	}
	if c := req.ToolChoice; c != nil {
		in.noTools = c.Type == "none"
		if c.Type == "tool" {
			in.forced = c.Name
		}
	}
	r := e.decide(x, in)
	a := anthropicAnswer{e: e, x: x, r: r, model: req.Model,
		id:        base62ID("msg_01", 22, x.seq, 0x4d534731),
		toolID:    base62ID("toolu_01", 22, x.seq, 0x544f4f4c),
		signature: base62ID("EqoBCkgIBxABGAIiQ", 88, x.seq, 0x5349474e) + "==",
	}
	if req.Stream {
		a.stream()
		return
	}
	b := marshalJSON(a.message())
	a.setHeaders("application/json", len(b))
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}

// anthropicAnswer renders one reply as a message or a stream.
type anthropicAnswer struct {
	e                     *Emulator
	x                     *exchange
	r                     *reply
	model                 string
	id, toolID, signature string
}

func (a *anthropicAnswer) stopReason() string {
	switch a.r.finish {
	case finishLength:
		return "max_tokens"
	case finishTool:
		return "tool_use"
	case finishStopSequence:
		return "stop_sequence"
	}
	return "end_turn"
}

func (a *anthropicAnswer) stopSequence() *string {
	if a.r.finish == finishStopSequence {
		return &a.r.stopSeq
	}
	return nil
}

func (a *anthropicAnswer) usage(output int) anthropicUsage {
	return anthropicUsage{
		InputTokens:          a.r.promptTokens,
		CacheReadInputTokens: a.r.cached,
		CacheCreation:        &anthropicCacheCreation{},
		OutputTokens:         output,
		ServiceTier:          "standard",
	}
}

// hasText reports whether the answer has a text block: always for a text
// answer, for a tool call only with a preamble.
func (a *anthropicAnswer) hasText() bool {
	return a.r.tool == nil || len(a.r.text) > 0
}

func (a *anthropicAnswer) message() *anthropicMessage {
	m := &anthropicMessage{
		ID: a.id, Type: "message", Role: "assistant", Model: a.model,
		Content:      []anthropicBlock{},
		StopSequence: a.stopSequence(),
		Usage:        a.usage(a.r.outputTokens()),
	}
	reason := a.stopReason()
	m.StopReason = &reason
	if len(a.r.thinking) > 0 {
		t := strings.Join(a.r.thinking, "")
		m.Content = append(m.Content, anthropicBlock{Type: "thinking", Thinking: &t, Signature: &a.signature})
	}
	if a.hasText() {
		t := a.r.joined()
		m.Content = append(m.Content, anthropicBlock{Type: "text", Text: &t})
	}
	if a.r.tool != nil {
		m.Content = append(m.Content, anthropicBlock{Type: "tool_use", ID: a.toolID, Name: a.r.tool.name,
			Input: json.RawMessage(a.r.args), Caller: &anthropicType{Type: "direct"}})
	}
	return m
}

// setHeaders sets a success's headers: request-id, organization and the
// rate-limit headers.
func (a *anthropicAnswer) setHeaders(ct string, n int) {
	h := a.x.w.Header()
	setJSONHeaders(h, ct, n)
	h["Request-Id"] = []string{anthropicRequestID(a.x)}
	h["Anthropic-Organization-Id"] = []string{anthropicOrg}
	reset := a.x.start.UTC().Add(time.Minute).Format(time.RFC3339)
	for _, l := range [...]struct{ name, limit, remaining string }{
		{"requests", "50", "49"}, {"input-tokens", "30000", "29000"}, {"output-tokens", "8000", "8000"}, {"tokens", "38000", "37000"},
	} {
		prefix := "anthropic-ratelimit-" + l.name
		h.Set(prefix+"-limit", l.limit)
		h.Set(prefix+"-remaining", l.remaining)
		h.Set(prefix+"-reset", reset)
	}
}

// sseEvent frames one Anthropic event.
func sseEvent(name string, data []byte) []byte {
	b := make([]byte, 0, len(name)+len(data)+16)
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// deltaEvent renders a content_block_delta whose delta has type typ and
// the string field key.
func deltaEvent(index int, typ, key, value string) []byte {
	b := []byte(`{"type":"content_block_delta","index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	b = append(b, `,"delta":{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = appendJSONString(b, value)
	b = append(b, "}}"...)
	return sseEvent("content_block_delta", b)
}

func blockEvent(name string, index int, block *anthropicBlock) []byte {
	b := []byte(`{"type":"` + name + `","index":`)
	b = strconv.AppendInt(b, int64(index), 10)
	if block != nil {
		b = append(b, `,"content_block":`...)
		b = append(b, marshalJSON(block)...)
	}
	b = append(b, '}')
	return sseEvent(name, b)
}

// stream sends the answer event for event as in
// messages-stream-text.response.sse and messages-stream-tool-use.response.sse:
// message_start, then per block content_block_start (a ping after the
// first), deltas and content_block_stop, then message_delta with the stop
// reason and the cumulative usage, and message_stop. With fail-after, the
// in-stream overloaded_error of messages-stream-error.response.sse takes
// the place of the cut event and ends the body.
func (a *anthropicAnswer) stream() {
	x := a.x
	var errBody struct {
		Type  string `json:"type"`
		Error struct {
			Details *struct{} `json:"details"`
			Type    string    `json:"type"`
			Message string    `json:"message"`
		} `json:"error"`
		RequestID string `json:"request_id"`
	}
	errBody.Type = "error"
	errBody.Error.Type = "overloaded_error"
	errBody.Error.Message = anthropicMsgOverloaded
	errBody.RequestID = anthropicRequestID(x)
	s := eventStream{e: a.e, x: x, failure: fixed(sseEvent("error", marshalJSON(errBody)))}
	a.setHeaders("text/event-stream; charset=utf-8", -1)
	x.w.Header()["Cache-Control"] = []string{"no-cache"}
	s.start(http.StatusOK)

	start := a.message()
	start.Content = []anthropicBlock{}
	start.StopReason, start.StopSequence = nil, nil
	start.Usage.OutputTokens = 1
	if !s.send(sseEvent("message_start", marshalJSON(struct {
		Type    string            `json:"type"`
		Message *anthropicMessage `json:"message"`
	}{"message_start", start})), false) {
		return
	}
	index := 0
	pinged := false
	open := func(block anthropicBlock) bool {
		if !s.send(blockEvent("content_block_start", index, &block), false) {
			return false
		}
		if !pinged {
			pinged = true
			return s.send(sseEvent("ping", []byte(`{"type": "ping"}`)), false)
		}
		return true
	}
	closeBlock := func() bool {
		ok := s.send(blockEvent("content_block_stop", index, nil), false)
		index++
		return ok
	}
	empty := ""
	if len(a.r.thinking) > 0 {
		if !open(anthropicBlock{Type: "thinking", Thinking: &empty, Signature: &empty}) {
			return
		}
		for _, p := range a.r.thinking {
			if !s.send(deltaEvent(index, "thinking_delta", "thinking", p), false) {
				return
			}
		}
		if !s.send(deltaEvent(index, "signature_delta", "signature", a.signature), false) || !closeBlock() {
			return
		}
	}
	if a.hasText() {
		if !open(anthropicBlock{Type: "text", Text: &empty}) {
			return
		}
		for _, p := range a.r.text {
			if !s.send(deltaEvent(index, "text_delta", "text", p), false) {
				return
			}
		}
		if !closeBlock() {
			return
		}
	}
	if a.r.tool != nil {
		if !open(anthropicBlock{Type: "tool_use", ID: a.toolID, Name: a.r.tool.name, Input: json.RawMessage("{}"), Caller: &anthropicType{Type: "direct"}}) {
			return
		}
		// The first input_json_delta is empty, as on the wire.
		for _, f := range append([]string{""}, a.r.fragments...) {
			if !s.send(deltaEvent(index, "input_json_delta", "partial_json", f), false) {
				return
			}
		}
		if !closeBlock() {
			return
		}
	}
	var delta struct {
		Type  string `json:"type"`
		Delta struct {
			StopReason   string  `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
		Usage anthropicUsage `json:"usage"`
	}
	delta.Type = "message_delta"
	delta.Delta.StopReason = a.stopReason()
	delta.Delta.StopSequence = a.stopSequence()
	delta.Usage = anthropicUsage{InputTokens: a.r.promptTokens, CacheReadInputTokens: a.r.cached, OutputTokens: a.r.outputTokens()}
	if !s.send(sseEvent("message_delta", marshalJSON(delta)), true) {
		return
	}
	s.send(sseEvent("message_stop", []byte(`{"type":"message_stop"}`)), false)
}
