package aigne

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/oai"
)

// TypeNotEnough is the error type AIGNE Hub gives a caller out of credits
// (CreditErrorType.NOT_ENOUGH in @blocklet/aigne-hub); AIGNE apps key their
// "buy credits" prompt off it. The hub's 402 insufficient_quota reads as it.
const TypeNotEnough = "NOT_ENOUGH"

// errorType is the "type" of an error as AIGNE clients see it: the hub's
// type, except that running out of credits is NOT_ENOUGH.
func errorType(e *apierr.Error) string {
	if e.Status == 402 || e.Code == "insufficient_quota" {
		return TypeNotEnough
	}
	return e.Type
}

// AppendErrorBody appends the error body AIGNE clients read:
// {"error":{"message","type","code"}} ("code" only when the hub has one).
// @aigne/transport's BaseClient.fetch (http-client/base-client.js, lines
// 93–113) reads json.error.message and json.error.type from any non-2xx
// answer and throws an Error with that message and type; AIGNE Hub's own
// error handler writes the same {"error":{message,type}} shape.
func AppendErrorBody(dst []byte, e *apierr.Error) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = oai.AppendString(dst, e.Message)
	if t := errorType(e); t != "" {
		dst = append(dst, `,"type":`...)
		dst = oai.AppendString(dst, t)
	}
	if e.Code != "" {
		dst = append(dst, `,"code":`...)
		dst = oai.AppendString(dst, e.Code)
	}
	return append(dst, "}}"...)
}

// WriteError writes e as an AIGNE error response with e's status, and
// Retry-After when e has one.
func WriteError(w http.ResponseWriter, e *apierr.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	w.WriteHeader(e.Status)
	w.Write(append(AppendErrorBody(nil, e), '\n'))
}

// AppendErrorEvent appends the in-stream error of POST /api/v2/chat:
//
//	event: error
//	data: {"message":"…"}
//
// @aigne/core's EventStreamParser (utils/event-stream.js, lines 17–20)
// turns an "error" event into new Error(json.message), which ends the
// client's stream with that error; AgentResponseStreamSSE (lines 103–105)
// is the server side writing exactly this. "type" rides along (the parser
// ignores it).
func AppendErrorEvent(dst []byte, e *apierr.Error) []byte {
	dst = append(dst, "event: error\ndata: {\"message\":"...)
	dst = oai.AppendString(dst, e.Message)
	if t := errorType(e); t != "" {
		dst = append(dst, `,"type":`...)
		dst = oai.AppendString(dst, t)
	}
	return append(dst, "}\n\n"...)
}

// appendData appends one SSE event "data: <json>\n\n". json is compact (no
// newline), so one data line carries it.
func appendData(dst, json []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, json...)
	return append(dst, "\n\n"...)
}

// marshal is json.Marshal without HTML escaping: "<", ">" and "&" reach the
// upstream as the client wrote them.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
