package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/surface/aigne"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// The AIGNE Hub v2 surface, so that AIGNE apps switch to this hub by
// changing only its URL (host/surface/aigne has the formats):
//
//	GET  /__blocklet__.js[?type=json]        discovery: the hub as AIGNE Hub's component, mounted at /
//	POST /api/v2/chat                        the AIGNE framework invoke format (JSON, or SSE deltas)
//	POST /api/v2/chat/completions            the legacy camelCase format (also /api/v2/completions)
//	POST /api/v2/embeddings                  {model, input} → {data}
//	POST /api/v2/image                       the invoke format of AIGNEHubImageModel
//	POST /api/v2/image/generations           the legacy image format
//	GET  /api/v2/status[?model=]             {available, error}
//	GET  /api/ai/models[?type=]              the model list with credits per token (also /api/ai-providers/models)
//
// Calls are converted to the canonical form and run through the same engine
// as every other surface: routing, failover, limits, metering and billing
// apply unchanged. The caller's key comes as "Authorization: Bearer KEY",
// as @aigne/transport's BaseClient sends it (x-api-key works too). The
// discovery document and the model list are public, as in AIGNE Hub: the
// client fetches both without its key.

// RatesFunc returns the model prices callers pay, keyed as
// store.ModelRate.Model is: "provider/model", or a bare model that prices
// it on every provider without a rate of its own.
type RatesFunc func(ctx context.Context) (map[string]store.ModelRate, error)

// aigneChat is POST /api/v2/chat.
func (s *Server) aigneChat(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	call, aerr := s.readCall(w, r)
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	chat, aerr := aigne.ChatToCanonical(call.Body)
	if aerr == nil {
		_, aerr = parseChat(chat.Body) // the OpenAI surface's rules hold for what is sent upstream
	}
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	sink := &aigneSink{eventStream: newEventStream(w), json: chat.JSON}
	if chat.Stream {
		sink.enc = aigne.NewStreamEncoder(chat.JSON)
	}
	call.API, call.Model, call.Body = abi.APIChatCompletions, chat.Model, chat.Body
	call.Stream = chat.Stream
	call.IncludeUsage = chat.Stream // the usage delta
	s.opts.Engine.Serve(r.Context(), call, sink)
}

// aigneChatCompletions is POST /api/v2/chat/completions and
// /api/v2/completions, the legacy format.
func (s *Server) aigneChatCompletions(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	events := strings.Contains(r.Header.Get("Accept"), "text/event-stream")
	sink := &legacySink{eventStream: newEventStream(w), mode: aigne.LegacyJSON}
	if events {
		sink.mode = aigne.LegacyEvents
	}
	call, aerr := s.readCall(w, r)
	if aerr != nil {
		sink.WriteError(aerr)
		return
	}
	req, aerr := aigne.LegacyToCanonical(call.Body, events)
	if aerr == nil {
		_, aerr = parseChat(req.Body)
	}
	if aerr != nil {
		sink.WriteError(aerr)
		return
	}
	sink.mode = req.Mode
	stream := req.Mode != aigne.LegacyJSON
	if stream {
		sink.enc = aigne.NewLegacyStreamEncoder(req.Mode)
	}
	call.API, call.Model, call.Body = abi.APIChatCompletions, req.Model, req.Body
	call.Stream, call.IncludeUsage = stream, stream
	s.opts.Engine.Serve(r.Context(), call, sink)
}

// aigneEmbeddings is POST /api/v2/embeddings.
func (s *Server) aigneEmbeddings(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	call, aerr := s.readCall(w, r)
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	canonical, model, aerr := aigne.EmbeddingsToCanonical(call.Body)
	if aerr == nil {
		_, aerr = parseEmbeddings(canonical)
	}
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	call.API, call.Model, call.Body = abi.APIEmbeddings, model, canonical
	s.opts.Engine.Serve(r.Context(), call,
		&aigneWholeSink{w: w, convert: func(b []byte, _ *int64) ([]byte, error) { return aigne.EmbeddingsOutput(b) }})
}

// aigneImage is POST /api/v2/image (the invoke format).
func (s *Server) aigneImage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.aigneImages(w, r, aigne.ImageToCanonical, aigne.ImageOutput)
}

// aigneImageGenerations is POST /api/v2/image/generations (the legacy
// format).
func (s *Server) aigneImageGenerations(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.aigneImages(w, r, aigne.ImageGenerationsToCanonical, aigne.ImageGenerationsOutput)
}

func (s *Server) aigneImages(w http.ResponseWriter, r *http.Request, parse func([]byte) (aigne.Image, *apierr.Error),
	output func([]byte, aigne.Image, *int64) ([]byte, error)) {
	call, aerr := s.readCall(w, r)
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	img, aerr := parse(call.Body)
	if aerr == nil {
		_, aerr = parseImages(img.Body)
	}
	if aerr != nil {
		aigne.WriteError(w, aerr)
		return
	}
	call.API, call.Model, call.Body = abi.APIImages, img.Model, img.Body
	s.opts.Engine.Serve(r.Context(), call,
		&aigneWholeSink{w: w, convert: func(b []byte, credits *int64) ([]byte, error) { return output(b, img, credits) }})
}

// aigneStatus is GET /api/v2/status: whether the hub can serve, or serve
// ?model= (a "provider/model", bare model or alias) to the caller. A key,
// when one is presented, must be valid; its model allow-list then applies.
// With Options.Rates, a model without a price is not available.
func (s *Server) aigneStatus(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var key store.APIKey
	if auth.HasCredentials(r) {
		k, err := s.opts.Auth.Authenticate(r.Context(), r)
		if err != nil {
			aigne.WriteError(w, apierr.From(err))
			return
		}
		key = k
	}
	available, reason := s.aigneAvailable(r.Context(), key, r.URL.Query().Get("model"))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(aigne.Status(available, reason), '\n'))
}

func (s *Server) aigneAvailable(ctx context.Context, key store.APIKey, model string) (bool, string) {
	rt := s.opts.Engine.Router()
	usable := func(p *proxy.Provider) bool { return p.State(nil).Status != "unavailable" }
	if model == "" {
		if slices.ContainsFunc(rt.Providers(), usable) {
			return true, ""
		}
		return false, "No provider has a usable credential"
	}
	targets, err := rt.Resolve(model)
	if err != nil {
		return false, "Model " + model + " is not available"
	}
	if allowed := key.AllowedModels; len(allowed) > 0 && !limits.ModelAllowed(allowed, model) {
		targets = slices.DeleteFunc(targets, func(t proxy.Target) bool {
			return !limits.ModelAllowed(allowed, t.Provider.Name+"/"+t.Model, t.Model)
		})
		if len(targets) == 0 {
			return false, "This API key is not allowed to use the model " + model
		}
	}
	if s.opts.Rates != nil {
		rates, err := s.opts.Rates(ctx)
		if err != nil {
			s.opts.Logger.Error("aigne status: model rates", "err", err)
			return false, "Model rates are not available"
		}
		targets = slices.DeleteFunc(targets, func(t proxy.Target) bool {
			_, priced := rateOf(rates, t.Provider.Name, t.Model)
			return !priced
		})
		if len(targets) == 0 {
			return false, "Model rate not available"
		}
	}
	if !slices.ContainsFunc(targets, func(t proxy.Target) bool { return usable(t.Provider) }) {
		return false, "No provider of " + model + " has a usable credential"
	}
	return true, ""
}

// rateOf is the price of model at provider: its own rate, else the bare
// model's.
func rateOf(rates map[string]store.ModelRate, provider, model string) (store.ModelRate, bool) {
	if r, ok := rates[provider+"/"+model]; ok {
		return r, true
	}
	r, ok := rates[model]
	return r, ok
}

// aigneModels is GET /api/ai/models and /api/ai-providers/models: every
// "provider/model" the router serves (aliases are not listed), filtered by
// ?type=, with prices from Options.Rates ("0" when unpriced or when Rates
// is nil) and availability from the provider's credential state. Public,
// as in AIGNE Hub: the client's getModels sends no key.
func (s *Server) aigneModels(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var rates map[string]store.ModelRate
	if s.opts.Rates != nil {
		var err error
		if rates, err = s.opts.Rates(r.Context()); err != nil {
			aigne.WriteError(w, apierr.Internal(err))
			s.opts.Logger.Error("aigne models: model rates", "err", err)
			return
		}
	}
	filter := aigne.FilterType(r.URL.Query().Get("type"))
	rt := s.opts.Engine.Router()
	var list []aigne.Model
	avail := map[*proxy.Provider]bool{}
	for _, m := range rt.Models() {
		p, ok := rt.Provider(m.Provider)
		if !ok {
			continue
		}
		rate, _ := rateOf(rates, m.Provider, m.Model)
		typ := aigne.ModelType(m.Model, p.Plugin.Manifest().APIs, rate.PerImage > 0)
		if filter != "" && typ != filter {
			continue
		}
		a, seen := avail[p]
		if !seen {
			a = p.State(nil).Status != "unavailable"
			avail[p] = a
		}
		list = append(list, aigne.Model{Provider: m.Provider, Model: m.Model, Type: typ,
			InputPerM: rate.InputPerM, OutputPerM: rate.OutputPerM, PerImage: rate.PerImage, Available: a})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(append(aigne.ModelList(list), '\n'))
}

// aigneBlocklet is GET /__blocklet__.js: the discovery document, as JSON
// with ?type=json, else as the window.blocklet script.
func (s *Server) aigneBlocklet(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	b := aigne.Blocklet{AppURL: scheme + "://" + r.Host}
	if r.URL.Query().Get("type") == "json" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(append(b.JSON(), '\n'))
		return
	}
	w.Header().Set("Content-Type", "application/javascript; charset=utf-8")
	w.Write(b.Script())
}

// aigneSink renders canonical output for POST /api/v2/chat: the
// ChatModelOutput JSON, or SSE deltas with a flush per batch; errors as
// HTTP errors, or as "event: error" once the stream has started.
type aigneSink struct {
	eventStream
	json    bool
	enc     *aigne.StreamEncoder // nil for a non-stream call
	credits *int64
}

var _ proxy.Sink = (*aigneSink)(nil)

// SetCredits records what the call was charged, reported as
// usage.aigneHubCredits (proxy.CreditsSink: the engine calls it after
// settling, before the final bytes; without billing it is never called
// and aigneHubCredits is left out).
func (s *aigneSink) SetCredits(micro int64) {
	s.credits = &micro
	if s.enc != nil {
		s.enc.SetCredits(micro)
	}
}

func (s *aigneSink) WriteResponse(body []byte) error {
	out, err := aigne.ChatOutput(body, aigne.OutputOptions{JSON: s.json, Credits: s.credits})
	return writeAIGNE(s.w, out, err)
}

func (s *aigneSink) start() {
	s.begin(sseContentType)
	if s.enc == nil { // a stream the handler did not ask for; cannot happen
		s.enc = aigne.NewStreamEncoder(s.json)
	}
}

func (s *aigneSink) WriteChunk(chunk []byte) error {
	s.start()
	return s.chunk(s.enc, chunk)
}

func (s *aigneSink) WriteDone() error {
	s.start()
	return s.done(s.enc)
}

func (s *aigneSink) WriteError(e *apierr.Error) {
	if !s.started {
		aigne.WriteError(s.w, e)
		return
	}
	s.buf = aigne.AppendErrorEvent(s.buf[:0], e)
	s.sendFlush()
}

// legacySink renders canonical output for the legacy chat format in its
// mode: JSON, SSE chunks, or bare text.
type legacySink struct {
	eventStream
	mode aigne.LegacyMode
	enc  *aigne.LegacyStreamEncoder
}

var _ proxy.Sink = (*legacySink)(nil)

func (s *legacySink) WriteResponse(body []byte) error {
	out, err := aigne.LegacyOutput(body)
	return writeAIGNE(s.w, out, err)
}

func (s *legacySink) start() {
	contentType := sseContentType
	if s.mode == aigne.LegacyText {
		contentType = "text/plain; charset=utf-8"
	}
	s.begin(contentType)
	if s.enc == nil {
		s.enc = aigne.NewLegacyStreamEncoder(s.mode)
	}
}

func (s *legacySink) WriteChunk(chunk []byte) error {
	s.start()
	return s.chunk(s.enc, chunk)
}

func (s *legacySink) WriteDone() error {
	s.start()
	return s.done(s.enc)
}

// WriteError answers an event-stream client with an error event, even
// before the stream started (status 200, as AIGNE Hub's error handler
// does for text/event-stream requests); others get an HTTP error, or
// "ERROR: …" in a text stream that has started.
func (s *legacySink) WriteError(e *apierr.Error) {
	if !s.started && s.mode != aigne.LegacyEvents {
		aigne.WriteError(s.w, e)
		return
	}
	s.start()
	s.buf = aigne.AppendLegacyError(s.buf[:0], s.mode, e)
	s.sendFlush()
}

// aigneWholeSink renders a non-stream canonical answer with convert
// (embeddings, images).
type aigneWholeSink struct {
	w       http.ResponseWriter
	convert func(body []byte, credits *int64) ([]byte, error)
	credits *int64
}

var _ proxy.Sink = (*aigneWholeSink)(nil)

// SetCredits records what the call was charged (see aigneSink.SetCredits).
func (s *aigneWholeSink) SetCredits(micro int64) { s.credits = &micro }

func (s *aigneWholeSink) WriteResponse(body []byte) error {
	out, err := s.convert(body, s.credits)
	return writeAIGNE(s.w, out, err)
}

var errNoStream = errors.New("aigne: a stream chunk for a non-stream call")

func (s *aigneWholeSink) WriteChunk([]byte) error    { return errNoStream }
func (s *aigneWholeSink) Flush() error               { return nil }
func (s *aigneWholeSink) WriteDone() error           { return errNoStream }
func (s *aigneWholeSink) WriteError(e *apierr.Error) { aigne.WriteError(s.w, e) }
