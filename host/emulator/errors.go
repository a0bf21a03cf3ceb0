package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// apiError is one OpenAI error response: the status, the headers that go
// with it and the {"error":{"message","type","param","code"}} body. Bodies
// are rendered once, at package init, except those that quote the request
// (model not found).
type apiError struct {
	status      int
	contentType []string
	body        []byte
	// rateLimited adds the exhausted X-Ratelimit-* headers of the
	// error-429-rate-limit-exceeded fixture.
	rateLimited bool
	// vary adds "Vary: Origin", as on the recorded 404.
	vary bool
	// header, when set, replaces X-Request-Id with a dialect's own
	// headers (request-id, x-amzn-RequestId, ...).
	header http.Header
}

// Content types as the fixtures give them: OpenAI's edge (401, 404, 429)
// says charset=utf-8, model-layer errors and success bodies do not.
var (
	ctJSON        = []string{"application/json"}
	ctJSONCharset = []string{"application/json; charset=utf-8"}
	ctSSE         = []string{"text/event-stream; charset=utf-8"}
)

const (
	indentEdge  = "    " // edge-generated errors: 4 spaces
	indentModel = "  "   // model-layer errors: 2 spaces
)

// appendErrorBody renders an error body pretty-printed with indent and a
// trailing newline. An empty param or code is rendered as null.
func appendErrorBody(b []byte, indent, message, typ, param, code string) []byte {
	b = append(b, "{\n"...)
	b = append(b, indent...)
	b = append(b, "\"error\": {\n"...)
	field := func(name, value string, last bool) {
		b = append(b, indent...)
		b = append(b, indent...)
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, "\": "...)
		if value == "" {
			b = append(b, "null"...)
		} else {
			b = appendJSONString(b, value)
		}
		if !last {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	field("message", message, false)
	field("type", typ, false)
	field("param", param, false)
	field("code", code, true)
	b = append(b, indent...)
	b = append(b, "}\n}\n"...)
	return b
}

func newAPIError(status int, ct []string, indent, message, typ, param, code string) *apiError {
	return &apiError{
		status:      status,
		contentType: ct,
		body:        appendErrorBody(nil, indent, message, typ, param, code),
	}
}

// The fixture errors, byte for byte (TestErrorBodiesMatchFixtures checks).
var (
	errInvalidAPIKey = newAPIError(http.StatusUnauthorized, ctJSONCharset, indentEdge,
		"Incorrect API key provided: sk-proj-****************************************************************************************************************************************************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
		"invalid_request_error", "", "invalid_api_key")

	errRateLimit = func() *apiError {
		e := newAPIError(http.StatusTooManyRequests, ctJSONCharset, indentEdge,
			"Rate limit reached for gpt-4o in organization org-AbCdEfGhIjKlMnOpQrStUvWx on tokens per min (TPM): Limit 30000, Used 29937, Requested 385. Please try again in 644ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
			"tokens", "", "rate_limit_exceeded")
		e.rateLimited = true
		return e
	}()

	errInsufficientQuota = newAPIError(http.StatusTooManyRequests, ctJSONCharset, indentEdge,
		"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
		"insufficient_quota", "", "insufficient_quota")

	errUnsupportedMaxTokens = newAPIError(http.StatusBadRequest, ctJSON, indentModel,
		"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
		"invalid_request_error", "max_tokens", "unsupported_parameter")

	errContextLength = newAPIError(http.StatusBadRequest, ctJSON, indentEdge,
		"This model's maximum context length is 128000 tokens. However, your messages resulted in 130043 tokens. Please reduce the length of the messages.",
		"invalid_request_error", "messages", "context_length_exceeded")
)

// Errors without a fixture, worded as OpenAI words them.
var (
	errInvalidJSON = newAPIError(http.StatusBadRequest, ctJSON, indentModel,
		"We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
		"invalid_request_error", "", "")

	errServer = newAPIError(http.StatusInternalServerError, ctJSON, indentModel,
		"The server had an error while processing your request. Sorry about that!",
		"server_error", "", "")

	errOverloaded = newAPIError(http.StatusServiceUnavailable, ctJSON, indentModel,
		"The server is overloaded or not ready yet.",
		"server_error", "", "")

	errBodyTooLarge = newAPIError(http.StatusRequestEntityTooLarge, ctJSON, indentModel,
		"Request body too large.",
		"invalid_request_error", "", "")
)

// errModelNotFound is the recorded 404 with the requested model quoted.
func errModelNotFound(model string) *apiError {
	e := newAPIError(http.StatusNotFound, ctJSONCharset, indentEdge,
		"The model `"+model+"` does not exist or you do not have access to it.",
		"invalid_request_error", "", "model_not_found")
	e.vary = true
	return e
}

// errInvalidRequest is a model-layer 400 about one parameter.
func errInvalidRequest(message, param, code string) *apiError {
	return newAPIError(http.StatusBadRequest, ctJSON, indentModel, message, "invalid_request_error", param, code)
}

// errInvalidURL is OpenAI's answer to a path (or method) it does not serve.
func errInvalidURL(method, path string) *apiError {
	return newAPIError(http.StatusNotFound, ctJSONCharset, indentEdge,
		"Invalid URL ("+method+" "+path+")", "invalid_request_error", "", "")
}

// errForStatus is the body a forced X-Emulator-Status answers with.
func errForStatus(status int, quota bool, model string) *apiError {
	switch status {
	case http.StatusBadRequest:
		return errContextLength
	case http.StatusUnauthorized:
		return errInvalidAPIKey
	case http.StatusNotFound:
		if model == "" {
			model = "unknown"
		}
		return errModelNotFound(model)
	case http.StatusTooManyRequests:
		if quota {
			return errInsufficientQuota
		}
		return errRateLimit
	case http.StatusInternalServerError:
		return errServer
	case http.StatusServiceUnavailable:
		return errOverloaded
	}
	typ := "invalid_request_error"
	if status >= 500 {
		typ = "server_error"
	}
	return newAPIError(status, ctJSON, indentModel,
		"Emulated error: HTTP "+strconv.Itoa(status)+" "+http.StatusText(status)+".", typ, "", "")
}

// Header values shared by all responses. They are assigned straight into
// the header map to save an allocation per header; each slice has len ==
// cap, so an Add by a wrapping handler copies instead of writing into it.
var (
	hvOpenAIVersion      = []string{"2020-10-01"}
	hvLimitRequests      = []string{"500"}
	hvLimitTokens        = []string{"200000"}
	hvRemainingRequests  = []string{"499"}
	hvRemainingTokens    = []string{"199992"}
	hvRemainingTokens0   = []string{"0"}
	hvResetRequests      = []string{"120ms"}
	hvResetTokens        = []string{"2ms"}
	hvResetTokensLimited = []string{"644ms"}
	hvVaryOrigin         = []string{"Origin"}
)

// setRateLimitHeaders sets the X-Ratelimit-* headers OpenAI sends with
// every model response; exhausted reports the token budget as used up.
func setRateLimitHeaders(h http.Header, exhausted bool) {
	h["Openai-Version"] = hvOpenAIVersion
	h["X-Ratelimit-Limit-Requests"] = hvLimitRequests
	h["X-Ratelimit-Limit-Tokens"] = hvLimitTokens
	h["X-Ratelimit-Remaining-Requests"] = hvRemainingRequests
	h["X-Ratelimit-Reset-Requests"] = hvResetRequests
	if exhausted {
		h["X-Ratelimit-Remaining-Tokens"] = hvRemainingTokens0
		h["X-Ratelimit-Reset-Tokens"] = hvResetTokensLimited
	} else {
		h["X-Ratelimit-Remaining-Tokens"] = hvRemainingTokens
		h["X-Ratelimit-Reset-Tokens"] = hvResetTokens
	}
}

// writeError writes e with the request ID and, when retryAfter is set, a
// Retry-After header. It is the one place errors become responses.
func (x *exchange) writeError(e *apiError, retryAfter string) {
	h := x.w.Header()
	h["Content-Type"] = e.contentType
	h["Content-Length"] = []string{strconv.Itoa(len(e.body))}
	if e.header == nil {
		h["X-Request-Id"] = []string{x.requestID()}
	}
	for k, v := range e.header {
		h[k] = v
	}
	if e.rateLimited {
		h["Openai-Processing-Ms"] = []string{strconv.FormatInt(time.Since(x.start).Milliseconds(), 10)}
		setRateLimitHeaders(h, true)
	}
	if e.vary {
		h["Vary"] = hvVaryOrigin
	}
	if retryAfter != "" {
		h["Retry-After"] = []string{retryAfter}
	}
	x.w.WriteHeader(e.status)
	x.w.Write(e.body)
}
