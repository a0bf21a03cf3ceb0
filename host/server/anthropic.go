package server

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/surface/anthropic"
	"github.com/aignehub/hub/sdk/abi"
)

// The Anthropic surface serves POST /v1/messages and
// POST /v1/messages/count_tokens. A Messages request is converted to the
// canonical chat-completions request (host/surface/anthropic), so any
// provider serves it, and runs through the same engine as every other
// call: routing, failover, limits, metering and billing apply unchanged.
// The caller's key comes in x-api-key (as Anthropic's SDKs send it) or as a
// Bearer token; anthropic-version and anthropic-beta are accepted and
// ignored. Every answer carries request-id (Anthropic's header, read by its
// SDKs) with the hub's request id.

// anthropicMessages is POST /v1/messages.
func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	reqID, call, ok := s.anthropicRead(w, r)
	if !ok {
		return
	}
	canonical, model, stream, aerr := anthropic.ToCanonical(call.Body)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	meta := anthropic.Meta{ID: anthropic.MessageID(reqID), Model: model}
	sink := &anthropicSink{eventStream: newEventStream(w), meta: meta, reqID: reqID}
	if stream {
		// message_start reports input_tokens before the provider has
		// counted them: the local estimate stands in until message_delta.
		estimate := anthropic.EstimateTokens(call.Body)
		sink.enc = anthropic.NewStreamEncoder(meta, estimate)
	}
	call.API, call.Model, call.Body = abi.APIChatCompletions, model, canonical
	call.Stream = stream
	call.IncludeUsage = stream // the usage chunk feeds message_delta
	s.opts.Engine.Serve(r.Context(), call, sink)
}

// anthropicCountTokens is POST /v1/messages/count_tokens: a local estimate
// (see anthropic.CountTokens), for a model the hub serves to this key.
func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	reqID, call, ok := s.anthropicRead(w, r)
	if !ok {
		return
	}
	n, model, aerr := anthropic.CountTokens(call.Body)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	targets, err := s.opts.Engine.Router().Resolve(model)
	if err != nil {
		anthropic.WriteError(w, apierr.From(err), reqID)
		return
	}
	if allowed := call.Key.AllowedModels; len(allowed) > 0 && !limits.ModelAllowed(allowed, model) &&
		!slices.ContainsFunc(targets, func(t proxy.Target) bool {
			return limits.ModelAllowed(allowed, t.Provider.Name+"/"+t.Model, t.Model)
		}) {
		anthropic.WriteError(w, &apierr.Error{Status: 403, Type: apierr.TypePermission,
			Message: "This API key is not allowed to use the model `" + model + "`."}, reqID)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"input_tokens":` + strconv.FormatInt(n, 10) + "}\n"))
}

// anthropicRead is readCall for the Anthropic surface: it sets the
// Request-Id header, answers a request without a key as Anthropic does,
// and writes any error itself (ok false). reqID is the request id.
func (s *Server) anthropicRead(w http.ResponseWriter, r *http.Request) (reqID string, call *proxy.Call, ok bool) {
	reqID = w.Header().Get("X-Request-Id")
	w.Header().Set("Request-Id", reqID)
	var aerr *apierr.Error
	if !auth.HasCredentials(r) {
		aerr = &apierr.Error{Status: 401, Type: apierr.TypeAuthentication, Message: "x-api-key header is required"}
	} else {
		call, aerr = s.readCall(w, r)
	}
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return reqID, nil, false
	}
	return reqID, call, true
}

// anthropicSink renders canonical output as Anthropic's wire format: a
// message JSON, or SSE events with a flush per batch of chunks; errors in
// Anthropic's shape, as an event once the stream has started.
type anthropicSink struct {
	eventStream
	meta  anthropic.Meta
	reqID string
	enc   *anthropic.StreamEncoder // nil for a non-stream call
}

var _ proxy.Sink = (*anthropicSink)(nil)

func (s *anthropicSink) WriteResponse(body []byte) error {
	msg, err := anthropic.ToMessage(body, s.meta)
	if err != nil {
		anthropic.WriteError(s.w, apierr.Internal(err), s.reqID)
		return nil
	}
	return writeBody(s.w, "application/json", msg)
}

func (s *anthropicSink) start() {
	s.begin(sseContentType)
	if s.enc == nil { // a stream the handler did not ask for; cannot happen
		s.enc = anthropic.NewStreamEncoder(s.meta, 0)
	}
}

func (s *anthropicSink) WriteChunk(chunk []byte) error {
	s.start()
	return s.chunk(s.enc, chunk)
}

func (s *anthropicSink) WriteDone() error {
	s.start()
	return s.done(s.enc)
}

func (s *anthropicSink) WriteError(e *apierr.Error) {
	if !s.started {
		anthropic.WriteError(s.w, e, s.reqID)
		return
	}
	// Mid-stream: the status line is gone. Anthropic sends an error event
	// and closes the stream without message_stop.
	s.buf = anthropic.AppendErrorEvent(s.buf[:0], e, s.reqID)
	s.sendFlush()
}
