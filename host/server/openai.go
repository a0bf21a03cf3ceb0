package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/proxy"
	anthropicsurface "github.com/aignehub/hub/host/surface/anthropic"
	"github.com/aignehub/hub/sdk/abi"
)

// chatCompletions is POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.serveOpenAI(w, r, abi.APIChatCompletions, parseChat)
}

// embeddings is POST /v1/embeddings.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.serveOpenAI(w, r, abi.APIEmbeddings, parseEmbeddings)
}

// imageGenerations is POST /v1/images/generations.
func (s *Server) imageGenerations(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	s.serveOpenAI(w, r, abi.APIImages, parseImages)
}

// serveOpenAI runs one call of an OpenAI-surface API: authenticate, read
// and validate the body with parse, then hand it to the engine.
func (s *Server) serveOpenAI(w http.ResponseWriter, r *http.Request, api string, parse func([]byte) (chatRequest, *apierr.Error)) {
	call, aerr := s.readCall(w, r)
	if aerr != nil {
		apierr.WriteOpenAI(w, aerr)
		return
	}
	req, aerr := parse(call.Body)
	if aerr != nil {
		apierr.WriteOpenAI(w, aerr)
		return
	}
	call.API, call.Model, call.Stream, call.IncludeUsage, call.Limits = api, req.model, req.stream, req.includeUsage, req.limits
	s.opts.Engine.Serve(r.Context(), call, &openAISink{eventStream: newEventStream(w)})
}

// chatRequest is what the hub itself needs from a chat request; the rest of
// the body travels to the plugin untouched.
type chatRequest struct {
	model        string
	stream       bool
	includeUsage bool
	limits       proxy.Limits
}

// Field type rules for OpenAI chat requests, checked without decoding the
// whole body. OpenAI rejects a wrong type with a 400 naming the field.
var (
	numberFields  = []string{"temperature", "top_p", "presence_penalty", "frequency_penalty"}
	integerFields = []string{"n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs"}
	boolFields    = []string{"stream", "logprobs", "parallel_tool_calls", "store"}
	objectFields  = []string{"response_format", "stream_options", "logit_bias", "metadata"}
	arrayFields   = []string{"tools"}
	stringFields  = []string{"user", "reasoning_effort", "service_tier"}
	roles         = map[string]bool{"developer": true, "system": true, "user": true, "assistant": true, "tool": true, "function": true}
)

// parseObject checks that body is one JSON object without duplicate
// members and returns it with its "model", which must be a non-empty string.
func parseObject(body []byte) (root gjson.Result, model string, aerr *apierr.Error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || !gjson.ValidBytes(trimmed) {
		return root, "", apierr.BadRequest("", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	root = gjson.ParseBytes(trimmed)
	// A duplicated member would let the hub route and meter one value while
	// the upstream, whose parser may keep the last one, acts on another.
	var dup string
	seen := make(map[string]struct{}, 16)
	root.ForEach(func(k, _ gjson.Result) bool {
		if _, ok := seen[k.Str]; ok {
			dup = k.Str
			return false
		}
		seen[k.Str] = struct{}{}
		return true
	})
	if dup != "" {
		return root, "", apierr.BadRequest(dup, "Duplicate member '"+dup+"' in the request body.")
	}
	m := root.Get("model")
	switch {
	case !m.Exists() || m.Type == gjson.Null:
		return root, "", apierr.BadRequest("model", "Missing required parameter: 'model'.")
	case m.Type != gjson.String:
		return root, "", invalidType("model", "a string", m)
	case m.Str == "":
		return root, "", apierr.BadRequest("model", "Invalid 'model': empty string.")
	}
	return root, m.Str, nil
}

// parseChat validates a chat-completions body and extracts what routing
// needs. Errors are OpenAI-shaped 400s naming the offending field.
func parseChat(body []byte) (chatRequest, *apierr.Error) {
	var req chatRequest
	root, model, aerr := parseObject(body)
	if aerr != nil {
		return req, aerr
	}
	req.model = model

	msgs := root.Get("messages")
	switch {
	case !msgs.Exists() || msgs.Type == gjson.Null:
		return req, apierr.BadRequest("messages", "Missing required parameter: 'messages'.")
	case !msgs.IsArray():
		return req, invalidType("messages", "an array", msgs)
	}
	n := 0
	var bad *apierr.Error
	msgs.ForEach(func(_, msg gjson.Result) bool {
		param := "messages[" + strconv.Itoa(n) + "]"
		n++
		if !msg.IsObject() {
			bad = invalidType(param, "an object", msg)
			return false
		}
		role := msg.Get("role")
		if role.Type != gjson.String {
			bad = apierr.BadRequest(param+".role", "Missing required parameter: '"+param+".role'.")
			return false
		}
		if !roles[role.Str] {
			bad = apierr.BadRequest(param+".role", "Invalid value: '"+role.Str+"'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.")
			return false
		}
		if c := msg.Get("content"); c.Exists() && c.Type != gjson.String && c.Type != gjson.Null && !c.IsArray() {
			bad = invalidType(param+".content", "a string or an array", c)
			return false
		}
		return true
	})
	if bad != nil {
		return req, bad
	}
	if n == 0 {
		return req, apierr.BadRequest("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}

	for _, f := range numberFields {
		if v := root.Get(f); v.Exists() && v.Type != gjson.Number && v.Type != gjson.Null {
			return req, invalidType(f, "a decimal", v)
		}
	}
	var maxTokens, maxCompletion int64
	for _, f := range integerFields {
		v := root.Get(f)
		if v.Exists() && v.Type != gjson.Null && (v.Type != gjson.Number || v.Num != float64(int64(v.Num))) {
			return req, invalidType(f, "an integer", v)
		}
		switch {
		case v.Type != gjson.Number:
		case f == "max_tokens":
			maxTokens = v.Int()
		case f == "max_completion_tokens":
			maxCompletion = v.Int()
		}
	}
	req.limits = proxy.Limits{Known: true}
	switch {
	case maxCompletion > 0:
		req.limits.MaxOutputTokens = maxCompletion
	case maxTokens > 0:
		req.limits.MaxOutputTokens = maxTokens
	}
	for _, f := range boolFields {
		if v := root.Get(f); v.Exists() && v.Type != gjson.Null && !v.IsBool() {
			return req, invalidType(f, "a boolean", v)
		}
	}
	for _, f := range objectFields {
		if v := root.Get(f); v.Exists() && v.Type != gjson.Null && !v.IsObject() {
			return req, invalidType(f, "an object", v)
		}
	}
	for _, f := range arrayFields {
		if v := root.Get(f); v.Exists() && v.Type != gjson.Null && !v.IsArray() {
			return req, invalidType(f, "an array", v)
		}
	}
	for _, f := range stringFields {
		if v := root.Get(f); v.Exists() && v.Type != gjson.Null && v.Type != gjson.String {
			return req, invalidType(f, "a string", v)
		}
	}
	if v := root.Get("stop"); v.Exists() && v.Type != gjson.Null && v.Type != gjson.String && !v.IsArray() {
		return req, invalidType("stop", "a string or an array", v)
	}
	if v := root.Get("tool_choice"); v.Exists() && v.Type != gjson.Null && v.Type != gjson.String && !v.IsObject() {
		return req, invalidType("tool_choice", "a string or an object", v)
	}

	req.stream = root.Get("stream").Type == gjson.True
	so := root.Get("stream_options")
	if so.IsObject() {
		if !req.stream {
			return req, apierr.BadRequest("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		iu := so.Get("include_usage")
		if iu.Exists() && iu.Type != gjson.Null && !iu.IsBool() {
			return req, invalidType("stream_options.include_usage", "a boolean", iu)
		}
		req.includeUsage = iu.Type == gjson.True
	}
	return req, nil
}

func invalidType(param, want string, got gjson.Result) *apierr.Error {
	return apierr.BadRequest(param, "Invalid type for '"+param+"': expected "+want+", but got "+jsonType(got)+" instead.")
}

func jsonType(v gjson.Result) string {
	switch v.Type {
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	case gjson.Null:
		return "null"
	}
	if v.IsArray() {
		return "an array"
	}
	return "an object"
}

// openAISink renders canonical output as OpenAI's wire format. Canonical is
// OpenAI, so non-stream bodies and chunks pass through; streams are SSE with
// a flush per event and end with "data: [DONE]".
type openAISink struct {
	eventStream
}

var _ proxy.Sink = (*openAISink)(nil)

func (s *openAISink) WriteResponse(body []byte) error {
	return writeBody(s.w, "application/json", body)
}

// event starts the stream and puts one SSE event in buf.
func (s *openAISink) event(data []byte) {
	s.begin(sseContentType)
	s.buf = append(s.buf[:0], "data: "...)
	if bytes.IndexByte(data, '\n') < 0 {
		s.buf = append(s.buf, data...)
	} else {
		s.buf = append(s.buf, bytes.ReplaceAll(data, []byte("\n"), []byte("\ndata: "))...)
	}
	s.buf = append(s.buf, "\n\n"...)
}

func (s *openAISink) WriteChunk(chunk []byte) error {
	s.event(chunk)
	return s.send()
}

func (s *openAISink) WriteDone() error {
	s.event([]byte("[DONE]"))
	return s.sendFlush()
}

func (s *openAISink) WriteError(e *apierr.Error) {
	if !s.started {
		apierr.WriteOpenAI(s.w, e)
		return
	}
	// Mid-stream: the status line is gone; send the error as an event, as
	// OpenAI does, and end the stream without [DONE] so clients see failure.
	s.event(apierr.OpenAIJSON(e))
	s.sendFlush()
}

// modelList builds the GET /v1/models body.
// modelList is the model list in OpenAI's shape: every model keep accepts
// (nil: every model).
func modelList(r *proxy.Router, created time.Time, keep func(proxy.ModelInfo) bool) []byte {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range r.Models() {
		if keep != nil && !keep(m) {
			continue
		}
		list.Data = append(list.Data, model{ID: m.ID, Object: "model", Created: created.Unix(), OwnedBy: m.Provider})
	}
	b, _ := json.Marshal(list)
	return b
}

// listModels is GET /v1/models, in OpenAI's shape, or in Anthropic's when
// the request carries anthropic-version (the Anthropic SDK's models.list).
func (s *Server) listModels(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	anthropic := r.Header.Get("Anthropic-Version") != ""
	key, err := s.opts.Auth.Authenticate(r.Context(), r)
	if err != nil {
		if anthropic {
			anthropicsurface.WriteError(w, apierr.From(err), w.Header().Get("X-Request-Id"))
			return
		}
		apierr.WriteOpenAI(w, apierr.From(err))
		return
	}
	rt := s.opts.Engine.Router()
	w.Header().Set("Content-Type", "application/json")
	if allowed := key.AllowedModels; len(allowed) > 0 {
		// A key with an allow-list sees only the models it may use.
		keep := func(m proxy.ModelInfo) bool { return limits.ModelAllowed(allowed, m.ID, m.Model) }
		if anthropic {
			w.Write(anthropicModelList(rt, s.created, keep))
		} else {
			w.Write(modelList(rt, s.created, keep))
		}
		return
	}
	mb := s.models.Load()
	// A rebuilt router starts its version again: the cache is per router.
	if v := rt.Version(); mb == nil || mb.router != rt || mb.version != v {
		mb = &modelsBody{router: rt, version: v, body: modelList(rt, s.created, nil), anthropic: anthropicModelList(rt, s.created, nil)}
		s.models.Store(mb)
	}
	if anthropic {
		w.Write(mb.anthropic)
		return
	}
	w.Write(mb.body)
}

// anthropicModelList is the model list in Anthropic's shape: every model,
// one page.
func anthropicModelList(r *proxy.Router, created time.Time, keep func(proxy.ModelInfo) bool) []byte {
	type model struct {
		Type        string `json:"type"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		CreatedAt   string `json:"created_at"`
	}
	list := struct {
		Data    []model `json:"data"`
		HasMore bool    `json:"has_more"`
		FirstID *string `json:"first_id"`
		LastID  *string `json:"last_id"`
	}{Data: []model{}}
	at := created.UTC().Format(time.RFC3339)
	for _, m := range r.Models() {
		if keep != nil && !keep(m) {
			continue
		}
		list.Data = append(list.Data, model{Type: "model", ID: m.ID, DisplayName: m.ID, CreatedAt: at})
	}
	if n := len(list.Data); n > 0 {
		list.FirstID, list.LastID = &list.Data[0].ID, &list.Data[n-1].ID
	}
	b, _ := json.Marshal(list)
	return b
}

// modelsBody is a built /v1/models body and the router version it lists.
type modelsBody struct {
	router    *proxy.Router
	version   uint64
	body      []byte
	anthropic []byte
}
