// Package apierr is the one place where failures become HTTP responses.
//
// Every handler turns what went wrong into an *Error: a client-safe status,
// type, code and message, kept apart from the cause, which is only logged.
// Writers render it in the shape of the API surface the client speaks
// (OpenAI's {"error":{...}} here; later surfaces add their own writers).
package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// Error is a client-facing failure.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Type is the OpenAI error type, e.g. "invalid_request_error".
	Type string
	// Code is the machine code, e.g. "model_not_found"; may be empty.
	Code string
	// Param names the offending request field; may be empty.
	Param string
	// Message is shown to the client. It never contains a secret.
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header.
	RetryAfter time.Duration
	// Retryable says a retry (here or elsewhere) may succeed.
	Retryable bool
	// Cause is the internal error, logged but never shown.
	Cause error
}

func (e *Error) Error() string {
	s := strconv.Itoa(e.Status) + " " + e.Type
	if e.Code != "" {
		s += "/" + e.Code
	}
	s += ": " + e.Message
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// Types used by the hub, following OpenAI's vocabulary where it has one.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeTimeout        = "upstream_timeout"
	TypeServer         = "server_error"
	TypeUnavailable    = "service_unavailable"
	TypePlugin         = "plugin_error"
)

// BadRequest is a 400 about param.
func BadRequest(param, msg string) *Error {
	return &Error{Status: 400, Type: TypeInvalidRequest, Param: param, Message: msg}
}

// Unauthorized is a 401 with code invalid_api_key.
func Unauthorized(msg string) *Error {
	return &Error{Status: 401, Type: TypeInvalidRequest, Code: "invalid_api_key", Message: msg}
}

// Forbidden is a 403.
func Forbidden(msg string) *Error {
	return &Error{Status: 403, Type: TypePermission, Message: msg}
}

// ModelNotFound is the 404 for a model no provider serves.
func ModelNotFound(model string) *Error {
	return &Error{Status: 404, Type: TypeInvalidRequest, Code: "model_not_found", Param: "model",
		Message: "The model `" + model + "` does not exist or you do not have access to it."}
}

// Unsupported is the 400 for a model whose provider does not serve the
// requested API (e.g. embeddings from a chat-only provider).
func Unsupported(provider, model, api string) *Error {
	what := map[string]string{"chat.completions": "chat completions", "embeddings": "embeddings",
		"images.generations": "image generation"}[api]
	if what == "" {
		what = api
	}
	return &Error{Status: 400, Type: TypeInvalidRequest, Code: "unsupported_model", Param: "model",
		Message: "The model `" + model + "` (provider " + provider + ") does not support " + what + "."}
}

// NotFound is a 404 for an unknown route.
func NotFound(msg string) *Error { return &Error{Status: 404, Type: TypeNotFound, Message: msg} }

// TooLarge is the 413 for a request body over the limit.
func TooLarge(limit int64) *Error {
	return &Error{Status: 413, Type: TypeInvalidRequest, Code: "request_too_large",
		Message: "Request body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes."}
}

// Internal is a 500 whose cause is logged only.
func Internal(cause error) *Error {
	return &Error{Status: 500, Type: TypeServer, Message: "The hub had an internal error; it has been logged.", Cause: cause}
}

// Unavailable is a 503, e.g. while shutting down.
func Unavailable(msg string) *Error {
	return &Error{Status: 503, Type: TypeUnavailable, Message: msg, Retryable: true}
}

// From converts any error into an *Error. An *Error passes through; an
// *abi.Error (a plugin's normalized upstream error) keeps its status and
// fields; a plugin that trapped or ran past its deadline is a 502 or 504
// plugin_error (its stderr is logged, never shown); a context deadline is a 504; anything else is a 502 whose cause is
// logged but not shown, because it came from the upstream side.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ae *abi.Error
	if errors.As(err, &ae) {
		st := ae.Status
		if st == 0 {
			st = 502
		}
		return &Error{Status: st, Type: orDefault(ae.Type, TypeUpstream), Code: ae.Code, Param: ae.Param,
			Message: orDefault(ae.Message, http.StatusText(st)), RetryAfter: time.Duration(ae.RetryAfterMS) * time.Millisecond,
			Retryable: ae.Retryable, Cause: err}
	}
	var ce *runtime.CallError
	if errors.As(err, &ce) {
		if ce.Kind == runtime.Timeout {
			return &Error{Status: 504, Type: TypePlugin, Code: "plugin_timeout", Message: "The provider plugin did not finish in time.", Cause: err}
		}
		return &Error{Status: 502, Type: TypePlugin, Code: "plugin_failed", Message: "The provider plugin failed; the call was not sent or its answer could not be read.", Cause: err}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return TooLarge(mbe.Limit)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: 504, Type: TypeTimeout, Message: "The provider did not answer in time.", Retryable: true, Cause: err}
	}
	return &Error{Status: 502, Type: TypeUpstream, Message: "The provider could not be reached or failed.", Retryable: true, Cause: err}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

type openAIBody struct {
	Error openAIError `json:"error"`
}

type openAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAIJSON renders e as OpenAI's error object:
// {"error":{"message","type","param","code"}} with null param/code when empty.
func OpenAIJSON(e *Error) []byte {
	b := openAIBody{Error: openAIError{Message: e.Message, Type: e.Type}}
	if e.Param != "" {
		b.Error.Param = &e.Param
	}
	if e.Code != "" {
		b.Error.Code = &e.Code
	}
	out, _ := json.Marshal(b)
	return out
}

// WriteOpenAI writes e as an OpenAI-shaped error response.
func WriteOpenAI(w http.ResponseWriter, e *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	w.WriteHeader(e.Status)
	w.Write(append(OpenAIJSON(e), '\n'))
}
