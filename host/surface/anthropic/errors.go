package anthropic

import (
	"net/http"
	"strconv"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/oai"
)

// Anthropic's error types.
const (
	TypeInvalidRequest  = "invalid_request_error"
	TypeAuthentication  = "authentication_error"
	TypeBilling         = "billing_error"
	TypePermission      = "permission_error"
	TypeNotFound        = "not_found_error"
	TypeRequestTooLarge = "request_too_large"
	TypeRateLimit       = "rate_limit_error"
	TypeAPI             = "api_error"
	TypeTimeout         = "timeout_error"
	TypeOverloaded      = "overloaded_error"
)

// StatusOverloaded is Anthropic's "overloaded" status.
const StatusOverloaded = 529

// ErrorStatus maps a hub error to Anthropic's status code and error type:
//
//	400 and other 4xx   invalid_request_error (status kept)
//	401                 authentication_error
//	402                 billing_error
//	403                 permission_error
//	404                 not_found_error
//	413                 request_too_large
//	429                 rate_limit_error
//	503, overloaded     529 overloaded_error
//	504, 408            504 timeout_error
//	other 5xx           500 api_error
//
// "Overloaded" is the hub's 503 (an upstream that said it was overloaded,
// or the hub draining) or an error whose type already says so.
func ErrorStatus(e *apierr.Error) (status int, typ string) {
	switch {
	case e.Status == 401:
		return 401, TypeAuthentication
	case e.Status == 402:
		return 402, TypeBilling
	case e.Status == 403:
		return 403, TypePermission
	case e.Status == 404:
		return 404, TypeNotFound
	case e.Status == 413:
		return 413, TypeRequestTooLarge
	case e.Status == 429:
		return 429, TypeRateLimit
	case e.Status == 503 || e.Status == StatusOverloaded || e.Type == TypeOverloaded || e.Type == "upstream_overloaded":
		return StatusOverloaded, TypeOverloaded
	case e.Status == 504 || e.Status == 408:
		return 504, TypeTimeout
	case e.Status >= 400 && e.Status < 500:
		return e.Status, TypeInvalidRequest
	}
	return 500, TypeAPI
}

// streamErrorType is the type of an error reported inside a stream: the
// status no longer matters, so an Anthropic type the error already carries
// (an Anthropic upstream's in-stream error, passed on by its plugin) is kept.
func streamErrorType(e *apierr.Error) string {
	switch e.Type {
	case TypeOverloaded, TypeAPI, TypeRateLimit, TypeTimeout, TypeInvalidRequest:
		return e.Type
	}
	_, typ := ErrorStatus(e)
	return typ
}

// AppendErrorJSON appends e as Anthropic's error body:
// {"type":"error","error":{"type","message"},"request_id"}.
func AppendErrorJSON(dst []byte, e *apierr.Error, requestID string) []byte {
	_, typ := ErrorStatus(e)
	return appendError(dst, typ, e.Message, requestID)
}

func appendError(dst []byte, typ, message, requestID string) []byte {
	dst = append(dst, `{"type":"error","error":{"type":`...)
	dst = oai.AppendString(dst, typ)
	dst = append(dst, `,"message":`...)
	dst = oai.AppendString(dst, message)
	dst = append(dst, '}')
	if requestID != "" {
		dst = append(dst, `,"request_id":`...)
		dst = oai.AppendString(dst, requestID)
	}
	return append(dst, '}')
}

// AppendErrorEvent appends e as the SSE "event: error" that ends a stream
// already under way.
func AppendErrorEvent(dst []byte, e *apierr.Error, requestID string) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = appendError(dst, streamErrorType(e), e.Message, requestID)
	return append(dst, "\n\n"...)
}

// WriteError writes e as an Anthropic error response, with Retry-After
// (whole seconds, rounded up) when e has a retry delay.
func WriteError(w http.ResponseWriter, e *apierr.Error, requestID string) {
	status, _ := ErrorStatus(e)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.WriteHeader(status)
	w.Write(append(AppendErrorJSON(make([]byte, 0, 128+len(e.Message)), e, requestID), '\n'))
}
