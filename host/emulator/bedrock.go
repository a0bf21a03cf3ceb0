package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The AWS Bedrock runtime Converse API: POST /model/{modelId}/converse and
// /model/{modelId}/converse-stream, the model id path-escaped. Requests
// are SigV4-signed (or carry a Bedrock API key as a bearer token); errors
// are {"message":…} with the exception name in x-amzn-ErrorType; the
// stream is application/vnd.amazon.eventstream.

var bedrockDialect = dialect{
	auth:   (*Emulator).bedrockAuth,
	forced: (*Emulator).bedrockForced,
	invalid: func(x *exchange, msg string) *apiError {
		return bedrockError(x, http.StatusBadRequest, "ValidationException", msg)
	},
	serve: (*Emulator).serveBedrock,
}

const ctEventStream = "application/vnd.amazon.eventstream"

// bedrockRequestID is the x-amzn-RequestId of the exchange, a UUID.
func bedrockRequestID(x *exchange) string {
	var h [32]byte
	fillHex(h[:], x.seq^0x414d5a4e)
	s := string(h[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// bedrockError renders an AWS JSON error: {"message"} and the exception
// name in X-Amzn-ErrorType.
func bedrockError(x *exchange, status int, typ, msg string) *apiError {
	return &apiError{
		status:      status,
		contentType: ctJSON,
		body: marshalJSON(struct {
			Message string `json:"message"`
		}{msg}),
		header: http.Header{"X-Amzn-Errortype": {typ}, "X-Amzn-Requestid": {bedrockRequestID(x)}},
	}
}

// parseBedrockPath splits the escaped path /model/{modelId}/{action}; the
// model id is unescaped and may not contain an unescaped '/'.
func parseBedrockPath(escaped string) (modelID, action string, ok bool) {
	rest, found := strings.CutPrefix(escaped, "/model/")
	if !found {
		return "", "", false
	}
	i := strings.IndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 || strings.IndexByte(rest[i+1:], '/') >= 0 {
		return "", "", false
	}
	id, err := url.PathUnescape(rest[:i])
	if err != nil || id == "" {
		return "", "", false
	}
	return id, rest[i+1:], true
}

// bedrockAuth accepts a valid SigV4 signature, or a Bedrock API key as a
// bearer token (Options.APIKey semantics).
func (e *Emulator) bedrockAuth(x *exchange, body []byte) *apiError {
	auth := x.r.Header.Get("Authorization")
	if auth == "" {
		return bedrockError(x, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if key, ok := strings.CutPrefix(auth, "Bearer "); ok {
		if key = strings.TrimSpace(key); key == "" || (e.opts.APIKey != "" && key != e.opts.APIKey) {
			return bedrockError(x, http.StatusForbidden, "UnrecognizedClientException", msgInvalidToken)
		}
		return nil
	}
	return e.verifySigV4(x, body, auth)
}

func (e *Emulator) bedrockForced(x *exchange, _ []byte) *apiError {
	switch status := x.sw.status; status {
	case http.StatusBadRequest:
		return bedrockError(x, status, "ValidationException", "Input is too long for requested model.")
	case http.StatusUnauthorized:
		return bedrockError(x, status, "UnrecognizedClientException", msgInvalidToken)
	case http.StatusForbidden:
		return bedrockError(x, status, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
	case http.StatusNotFound:
		return bedrockError(x, status, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.")
	case http.StatusRequestTimeout:
		return bedrockError(x, status, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again.")
	case http.StatusFailedDependency:
		return bedrockError(x, status, "ModelErrorException", "The system encountered an unexpected error during processing. Try your request again.")
	case http.StatusTooManyRequests:
		if x.sw.quota {
			return bedrockError(x, status, "ServiceQuotaExceededException", "You have exceeded the service quota for this model. Request a quota increase or try again later.")
		}
		return bedrockError(x, status, "ThrottlingException", "Too many requests, please wait before trying again.")
	case http.StatusInternalServerError:
		return bedrockError(x, status, "InternalServerException", "The system encountered an unexpected error during processing. Try your request again.")
	case http.StatusServiceUnavailable:
		return bedrockError(x, status, "ServiceUnavailableException", "Bedrock is unable to process your request.")
	}
	typ := "ValidationException"
	if x.sw.status >= 500 {
		typ = "InternalServerException"
	}
	return bedrockError(x, x.sw.status, typ, "Emulated error: HTTP "+strconv.Itoa(x.sw.status)+" "+http.StatusText(x.sw.status)+".")
}

type converseRequest struct {
	Messages []struct {
		Role    string   `json:"role"`
		Content partList `json:"content"`
	} `json:"messages"`
	System          parts `json:"system"`
	InferenceConfig *struct {
		MaxTokens     *int     `json:"maxTokens"`
		StopSequences []string `json:"stopSequences"`
	} `json:"inferenceConfig"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name        string `json:"name"`
				InputSchema struct {
					JSON json.RawMessage `json:"json"`
				} `json:"inputSchema"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice *struct {
			Tool *struct {
				Name string `json:"name"`
			} `json:"tool"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
}

// Response shapes.
type (
	converseResponse struct {
		Metrics    converseMetrics `json:"metrics"`
		Output     converseOutput  `json:"output"`
		StopReason string          `json:"stopReason"`
		Usage      converseUsage   `json:"usage"`
	}
	converseMetrics struct {
		LatencyMs int64 `json:"latencyMs"`
	}
	converseOutput struct {
		Message struct {
			Content []converseBlock `json:"content"`
			Role    string          `json:"role"`
		} `json:"message"`
	}
	converseBlock struct {
		Text    *string          `json:"text,omitempty"`
		ToolUse *converseToolUse `json:"toolUse,omitempty"`
	}
	converseToolUse struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input,omitempty"`
	}
	// converseUsage: inputTokens excludes cached tokens, totalTokens
	// includes them; the cache counts are sent only with a cache hit.
	converseUsage struct {
		InputTokens           int  `json:"inputTokens"`
		OutputTokens          int  `json:"outputTokens"`
		TotalTokens           int  `json:"totalTokens"`
		CacheReadInputTokens  *int `json:"cacheReadInputTokens,omitempty"`
		CacheWriteInputTokens *int `json:"cacheWriteInputTokens,omitempty"`
	}
)

func bedrockUsage(r *reply) converseUsage {
	out := r.outputTokens()
	u := converseUsage{InputTokens: r.promptTokens, OutputTokens: out, TotalTokens: r.promptTokens + out + r.cached}
	if r.cached > 0 {
		cached, zero := r.cached, 0
		u.CacheReadInputTokens, u.CacheWriteInputTokens = &cached, &zero
	}
	return u
}

func bedrockStopReason(r *reply) string {
	switch r.finish {
	case finishLength:
		return "max_tokens"
	case finishTool:
		return "tool_use"
	case finishStopSequence:
		return "stop_sequence"
	}
	return "end_turn"
}

func (e *Emulator) serveBedrock(x *exchange, body []byte) {
	modelID, action, ok := parseBedrockPath(x.r.URL.EscapedPath())
	if !ok || x.r.Method != http.MethodPost || (action != "converse" && action != "converse-stream") {
		x.writeError(bedrockError(x, http.StatusNotFound, "UnknownOperationException", "Unknown operation"), "")
		return
	}
	var req converseRequest
	if err := json.Unmarshal(body, &req); err != nil {
		msg := "Malformed input request, please reformat your input and try again."
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			msg = "1 validation error detected: Value at '" + typeErr.Field + "' failed to satisfy constraint: Member must be " + jsonKind(typeErr.Type.Kind().String())
		}
		x.writeError(bedrockError(x, http.StatusBadRequest, "ValidationException", msg), "")
		return
	}
	bad := func(msg string) {
		x.writeError(bedrockError(x, http.StatusBadRequest, "ValidationException", msg), "")
	}
	switch {
	case req.Messages == nil:
		bad("1 validation error detected: Value null at 'messages' failed to satisfy constraint: Member must not be null")
		return
	case len(req.Messages) == 0 || req.Messages[0].Role != "user":
		bad("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
		return
	}
	in := replyInput{promptBytes: req.System.size, preamble: true}
	if ic := req.InferenceConfig; ic != nil {
		if ic.MaxTokens != nil {
			if *ic.MaxTokens < 1 {
				bad("1 validation error detected: Value '" + strconv.Itoa(*ic.MaxTokens) + "' at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1")
				return
			}
			in.limit = *ic.MaxTokens
		}
		in.stops = ic.StopSequences
	}
	if strings.Contains(modelID, "not-ready") {
		x.writeError(bedrockError(x, http.StatusTooManyRequests, "ModelNotReadyException", "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation up to 5 times."), "")
		return
	}
	if !e.acceptsModel(modelID) {
		bad("The provided model identifier is invalid.")
		return
	}
	for _, m := range req.Messages {
		in.promptBytes += m.Content.size
	}
	last := req.Messages[len(req.Messages)-1]
	in.userLast = last.Role == "user" && !last.Content.toolResult
	if tc := req.ToolConfig; tc != nil {
		for _, t := range tc.Tools {
			if t.ToolSpec != nil {
				in.tools = append(in.tools, toolDecl{name: t.ToolSpec.Name, schema: t.ToolSpec.InputSchema.JSON})
			}
		}
		if c := tc.ToolChoice; c != nil && c.Tool != nil {
			in.forced = c.Tool.Name
		}
	}
	r := e.decide(x, in)
	toolID := base62ID("tooluse_", 22, x.seq, 0x42524b31)
	h := x.w.Header()
	h["X-Amzn-Requestid"] = []string{bedrockRequestID(x)}
	if action == "converse-stream" {
		e.bedrockStream(x, r, toolID)
		return
	}
	var resp converseResponse
	resp.Metrics.LatencyMs = time.Since(x.start).Milliseconds()
	resp.Output.Message.Role = "assistant"
	resp.Output.Message.Content = []converseBlock{}
	if len(r.text) > 0 || r.tool == nil {
		t := r.joined()
		resp.Output.Message.Content = append(resp.Output.Message.Content, converseBlock{Text: &t})
	}
	if r.tool != nil {
		resp.Output.Message.Content = append(resp.Output.Message.Content, converseBlock{ToolUse: &converseToolUse{
			ToolUseID: toolID, Name: r.tool.name, Input: json.RawMessage(r.args)}})
	}
	resp.StopReason = bedrockStopReason(r)
	resp.Usage = bedrockUsage(r)
	b := marshalJSON(&resp)
	setJSONHeaders(h, "application/json", len(b))
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}

// bedrockPad is the source of the "p" padding field of stream payloads.
const bedrockPad = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// eventMessage encodes one event-stream message.
func eventMessage(enc *eventstream.Encoder, headers eventstream.Headers, payload []byte) []byte {
	var buf bytes.Buffer
	if err := enc.Encode(&buf, eventstream.Message{Headers: headers, Payload: payload}); err != nil {
		panic("emulator: eventstream encode: " + err.Error())
	}
	return buf.Bytes()
}

// bedrockEvent encodes an event of type typ whose payload is v plus the
// padding field "p".
func bedrockEvent(enc *eventstream.Encoder, typ string, v map[string]any, k int) []byte {
	v["p"] = bedrockPad[:(k*7+5)%len(bedrockPad)]
	return eventMessage(enc, eventstream.Headers{
		{Name: ":event-type", Value: eventstream.StringValue(typ)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("event")},
	}, marshalJSON(v))
}

// bedrockStream sends the ConverseStream events: messageStart, the text
// block's deltas (text blocks have no contentBlockStart), the tool block's
// contentBlockStart and input deltas, a contentBlockStop per block,
// messageStop with the stop reason and metadata with usage and metrics.
// With fail-after, an internalServerException (throttlingException with
// the quota switch) exception message replaces the cut event.
func (e *Emulator) bedrockStream(x *exchange, r *reply, toolID string) {
	enc := eventstream.NewEncoder()
	exType := "internalServerException"
	exMsg := "The system encountered an unexpected error during processing. Try your request again."
	if x.sw.quota {
		exType, exMsg = "throttlingException", "Too many requests, please wait before trying again."
	}
	s := eventStream{e: e, x: x, failure: fixed(eventMessage(enc, eventstream.Headers{
		{Name: ":exception-type", Value: eventstream.StringValue(exType)},
		{Name: ":content-type", Value: eventstream.StringValue("application/json")},
		{Name: ":message-type", Value: eventstream.StringValue("exception")},
	}, marshalJSON(struct {
		Message string `json:"message"`
	}{exMsg})))}
	setJSONHeaders(x.w.Header(), ctEventStream, -1)
	s.start(http.StatusOK)
	send := func(typ string, v map[string]any, final bool) bool {
		return s.send(bedrockEvent(enc, typ, v, s.sent), final)
	}
	if !send("messageStart", map[string]any{"role": "assistant"}, false) {
		return
	}
	index := 0
	if len(r.text) > 0 {
		for _, p := range r.text {
			if !send("contentBlockDelta", map[string]any{"contentBlockIndex": index, "delta": map[string]any{"text": p}}, false) {
				return
			}
		}
		if !send("contentBlockStop", map[string]any{"contentBlockIndex": index}, false) {
			return
		}
		index++
	}
	if r.tool != nil {
		if !send("contentBlockStart", map[string]any{"contentBlockIndex": index,
			"start": map[string]any{"toolUse": map[string]any{"toolUseId": toolID, "name": r.tool.name}}}, false) {
			return
		}
		for _, f := range r.fragments {
			if !send("contentBlockDelta", map[string]any{"contentBlockIndex": index, "delta": map[string]any{"toolUse": map[string]any{"input": f}}}, false) {
				return
			}
		}
		if !send("contentBlockStop", map[string]any{"contentBlockIndex": index}, false) {
			return
		}
	}
	if !send("messageStop", map[string]any{"stopReason": bedrockStopReason(r)}, true) {
		return
	}
	send("metadata", map[string]any{"usage": bedrockUsage(r), "metrics": converseMetrics{LatencyMs: time.Since(x.start).Milliseconds()}}, false)
}
