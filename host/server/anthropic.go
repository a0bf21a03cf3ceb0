package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/surface/anthropic"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
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
	start := time.Now()
	reqID := w.Header().Get("X-Request-Id")
	w.Header().Set("Request-Id", reqID)
	key, body, aerr := s.anthropicRead(w, r)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	canonical, model, stream, aerr := anthropic.ToCanonical(body)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	meta := anthropic.Meta{ID: anthropic.MessageID(reqID), Model: model}
	sink := &anthropicSink{w: w, rc: http.NewResponseController(w), meta: meta, reqID: reqID}
	if stream {
		// message_start reports input_tokens before the provider has
		// counted them: the local estimate stands in until message_delta.
		estimate := anthropic.EstimateTokens(body)
		sink.enc = anthropic.NewStreamEncoder(meta, estimate)
	}
	call := &proxy.Call{
		RequestID:    reqID,
		Key:          key,
		API:          abi.APIChatCompletions,
		Model:        model,
		Stream:       stream,
		IncludeUsage: stream, // the usage chunk feeds message_delta
		Body:         canonical,
		Start:        start,
	}
	s.opts.Engine.Serve(r.Context(), call, sink)
}

// anthropicCountTokens is POST /v1/messages/count_tokens: a local estimate
// (see anthropic.CountTokens), for a model the hub serves to this key.
func (s *Server) anthropicCountTokens(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	reqID := w.Header().Get("X-Request-Id")
	w.Header().Set("Request-Id", reqID)
	key, body, aerr := s.anthropicRead(w, r)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	n, model, aerr := anthropic.CountTokens(body)
	if aerr != nil {
		anthropic.WriteError(w, aerr, reqID)
		return
	}
	targets, err := s.opts.Engine.Router().Resolve(model)
	if err != nil {
		anthropic.WriteError(w, apierr.From(err), reqID)
		return
	}
	if allowed := key.AllowedModels; len(allowed) > 0 && !limits.ModelAllowed(allowed, model) &&
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

// anthropicRead authenticates the caller and reads the request body.
func (s *Server) anthropicRead(w http.ResponseWriter, r *http.Request) (key store.APIKey, body []byte, aerr *apierr.Error) {
	if auth.Presented(r) == "" {
		return key, nil, &apierr.Error{Status: 401, Type: apierr.TypeAuthentication, Message: "x-api-key header is required"}
	}
	key, err := s.opts.Auth.Authenticate(r.Context(), r)
	if err != nil {
		return key, nil, apierr.From(err)
	}
	body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return key, nil, apierr.TooLarge(mbe.Limit)
		}
		return key, nil, apierr.BadRequest("", "Could not read the request body.")
	}
	return key, body, nil
}

// anthropicSink renders canonical output as Anthropic's wire format: a
// message JSON, or SSE events with a flush per batch of chunks; errors in
// Anthropic's shape, as an event once the stream has started.
type anthropicSink struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	meta    anthropic.Meta
	reqID   string
	enc     *anthropic.StreamEncoder // nil for a non-stream call
	buf     []byte
	started bool
}

var _ proxy.Sink = (*anthropicSink)(nil)

func (s *anthropicSink) WriteResponse(body []byte) error {
	msg, err := anthropic.ToMessage(body, s.meta)
	if err != nil {
		anthropic.WriteError(s.w, apierr.Internal(err), s.reqID)
		return nil
	}
	s.w.Header().Set("Content-Type", "application/json")
	s.w.WriteHeader(http.StatusOK)
	_, err = s.w.Write(msg)
	return err
}

func (s *anthropicSink) start() {
	if s.started {
		return
	}
	s.started = true
	if s.enc == nil { // a stream the handler did not ask for; cannot happen
		s.enc = anthropic.NewStreamEncoder(s.meta, 0)
	}
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	s.w.WriteHeader(http.StatusOK)
}

func (s *anthropicSink) WriteChunk(chunk []byte) error {
	s.start()
	s.buf = s.enc.Chunk(s.buf[:0], chunk)
	if len(s.buf) == 0 {
		return nil
	}
	_, err := s.w.Write(s.buf)
	return err
}

func (s *anthropicSink) Flush() error { return s.rc.Flush() }

func (s *anthropicSink) WriteDone() error {
	s.start()
	s.buf = s.enc.Done(s.buf[:0])
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *anthropicSink) WriteError(e *apierr.Error) {
	if !s.started {
		anthropic.WriteError(s.w, e, s.reqID)
		return
	}
	// Mid-stream: the status line is gone. Anthropic sends an error event
	// and closes the stream without message_stop.
	s.buf = anthropic.AppendErrorEvent(s.buf[:0], e, s.reqID)
	if _, err := s.w.Write(s.buf); err == nil {
		s.rc.Flush()
	}
}
