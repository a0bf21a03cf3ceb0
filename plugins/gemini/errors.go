package main

import (
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// googleError is what an upstream google.rpc.Status error says.
type googleError struct {
	code       int64
	status     string // google.rpc.Code name, e.g. RESOURCE_EXHAUSTED
	message    string
	badKey     bool   // details[].reason API_KEY_INVALID
	retryDelay string // RetryInfo.retryDelay, e.g. "17s"
}

// readGoogleError reads {"error":{code,message,status,details}}; a body
// that is a JSON array (the non-SSE stream shape) is read at its first
// element.
func readGoogleError(body []byte) googleError {
	e := parse(body).Get("error")
	if !e.Exists() {
		e = parse(body).Get("0.error")
	}
	return googleErrorOf(e)
}

func googleErrorOf(e gjson.Result) googleError {
	var g googleError
	if e.Type == gjson.String {
		g.message = e.Str
		return g
	}
	e.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "code":
			g.code = v.Int()
		case "status":
			g.status = v.Str
		case "message":
			g.message = v.Str
		case "details":
			v.ForEach(func(_, d gjson.Result) bool {
				if d.Get("reason").Str == "API_KEY_INVALID" {
					g.badKey = true
				}
				if rd := d.Get("retryDelay"); rd.Type == gjson.String && strings.HasSuffix(d.Get("@type").Str, "RetryInfo") {
					g.retryDelay = rd.Str
				}
				return true
			})
		}
		return true
	})
	return g
}

// upstreamError normalizes a Gemini error response by the gateway
// convention of oai.Normalize.
func upstreamError(in *abi.ResponseIn) *abi.Error {
	g := readGoogleError(in.Body)
	u := oai.UpstreamError{Status: int(in.Status), RetryAfter: in.Header("Retry-After"), Message: g.message}
	if u.RetryAfter == "" {
		u.RetryAfter = g.retryDelay
	}
	if g.badKey {
		u.Status = 401 // Gemini answers a bad key with 400 INVALID_ARGUMENT
	}
	switch g.status {
	case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE":
		u.Type = "invalid_request_error"
		u.Code = strings.ToLower(g.status)
	case "NOT_FOUND":
		u.Type = "invalid_request_error"
		u.Code = "model_not_found"
	case "RESOURCE_EXHAUSTED":
		u.Type = "rate_limit_error"
		u.Code = "rate_limit_exceeded"
	case "UNAVAILABLE":
		u.Overloaded = true
	}
	if in.Status == 503 {
		u.Overloaded = true
	}
	if u.Message == "" && g.status != "" {
		u.Message = "the provider answered HTTP " + strconv.Itoa(int(in.Status)) + " " + g.status
	}
	return oai.Normalize(u)
}

// streamError is the error for an {"error":…} event inside a stream.
func streamError(e gjson.Result) *abi.Error {
	g := googleErrorOf(e)
	typ, retryable := "upstream_error", false
	switch g.status {
	case "RESOURCE_EXHAUSTED":
		typ, retryable = "rate_limit_error", true
	case "UNAVAILABLE":
		typ, retryable = "upstream_overloaded", true
	case "INTERNAL", "DEADLINE_EXCEEDED", "ABORTED":
		retryable = true
	}
	if g.code >= 500 {
		retryable = true
	}
	return oai.StreamError(typ, g.message, retryable)
}
