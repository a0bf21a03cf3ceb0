package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The Gemini API (Generative Language v1beta), as in the fixtures of
// shared/fixtures/gemini: POST /v1beta/models/{model}:{method} with
// generateContent, streamGenerateContent (?alt=sse: data-only SSE with
// CRLF separators and no terminator; without alt=sse: a JSON array),
// countTokens, embedContent, batchEmbedContents and predict (Imagen).
// Non-stream bodies are 2-space pretty JSON; errors are google.rpc.Status
// objects {"error":{"code","message","status","details"?}}.

var geminiDialect = dialect{
	auth:    (*Emulator).geminiAuth,
	forced:  (*Emulator).geminiForced,
	invalid: func(x *exchange, msg string) *apiError { return geminiError(http.StatusBadRequest, msg) },
	serve:   (*Emulator).serveGemini,
}

const (
	ctGemini         = "application/json; charset=UTF-8"
	geminiPathPrefix = "/v1beta/models/"
)

// parseGeminiPath splits /v1beta/models/{model}:{method}. The model may
// contain neither '/' nor ':'; both parts must be non-empty.
func parseGeminiPath(path string) (model, method string, ok bool) {
	rest, found := strings.CutPrefix(path, geminiPathPrefix)
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	model, method = rest[:i], rest[i+1:]
	if strings.ContainsAny(model, "/:") || strings.ContainsAny(method, "/:") {
		return "", "", false
	}
	return model, method, true
}

// googleStatus is the google.rpc.Code name of an HTTP status.
func googleStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case 499:
		return "CANCELLED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	if status >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}

// googleErrorBody is a google.rpc.Status error body.
type googleErrorBody struct {
	Error googleErrorStatus `json:"error"`
}

type googleErrorStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []any  `json:"details,omitempty"`
}

// The google.rpc detail messages the fixtures show.
type (
	googleErrorInfo struct {
		Type     string            `json:"@type"`
		Reason   string            `json:"reason"`
		Domain   string            `json:"domain"`
		Metadata map[string]string `json:"metadata"`
	}
	googleLocalizedMessage struct {
		Type    string `json:"@type"`
		Locale  string `json:"locale"`
		Message string `json:"message"`
	}
	googleQuotaFailure struct {
		Type       string                 `json:"@type"`
		Violations []googleQuotaViolation `json:"violations"`
	}
	googleQuotaViolation struct {
		QuotaMetric     string            `json:"quotaMetric"`
		QuotaID         string            `json:"quotaId"`
		QuotaDimensions map[string]string `json:"quotaDimensions"`
		QuotaValue      string            `json:"quotaValue"`
	}
	googleHelp struct {
		Type  string       `json:"@type"`
		Links []googleLink `json:"links"`
	}
	googleLink struct {
		Description string `json:"description"`
		URL         string `json:"url"`
	}
	googleRetryInfo struct {
		Type       string `json:"@type"`
		RetryDelay string `json:"retryDelay"`
	}
	googleBadRequest struct {
		Type            string                 `json:"@type"`
		FieldViolations []googleFieldViolation `json:"fieldViolations"`
	}
	googleFieldViolation struct {
		Field       string `json:"field"`
		Description string `json:"description"`
	}
)

// geminiError renders a Google error: status name from the HTTP status,
// 2-space pretty JSON.
func geminiError(status int, message string, details ...any) *apiError {
	var body googleErrorBody
	body.Error = googleErrorStatus{Code: status, Message: message, Status: googleStatus(status), Details: details}
	return &apiError{
		status:      status,
		contentType: []string{ctGemini},
		body:        append(prettyJSON(body), '\n'),
		header:      http.Header{"Vary": {"Origin", "X-Origin", "Referer"}},
	}
}

const (
	geminiMsgBadKey      = "API key not valid. Please pass a valid API key."
	geminiMsgUnavailable = "The model is overloaded. Please try again later."
	geminiMsgInternal    = "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
)

// geminiBadKey is error-400-api-key-invalid.response.json.
func geminiBadKey() *apiError {
	return geminiError(http.StatusBadRequest, geminiMsgBadKey,
		googleErrorInfo{Type: "type.googleapis.com/google.rpc.ErrorInfo", Reason: "API_KEY_INVALID", Domain: "googleapis.com",
			Metadata: map[string]string{"service": "generativelanguage.googleapis.com"}},
		googleLocalizedMessage{Type: "type.googleapis.com/google.rpc.LocalizedMessage", Locale: "en-US", Message: geminiMsgBadKey})
}

// geminiNotFound is error-404-model-not-found.response.json for model.
func geminiNotFound(model, method string) *apiError {
	return geminiError(http.StatusNotFound, "models/"+model+" is not found for API version v1beta, or is not supported for "+method+". Call ListModels to see the list of available models and their supported methods.")
}

// geminiExhausted is error-429-resource-exhausted.response.json, its
// retry delay delay seconds (the fixture's when empty); quota makes it a
// per-day quota instead of a per-minute one.
func geminiExhausted(model, delay string, quota bool) *apiError {
	retryIn := "36.429760048s"
	if delay != "" {
		retryIn = delay + "s"
	} else {
		delay = "36"
	}
	metric, id := "generativelanguage.googleapis.com/generate_content_free_tier_requests", "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"
	if quota {
		id = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
	}
	return geminiError(http.StatusTooManyRequests,
		"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: https://ai.dev/rate-limit. \n* Quota exceeded for metric: "+metric+", limit: 10, model: "+model+"\nPlease retry in "+retryIn+".",
		googleQuotaFailure{Type: "type.googleapis.com/google.rpc.QuotaFailure", Violations: []googleQuotaViolation{{
			QuotaMetric: metric, QuotaID: id, QuotaDimensions: map[string]string{"location": "global", "model": model}, QuotaValue: "10"}}},
		googleHelp{Type: "type.googleapis.com/google.rpc.Help", Links: []googleLink{{Description: "Learn more about Gemini API quotas", URL: "https://ai.google.dev/gemini-api/docs/rate-limits"}}},
		googleRetryInfo{Type: "type.googleapis.com/google.rpc.RetryInfo", RetryDelay: delay + "s"})
}

// geminiAuth accepts the key of x-goog-api-key or ?key= (Options.APIKey
// semantics). No key at all is Google's 403 for unregistered callers; a
// wrong one is the 400 API_KEY_INVALID of the fixture.
func (e *Emulator) geminiAuth(x *exchange, _ []byte) *apiError {
	key := ""
	if v := x.r.Header["X-Goog-Api-Key"]; len(v) > 0 {
		key = strings.TrimSpace(v[0])
	} else if x.r.URL.RawQuery != "" {
		key = x.r.URL.Query().Get("key")
	}
	if key == "" {
		return geminiError(http.StatusForbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
	}
	if e.opts.APIKey != "" && key != e.opts.APIKey {
		return geminiBadKey()
	}
	return nil
}

// geminiForced renders a forced status (the fixtures' bodies for 400 key,
// 404, 429, 500 and 503).
func (e *Emulator) geminiForced(x *exchange, _ []byte) *apiError {
	model, method, ok := parseGeminiPath(x.r.URL.Path)
	if !ok {
		model, method = "unknown", "generateContent"
	}
	switch status := x.sw.status; status {
	case http.StatusBadRequest:
		return geminiError(status, "The input token count (1234567) exceeds the maximum number of tokens allowed (1048576).")
	case http.StatusUnauthorized:
		return geminiError(status, "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.")
	case http.StatusForbidden:
		return geminiError(status, "The caller does not have permission")
	case http.StatusNotFound:
		return geminiNotFound(model, method)
	case http.StatusTooManyRequests:
		return geminiExhausted(model, x.sw.retryAfter, x.sw.quota)
	case http.StatusInternalServerError:
		return geminiError(status, geminiMsgInternal)
	case http.StatusServiceUnavailable:
		return geminiError(status, geminiMsgUnavailable)
	case http.StatusGatewayTimeout:
		return geminiError(status, "Deadline expired before operation could complete.")
	default:
		return geminiError(status, "Emulated error: HTTP "+strconv.Itoa(status)+" "+http.StatusText(status)+".")
	}
}

// serveGemini dispatches on the method of the model path.
func (e *Emulator) serveGemini(x *exchange, body []byte) {
	model, method, ok := parseGeminiPath(x.r.URL.Path)
	if !ok || x.r.Method != http.MethodPost {
		x.writeError(geminiError(http.StatusNotFound, "Method not found."), "")
		return
	}
	switch method {
	case "generateContent":
		e.geminiGenerate(x, model, method, body, false)
	case "streamGenerateContent":
		e.geminiGenerate(x, model, method, body, true)
	case "countTokens":
		e.geminiCountTokens(x, model, method, body)
	case "embedContent", "batchEmbedContents":
		e.geminiEmbed(x, model, method, body)
	case "predict":
		e.geminiPredict(x, model, method, body)
	default:
		x.writeError(geminiError(http.StatusNotFound, "Method not found."), "")
	}
}

// geminiDecode decodes body into v, mapping failures to Google's 400.
func geminiDecode(x *exchange, body []byte, v any) bool {
	err := json.Unmarshal(body, v)
	if err == nil {
		return true
	}
	msg := "Invalid JSON payload received. Unexpected token."
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		msg = "Invalid JSON payload received. Invalid value at '" + typeErr.Field + "' (" + typeErr.Value + ")."
	} else if errors.Is(err, errContentType) {
		msg = "Invalid JSON payload received. Invalid value at 'parts': expected a list."
	}
	x.writeError(geminiError(http.StatusBadRequest, msg), "")
	return false
}

type geminiContent struct {
	Role  string   `json:"role"`
	Parts partList `json:"parts"`
}

type geminiFunction struct {
	Name                      string          `json:"name"`
	Parameters                json.RawMessage `json:"parameters"`
	ParametersJSONSchema      json.RawMessage `json:"parametersJsonSchema"`
	ParametersJSONSchemaSnake json.RawMessage `json:"parameters_json_schema"`
}

type geminiCallingConfig struct {
	Mode                      string   `json:"mode"`
	AllowedFunctionNames      []string `json:"allowedFunctionNames"`
	AllowedFunctionNamesSnake []string `json:"allowed_function_names"`
}

type geminiThinkingConfig struct {
	ThinkingBudget       *int  `json:"thinkingBudget"`
	ThinkingBudgetSnake  *int  `json:"thinking_budget"`
	IncludeThoughts      *bool `json:"includeThoughts"`
	IncludeThoughtsSnake *bool `json:"include_thoughts"`
}

type geminiGenerationConfig struct {
	MaxOutputTokens      *int                  `json:"maxOutputTokens"`
	MaxOutputTokensSnake *int                  `json:"max_output_tokens"`
	StopSequences        []string              `json:"stopSequences"`
	StopSequencesSnake   []string              `json:"stop_sequences"`
	ThinkingConfig       *geminiThinkingConfig `json:"thinkingConfig"`
	ThinkingConfigSnake  *geminiThinkingConfig `json:"thinking_config"`
}

// geminiRequest holds what the emulator reads of a GenerateContentRequest,
// in both spellings proto3 JSON accepts.
type geminiRequest struct {
	Contents               []geminiContent `json:"contents"`
	SystemInstruction      *geminiContent  `json:"systemInstruction"`
	SystemInstructionSnake *geminiContent  `json:"system_instruction"`
	Tools                  []struct {
		FunctionDeclarations      []geminiFunction `json:"functionDeclarations"`
		FunctionDeclarationsSnake []geminiFunction `json:"function_declarations"`
	} `json:"tools"`
	ToolConfig *struct {
		FunctionCallingConfig      *geminiCallingConfig `json:"functionCallingConfig"`
		FunctionCallingConfigSnake *geminiCallingConfig `json:"function_calling_config"`
	} `json:"toolConfig"`
	ToolConfigSnake *struct {
		FunctionCallingConfig      *geminiCallingConfig `json:"functionCallingConfig"`
		FunctionCallingConfigSnake *geminiCallingConfig `json:"function_calling_config"`
	} `json:"tool_config"`
	GenerationConfig      *geminiGenerationConfig `json:"generationConfig"`
	GenerationConfigSnake *geminiGenerationConfig `json:"generation_config"`
}

// either returns a unless it is the zero value, else b.
func either[T comparable](a, b T) T {
	var zero T
	if a != zero {
		return a
	}
	return b
}

func eitherSlice[T any](a, b []T) []T {
	if a != nil {
		return a
	}
	return b
}

// geminiThinks reports whether model thinks (thoughtsTokenCount in its
// usage): the 2.5 and 3 families and any "thinking" model.
func geminiThinks(model string) bool {
	return strings.Contains(model, "thinking") || strings.Contains(model, "2.5") || strings.HasPrefix(model, "gemini-3")
}

// geminiUnknownSchemaKeys are the JSON Schema keywords Gemini's OpenAPI
// subset "parameters" rejects.
var geminiUnknownSchemaKeys = []string{"$schema", "additionalProperties", "const", "patternProperties", "propertyNames", "unevaluatedProperties"}

// unknownSchemaKey returns the first keyword of schema (walking
// properties, items and the combinators) Gemini rejects, or "".
func unknownSchemaKey(schema any) string {
	m, ok := schema.(map[string]any)
	if !ok {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(geminiUnknownSchemaKeys, k) {
			return k
		}
	}
	for _, k := range keys {
		switch k {
		case "properties":
			if props, ok := m[k].(map[string]any); ok {
				names := make([]string, 0, len(props))
				for n := range props {
					names = append(names, n)
				}
				slices.Sort(names)
				for _, n := range names {
					if u := unknownSchemaKey(props[n]); u != "" {
						return u
					}
				}
			}
		case "items":
			if u := unknownSchemaKey(m[k]); u != "" {
				return u
			}
		case "anyOf", "oneOf", "allOf":
			if list, ok := m[k].([]any); ok {
				for _, s := range list {
					if u := unknownSchemaKey(s); u != "" {
						return u
					}
				}
			}
		}
	}
	return ""
}

// Response shapes, fields in the wire's order.
type (
	geminiResponse struct {
		Candidates     []geminiCandidate `json:"candidates,omitempty"`
		PromptFeedback *struct {
			BlockReason string `json:"blockReason"`
		} `json:"promptFeedback,omitempty"`
		UsageMetadata geminiUsage `json:"usageMetadata"`
		ModelVersion  string      `json:"modelVersion"`
		ResponseID    string      `json:"responseId"`
	}
	geminiCandidate struct {
		Content       geminiOutContent `json:"content"`
		FinishReason  string           `json:"finishReason,omitempty"`
		Index         int              `json:"index"`
		FinishMessage string           `json:"finishMessage,omitempty"`
	}
	geminiOutContent struct {
		Parts []geminiPart `json:"parts"`
		Role  string       `json:"role"`
	}
	geminiPart struct {
		Text             *string             `json:"text,omitempty"`
		Thought          bool                `json:"thought,omitempty"`
		FunctionCall     *geminiFunctionCall `json:"functionCall,omitempty"`
		ThoughtSignature string              `json:"thoughtSignature,omitempty"`
	}
	geminiFunctionCall struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	}
	geminiUsage struct {
		PromptTokenCount        int              `json:"promptTokenCount,omitempty"`
		CandidatesTokenCount    int              `json:"candidatesTokenCount,omitempty"`
		TotalTokenCount         int              `json:"totalTokenCount,omitempty"`
		CachedContentTokenCount int              `json:"cachedContentTokenCount,omitempty"`
		PromptTokensDetails     []geminiModality `json:"promptTokensDetails,omitempty"`
		CacheTokensDetails      []geminiModality `json:"cacheTokensDetails,omitempty"`
		ThoughtsTokenCount      int              `json:"thoughtsTokenCount,omitempty"`
	}
	geminiModality struct {
		Modality   string `json:"modality"`
		TokenCount int    `json:"tokenCount"`
	}
)

// geminiAnswer renders one reply.
type geminiAnswer struct {
	r          *reply
	model      string
	responseID string
	signature  string // thoughtSignature of a thinking model's call
	thoughts   bool   // includeThoughts: thought parts are sent
	thoughtN   int    // thoughtsTokenCount
	blocked    bool
}

// usage is the usageMetadata after candidates answer tokens; zero counts
// are left out.
func (g *geminiAnswer) usage(candidates int) geminiUsage {
	prompt := g.r.promptTokens + g.r.cached
	u := geminiUsage{
		PromptTokenCount:        prompt,
		CandidatesTokenCount:    candidates,
		TotalTokenCount:         prompt + candidates + g.thoughtN,
		CachedContentTokenCount: g.r.cached,
		PromptTokensDetails:     []geminiModality{{"TEXT", prompt}},
		ThoughtsTokenCount:      g.thoughtN,
	}
	if g.r.cached > 0 {
		u.CacheTokensDetails = []geminiModality{{"TEXT", g.r.cached}}
	}
	return u
}

func (g *geminiAnswer) response(parts []geminiPart, finish string, candidates int) *geminiResponse {
	resp := &geminiResponse{UsageMetadata: g.usage(candidates), ModelVersion: g.model, ResponseID: g.responseID}
	if g.blocked {
		resp.PromptFeedback = &struct {
			BlockReason string `json:"blockReason"`
		}{"PROHIBITED_CONTENT"}
		u := &resp.UsageMetadata
		u.CandidatesTokenCount, u.ThoughtsTokenCount, u.TotalTokenCount = 0, 0, u.PromptTokenCount
		return resp
	}
	c := geminiCandidate{Content: geminiOutContent{Parts: parts, Role: "model"}, FinishReason: finish}
	if finish != "" && g.r.tool != nil {
		c.FinishMessage = "Model generated function call(s)."
	}
	resp.Candidates = []geminiCandidate{c}
	return resp
}

func (g *geminiAnswer) finishReason() string {
	if g.r.finish == finishLength {
		return "MAX_TOKENS"
	}
	return "STOP"
}

func (g *geminiAnswer) candidateTokens() int {
	return g.r.outputTokens() - len(g.r.thinking)
}

func (g *geminiAnswer) thoughtPart() geminiPart {
	t := strings.Join(g.r.thinking, "")
	return geminiPart{Text: &t, Thought: true}
}

func (g *geminiAnswer) callPart() geminiPart {
	return geminiPart{FunctionCall: &geminiFunctionCall{Name: g.r.tool.name, Args: json.RawMessage(g.r.args)}, ThoughtSignature: g.signature}
}

// whole is the non-stream response.
func (g *geminiAnswer) whole() *geminiResponse {
	var ps []geminiPart
	if g.thoughts && len(g.r.thinking) > 0 {
		ps = append(ps, g.thoughtPart())
	}
	if g.r.tool != nil {
		ps = append(ps, g.callPart())
	} else {
		t := g.r.joined()
		ps = append(ps, geminiPart{Text: &t})
	}
	return g.response(ps, g.finishReason(), g.candidateTokens())
}

// events is the stream: a thought event (when thoughts are included), then
// one event per text piece with the cumulative usage, or one event with
// the function call; the last carries the finish reason.
func (g *geminiAnswer) events() []*geminiResponse {
	if g.blocked {
		return []*geminiResponse{g.response(nil, "", 0)}
	}
	var out []*geminiResponse
	if g.thoughts && len(g.r.thinking) > 0 {
		out = append(out, g.response([]geminiPart{g.thoughtPart()}, "", 0))
	}
	if g.r.tool != nil {
		return append(out, g.response([]geminiPart{g.callPart()}, "STOP", g.candidateTokens()))
	}
	if len(g.r.text) == 0 {
		empty := ""
		return append(out, g.response([]geminiPart{{Text: &empty}}, g.finishReason(), 0))
	}
	for i, p := range g.r.text {
		finish := ""
		if i == len(g.r.text)-1 {
			finish = g.finishReason()
		}
		out = append(out, g.response([]geminiPart{{Text: &p}}, finish, i+1))
	}
	return out
}

// geminiGenerate answers generateContent and streamGenerateContent.
func (e *Emulator) geminiGenerate(x *exchange, model, method string, body []byte, stream bool) {
	var req geminiRequest
	if !geminiDecode(x, body, &req) {
		return
	}
	if !e.acceptsModel(model) {
		x.writeError(geminiNotFound(model, method), "")
		return
	}
	if len(req.Contents) == 0 {
		x.writeError(geminiError(http.StatusBadRequest, "* GenerateContentRequest.contents: contents is not specified\n"), "")
		return
	}
	in := replyInput{}
	if si := either(req.SystemInstruction, req.SystemInstructionSnake); si != nil {
		in.promptBytes += si.Parts.size
	}
	blocked := false
	for _, c := range req.Contents {
		in.promptBytes += c.Parts.size
		blocked = blocked || c.Parts.blocked
	}
	for i, t := range req.Tools {
		for j, f := range eitherSlice(t.FunctionDeclarations, t.FunctionDeclarationsSnake) {
			schema := f.Parameters
			if len(schema) > 0 {
				var v any
				if json.Unmarshal(schema, &v) == nil {
					if k := unknownSchemaKey(v); k != "" {
						field := "tools[" + strconv.Itoa(i) + "].function_declarations[" + strconv.Itoa(j) + "].parameters"
						msg := "Invalid JSON payload received. Unknown name \"" + k + "\" at '" + field + "': Cannot find field."
						x.writeError(geminiError(http.StatusBadRequest, msg,
							googleBadRequest{Type: "type.googleapis.com/google.rpc.BadRequest", FieldViolations: []googleFieldViolation{{Field: field, Description: msg}}}), "")
						return
					}
				}
			} else {
				schema = eitherSlice(f.ParametersJSONSchema, f.ParametersJSONSchemaSnake)
			}
			in.tools = append(in.tools, toolDecl{name: f.Name, schema: schema})
		}
	}
	last := req.Contents[len(req.Contents)-1]
	in.userLast = last.Role != "model" && !last.Parts.toolResult
	tc := either(req.ToolConfig, req.ToolConfigSnake)
	if tc != nil {
		if fc := either(tc.FunctionCallingConfig, tc.FunctionCallingConfigSnake); fc != nil {
			in.noTools = strings.EqualFold(fc.Mode, "NONE")
			if names := eitherSlice(fc.AllowedFunctionNames, fc.AllowedFunctionNamesSnake); len(names) > 0 {
				in.forced = names[0]
			}
		}
	}
	thinks := geminiThinks(model)
	includeThoughts := false
	if gc := either(req.GenerationConfig, req.GenerationConfigSnake); gc != nil {
		if n := either(gc.MaxOutputTokens, gc.MaxOutputTokensSnake); n != nil && *n > 0 {
			in.limit = *n
		}
		in.stops = eitherSlice(gc.StopSequences, gc.StopSequencesSnake)
		if tc := either(gc.ThinkingConfig, gc.ThinkingConfigSnake); tc != nil {
			if b := either(tc.ThinkingBudget, tc.ThinkingBudgetSnake); b != nil && *b == 0 {
				thinks = false
			}
			if inc := either(tc.IncludeThoughts, tc.IncludeThoughtsSnake); inc != nil {
				includeThoughts = *inc
			}
		}
	}
	in.think = thinks
	g := &geminiAnswer{
		r:          e.decide(x, in),
		model:      model,
		responseID: base62ID("", 23, x.seq, 0x47454d49),
		thoughts:   includeThoughts,
		blocked:    blocked,
	}
	if thinks {
		g.thoughtN = len(g.r.thinking)
		g.signature = base62ID("CiQBvj72", 120, x.seq, 0x5349474e) + "="
	}

	if !stream {
		b := prettyJSON(g.whole())
		setJSONHeaders(x.w.Header(), ctGemini, len(b))
		x.w.Header()["Vary"] = []string{"Origin", "X-Origin", "Referer"}
		x.w.WriteHeader(http.StatusOK)
		e.writeBody(x, b)
		return
	}
	sse := x.r.URL.Query().Get("alt") == "sse"
	failure := geminiError(http.StatusServiceUnavailable, geminiMsgUnavailable).body
	s := eventStream{e: e, x: x}
	h := x.w.Header()
	if sse {
		h["Content-Type"] = []string{"text/event-stream"}
		s.failure = fixed(geminiSSE(marshalJSON(googleErrorBody{googleErrorStatus{Code: 503, Message: geminiMsgUnavailable, Status: "UNAVAILABLE"}})))
	} else {
		h["Content-Type"] = []string{ctGemini}
		s.failure = func(sent int) []byte {
			b := []byte("\n,\r\n")
			if sent == 0 {
				b = []byte("[")
			}
			return append(append(b, failure...), ']')
		}
	}
	h["Vary"] = []string{"Origin", "X-Origin", "Referer"}
	s.start(http.StatusOK)
	events := g.events()
	for i, ev := range events {
		final := i == len(events)-1
		var b []byte
		if sse {
			b = geminiSSE(marshalJSON(ev))
		} else {
			if i == 0 {
				b = []byte("[")
			} else {
				b = []byte("\n,\r\n")
			}
			b = append(b, prettyJSON(ev)...)
			if final {
				b = append(b, "\n]"...)
			}
		}
		if !s.send(b, final) {
			return
		}
	}
}

// geminiSSE frames one Gemini event: data-only, CRLF separators, JSON in
// the `"key": value` style of the live API.
func geminiSSE(compact []byte) []byte {
	b := make([]byte, 0, len(compact)+len(compact)/8+12)
	b = append(b, "data: "...)
	b = appendColonSpaced(b, compact)
	return append(b, "\r\n\r\n"...)
}

// appendColonSpaced appends compact JSON with a space after every key's
// colon, the style of Gemini's stream events.
func appendColonSpaced(b, compact []byte) []byte {
	inString, escaped := false, false
	for _, c := range compact {
		b = append(b, c)
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && c == ':':
			b = append(b, ' ')
		}
	}
	return b
}

// geminiCountTokens answers countTokens for {"contents"} or
// {"generateContentRequest"}.
func (e *Emulator) geminiCountTokens(x *exchange, model, method string, body []byte) {
	var req struct {
		Contents               []geminiContent `json:"contents"`
		GenerateContentRequest *geminiRequest  `json:"generateContentRequest"`
	}
	if !geminiDecode(x, body, &req) {
		return
	}
	if !e.acceptsModel(model) {
		x.writeError(geminiNotFound(model, method), "")
		return
	}
	contents := req.Contents
	size := 0
	if g := req.GenerateContentRequest; g != nil {
		contents = g.Contents
		if si := either(g.SystemInstruction, g.SystemInstructionSnake); si != nil {
			size += si.Parts.size
		}
	}
	for _, c := range contents {
		size += c.Parts.size
	}
	n := max(1, size/4) + x.sw.cached
	var resp struct {
		TotalTokens             int              `json:"totalTokens"`
		CachedContentTokenCount int              `json:"cachedContentTokenCount,omitempty"`
		PromptTokensDetails     []geminiModality `json:"promptTokensDetails"`
	}
	resp.TotalTokens = n
	resp.CachedContentTokenCount = x.sw.cached
	resp.PromptTokensDetails = []geminiModality{{"TEXT", n}}
	e.writeGemini(x, &resp)
}

// writeGemini writes a 2-space pretty success body.
func (e *Emulator) writeGemini(x *exchange, v any) {
	b := prettyJSON(v)
	setJSONHeaders(x.w.Header(), ctGemini, len(b))
	x.w.Header()["Vary"] = []string{"Origin", "X-Origin", "Referer"}
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}

type geminiEmbedRequest struct {
	Model   string `json:"model"`
	Content *struct {
		Parts []struct {
			Text string `json:"text"`
		} `json:"parts"`
	} `json:"content"`
	OutputDimensionality      *int `json:"outputDimensionality"`
	OutputDimensionalitySnake *int `json:"output_dimensionality"`
}

type geminiValues struct {
	Values []float32 `json:"values"`
}

// embedding returns the vector of one embed request, or the 400 it earns.
func (e *Emulator) geminiEmbedding(req *geminiEmbedRequest, field string) (geminiValues, *apiError) {
	if req.Content == nil || len(req.Content.Parts) == 0 {
		return geminiValues{}, geminiError(http.StatusBadRequest, "* "+field+".content: content is not specified\n")
	}
	dims := e.opts.Dimensions
	if d := either(req.OutputDimensionality, req.OutputDimensionalitySnake); d != nil {
		if *d < 1 || *d > maxDimensions {
			return geminiValues{}, geminiError(http.StatusBadRequest, "* "+field+".output_dimensionality: must be between 1 and "+strconv.Itoa(maxDimensions)+"\n")
		}
		dims = *d
	}
	var text strings.Builder
	for _, p := range req.Content.Parts {
		text.WriteString(p.Text)
	}
	v := make([]float32, dims)
	vector(v, []byte(text.String()))
	return geminiValues{Values: v}, nil
}

// geminiEmbed answers embedContent ({"embedding":{"values"}}) and
// batchEmbedContents ({"embeddings":[{"values"}]}).
func (e *Emulator) geminiEmbed(x *exchange, model, method string, body []byte) {
	if !e.acceptsModel(model) {
		x.writeError(geminiNotFound(model, method), "")
		return
	}
	if method == "embedContent" {
		var req geminiEmbedRequest
		if !geminiDecode(x, body, &req) {
			return
		}
		v, apiErr := e.geminiEmbedding(&req, "EmbedContentRequest")
		if apiErr != nil {
			x.writeError(apiErr, "")
			return
		}
		e.writeGemini(x, struct {
			Embedding geminiValues `json:"embedding"`
		}{v})
		return
	}
	var req struct {
		Requests []geminiEmbedRequest `json:"requests"`
	}
	if !geminiDecode(x, body, &req) {
		return
	}
	if len(req.Requests) == 0 {
		x.writeError(geminiError(http.StatusBadRequest, "* BatchEmbedContentsRequest.requests: requests is not specified\n"), "")
		return
	}
	out := struct {
		Embeddings []geminiValues `json:"embeddings"`
	}{make([]geminiValues, 0, len(req.Requests))}
	for i := range req.Requests {
		r := &req.Requests[i]
		if r.Model != "" && r.Model != "models/"+model {
			x.writeError(geminiError(http.StatusBadRequest, "Model name in requests["+strconv.Itoa(i)+"] ("+r.Model+") does not match the model in the URL (models/"+model+")."), "")
			return
		}
		v, apiErr := e.geminiEmbedding(r, "BatchEmbedContentsRequest.requests["+strconv.Itoa(i)+"]")
		if apiErr != nil {
			x.writeError(apiErr, "")
			return
		}
		out.Embeddings = append(out.Embeddings, v)
	}
	e.writeGemini(x, &out)
}

// imagenAspectRatios are the aspect ratios Imagen accepts.
var imagenAspectRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}

// geminiPredict answers :predict for Imagen models: sampleCount images
// (default 4) per instance, each the emulator's PNG.
func (e *Emulator) geminiPredict(x *exchange, model, method string, body []byte) {
	var req struct {
		Instances []struct {
			Prompt string `json:"prompt"`
		} `json:"instances"`
		Parameters struct {
			SampleCount *int   `json:"sampleCount"`
			AspectRatio string `json:"aspectRatio"`
		} `json:"parameters"`
	}
	if !geminiDecode(x, body, &req) {
		return
	}
	if !strings.Contains(model, "imagen") || !e.acceptsModel(model) {
		x.writeError(geminiNotFound(model, method), "")
		return
	}
	if len(req.Instances) == 0 || req.Instances[0].Prompt == "" {
		x.writeError(geminiError(http.StatusBadRequest, "Missing prompt: instances[0].prompt is required."), "")
		return
	}
	n := 4
	if c := req.Parameters.SampleCount; c != nil {
		if *c < 1 || *c > 4 {
			x.writeError(geminiError(http.StatusBadRequest, "Invalid sample count: "+strconv.Itoa(*c)+". Sample count must be between 1 and 4."), "")
			return
		}
		n = *c
	}
	if ar := req.Parameters.AspectRatio; ar != "" && !slices.Contains(imagenAspectRatios, ar) {
		x.writeError(geminiError(http.StatusBadRequest, "Unsupported aspect ratio: "+ar+". Supported aspect ratios are 1:1, 3:4, 4:3, 9:16 and 16:9."), "")
		return
	}
	type prediction struct {
		BytesBase64Encoded string `json:"bytesBase64Encoded"`
		MimeType           string `json:"mimeType"`
	}
	out := struct {
		Predictions []prediction `json:"predictions"`
	}{}
	for range req.Instances {
		for range n {
			out.Predictions = append(out.Predictions, prediction{pngBase64, "image/png"})
		}
	}
	e.writeGemini(x, &out)
}
