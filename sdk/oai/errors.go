package oai

import (
	"strconv"

	"github.com/aignehub/hub/sdk/abi"
)

// UpstreamError is what a plugin read from a provider's error response.
type UpstreamError struct {
	// Status is the upstream HTTP status.
	Status int
	// RetryAfter is the upstream's Retry-After header (seconds or an HTTP
	// date), or a retry delay the body gave, e.g. "17s"; "" when none.
	RetryAfter string
	// Type, Code, Param and Message are the provider's, mapped to OpenAI's
	// vocabulary where the plugin knows how (e.g. Anthropic
	// "rate_limit_error", Gemini "RESOURCE_EXHAUSTED" → "rate_limit_error").
	Type, Code, Param, Message string
	// Overloaded marks a provider-specific "overloaded, try later" status
	// (Anthropic 529): retryable, answered as 503.
	Overloaded bool
	// QuotaExhausted marks an account out of credit or quota: a 429 that
	// retrying here will not fix.
	QuotaExhausted bool
}

// Normalize maps an upstream failure to the hub's normalized error, the
// gateway convention every provider plugin follows:
//
//   - the client's own mistakes (400, 404, 409, 413, 422) pass through with
//     the provider's message;
//   - a rejected hub credential (401, 403) becomes 502 upstream_auth_failed,
//     without the provider's message (it may quote part of the key);
//   - rate limits stay 429 with the Retry-After hint, retryable unless the
//     quota is exhausted;
//   - overload becomes 503, timeouts (408, 504) 504, other 5xx 502, all
//     retryable.
func Normalize(u UpstreamError) *abi.Error {
	ae := &abi.Error{Type: u.Type, Code: u.Code, Param: u.Param, Message: u.Message}
	switch st := u.Status; {
	case st == 401 || st == 403:
		return &abi.Error{Status: 502, Type: "upstream_error", Code: "upstream_auth_failed",
			Message: "the provider rejected the hub's credential (HTTP " + strconv.Itoa(st) + ")", Retryable: true}
	case u.Overloaded:
		ae.Status = 503
		ae.Type = "upstream_overloaded"
		ae.Retryable = true
		ae.RetryAfterMS = retryAfterMS(u.RetryAfter)
	case st == 429:
		ae.Status = 429
		if u.QuotaExhausted {
			ae.Type = orDefault(ae.Type, "insufficient_quota")
			ae.Code = orDefault(ae.Code, "insufficient_quota")
		} else {
			ae.Type = orDefault(ae.Type, "rate_limit_error")
			ae.Retryable = ae.Code != "insufficient_quota" && ae.Type != "insufficient_quota"
		}
		ae.RetryAfterMS = retryAfterMS(u.RetryAfter)
	case st == 408 || st == 504:
		ae.Status = 504
		ae.Type = "upstream_timeout"
		ae.Retryable = true
	case st >= 500:
		ae.Status = 502
		ae.Type = "upstream_error"
		ae.Retryable = true
		ae.RetryAfterMS = retryAfterMS(u.RetryAfter)
	case st >= 400:
		ae.Status = st
		ae.Type = orDefault(ae.Type, "invalid_request_error")
	default:
		ae.Status = 502
		ae.Type = "upstream_error"
	}
	if ae.Message == "" {
		ae.Message = "the provider answered HTTP " + strconv.Itoa(u.Status)
	}
	return ae
}

// retryAfterMS reads a Retry-After header value, or a duration such as
// Gemini's "17s" / "1.5s" retryDelay.
func retryAfterMS(v string) int64 {
	if n := len(v); n > 1 && v[n-1] == 's' && v[n-2] != 's' {
		if f, err := strconv.ParseFloat(v[:n-1], 64); err == nil && f >= 0 {
			return int64(f * 1000)
		}
	}
	return abi.RetryAfterMS(v)
}

// StreamError is the error a plugin returns for an error the provider
// reported inside a stream that had already started (HTTP 200 was sent):
// a 502 with the provider's message, retryable when the provider said it
// was overloaded or rate limited.
func StreamError(typ, message string, retryable bool) *abi.Error {
	return &abi.Error{Status: 502, Type: orDefault(typ, "upstream_error"),
		Message: orDefault(message, "the provider reported an error mid-stream"), Retryable: retryable}
}

// BadRequest is a 400 invalid_request_error about param.
func BadRequest(param, message string) *abi.Error {
	return &abi.Error{Status: 400, Type: "invalid_request_error", Param: param, Message: message}
}

// Unsupported is the 400 a plugin answers for an API it does not serve.
func Unsupported(plugin, api string) *abi.Error {
	return &abi.Error{Status: 400, Type: "invalid_request_error", Code: "unsupported_api",
		Message: "the " + plugin + " provider does not support " + api}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
