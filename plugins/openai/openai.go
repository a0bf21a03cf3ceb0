package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

// config is the plugin's [plugins.openai.config] table.
type config struct {
	// Organization is sent as OpenAI-Organization when set.
	Organization string `json:"organization"`
	// Project is sent as OpenAI-Project when set.
	Project string `json:"project"`
	// Headers are extra headers sent with every upstream request.
	Headers map[string]string `json:"headers"`
}

type plugin struct {
	headers []abi.Header // fixed request headers, built once from config
}

func newPlugin(cfg []byte) *plugin {
	var c config
	_ = json.Unmarshal(cfg, &c) // an invalid config leaves the defaults
	p := &plugin{headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}}
	if c.Organization != "" {
		p.headers = append(p.headers, abi.Header{Name: "OpenAI-Organization", Value: c.Organization})
	}
	if c.Project != "" {
		p.headers = append(p.headers, abi.Header{Name: "OpenAI-Project", Value: c.Project})
	}
	for k, v := range c.Headers {
		p.headers = append(p.headers, abi.Header{Name: k, Value: v})
	}
	return p
}

func (p *plugin) Manifest() abi.Manifest {
	return abi.Manifest{
		Name:          "openai",
		Version:       Version,
		Description:   "OpenAI and OpenAI-compatible upstreams (deepseek, xai, openrouter, doubao, poe, any compatible server)",
		APIs:          []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIImages, abi.APIModels},
		Auth:          abi.AuthBearer,
		StreamFraming: abi.FramingSSE,
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"organization": map[string]any{"type": "string"},
				"project":      map[string]any{"type": "string"},
				"headers":      map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
			},
		},
	}
}

// State carried from Request to Response/StreamEvent: three bytes, the
// state bits, the flavor, and the API.
const (
	stateWantUsage byte = 1 << 0 // the client asked for the usage chunk
	stateStream    byte = 1 << 1
)

// APIs, the third state byte.
const (
	apiChat byte = iota
	apiEmbeddings
	apiImages
	apiModels
)

type callState struct {
	bits   byte
	flavor flavor
	api    byte
}

func readState(b []byte) callState {
	var s callState
	if len(b) > 0 {
		s.bits = b[0]
	}
	if len(b) > 1 {
		s.flavor = flavor(b[1])
	}
	if len(b) > 2 {
		s.api = b[2]
	}
	return s
}

func (s callState) bytes() []byte { return []byte{s.bits, byte(s.flavor), s.api} }

var errNotObject = &abi.Error{Status: 400, Type: "invalid_request_error", Message: "the request body is not a JSON object"}

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	o, aerr := parseOptions(in.Options, in.Provider)
	if aerr != nil {
		return nil, aerr
	}
	if !o.flavor.serves(in.API) {
		return nil, oai.Unsupported(o.flavor.String()+" (openai plugin)", in.API)
	}
	headers := p.headers
	if len(o.headers) > 0 {
		headers = append(headers[:len(headers):len(headers)], o.headers...)
	}
	st := callState{flavor: o.flavor}
	switch in.API {
	case abi.APIEmbeddings:
		st.api = apiEmbeddings
		body, ok := rewrite(in.Body, in.Model, false)
		if !ok {
			return nil, errNotObject
		}
		return &abi.RequestOut{Method: "POST", Path: "/embeddings", Headers: headers, Body: body, State: st.bytes()}, nil
	case abi.APIImages:
		st.api = apiImages
		body, err := imagesBody(in, o)
		if err != nil {
			return nil, err
		}
		return &abi.RequestOut{Method: "POST", Path: "/images/generations", Headers: headers, Body: body, State: st.bytes()}, nil
	case abi.APIModels:
		st.api = apiModels
		return &abi.RequestOut{Method: "GET", Path: "/models", Headers: headers[1:], State: st.bytes()}, nil
	}
	stream := in.Flags&abi.FlagStream != 0
	wantUsage := stream && in.Flags&abi.FlagIncludeUsage != 0
	body, ok := rewrite(in.Body, in.Model, stream && (!o.noUsage || wantUsage))
	if !ok {
		return nil, errNotObject
	}
	switch o.flavor {
	case flavorDeepSeek:
		body = stripReasoningHistory(body)
	case flavorOpenRouter:
		if o.orProvider != "" && !gjson.GetBytes(body, "provider").Exists() {
			body, _ = sjson.SetRawBytes(body, "provider", []byte(o.orProvider))
		}
	}
	if stream {
		st.bits |= stateStream
		if wantUsage {
			st.bits |= stateWantUsage
		}
		headers = append(headers[:len(headers):len(headers)], abi.Header{Name: "Accept", Value: "text/event-stream"})
	}
	return &abi.RequestOut{Method: "POST", Path: "/chat/completions", Headers: headers, Body: body, State: st.bytes()}, nil
}

// stripReasoningHistory removes reasoning_content from the request's
// messages: DeepSeek answers 400 when a client sends its own earlier
// reasoning back, as clients that replay whole messages do.
func stripReasoningHistory(body []byte) []byte {
	if !bytes.Contains(body, reasoningContentKey) {
		return body
	}
	var paths []string
	gjson.GetBytes(body, "messages").ForEach(func(k, m gjson.Result) bool {
		if m.Get("reasoning_content").Exists() {
			paths = append(paths, "messages."+k.String()+".reasoning_content")
		}
		return true
	})
	for _, p := range paths {
		body, _ = sjson.DeleteBytes(body, p)
	}
	return body
}

var reasoningContentKey = []byte(`"reasoning_content"`)

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	st := readState(in.State)
	switch st.api {
	case apiEmbeddings:
		return embeddingsResponse(in)
	case apiImages:
		return imagesResponse(in)
	case apiModels:
		if !gjson.GetBytes(in.Body, "data").IsArray() {
			return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider's model list has no data array", Retryable: true}
		}
		return &abi.ResponseOut{Body: in.Body}, nil
	}
	out := &abi.ResponseOut{Body: in.Body}
	// One pass finds usage (near the end); a full validation pass is paid
	// only when usage is missing, to tell a bad body from one without usage.
	if u := gjson.GetBytes(in.Body, "usage"); u.IsObject() {
		out.Usage = oai.ParseUsage(u)
	} else if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not JSON", Retryable: true}
	}
	if st.flavor == flavorOpenRouter {
		out.Body = renameReasoning(out.Body, "choices.0.message.reasoning")
	}
	return out, nil
}

// renameReasoning renames OpenRouter's "reasoning" member at path to the
// canonical "reasoning_content", in place when the body is ours to edit.
func renameReasoning(data []byte, path string) []byte {
	if !bytes.Contains(data, reasoningKey) {
		return data
	}
	v := gjson.GetBytes(data, path)
	if !v.Exists() || v.Index <= 0 {
		return data
	}
	k := bytes.LastIndex(data[:v.Index], reasoningKey)
	if k < 0 {
		return data
	}
	out := make([]byte, 0, len(data)+8)
	out = append(out, data[:k]...)
	out = append(out, reasoningContentKey...)
	return append(out, data[k+len(reasoningKey):]...)
}

var reasoningKey = []byte(`"reasoning"`)

var (
	doneData  = []byte("[DONE]")
	usageNull = []byte(`"usage":null`)
)

func (p *plugin) StreamEvent(ev abi.Event, out *abi.StreamOut) error {
	data := bytes.TrimSpace(ev.Data)
	if bytes.Equal(data, doneData) {
		out.Flags |= abi.StreamDone
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	st := readState(out.State)
	wantUsage := st.bits&stateWantUsage != 0
	if st.flavor == flavorOpenRouter {
		data = renameReasoning(data, "choices.0.delta.reasoning")
	}
	// Fast path: most chunks carry "usage":null (we always ask for usage).
	if i := bytes.Index(data, usageNull); i >= 0 {
		if !wantUsage {
			data = removeMember(data, i, len(usageNull))
		}
		out.Chunks = append(out.Chunks, data)
		return nil
	}
	if e := gjson.GetBytes(data, "error"); e.Exists() {
		return &abi.Error{
			Status:  502,
			Type:    orDefault(e.Get("type").String(), "upstream_error"),
			Code:    e.Get("code").String(),
			Message: orDefault(e.Get("message").String(), "the provider reported an error mid-stream"),
		}
	}
	if u := gjson.GetBytes(data, "usage"); u.IsObject() {
		out.Usage = oai.ParseUsage(u)
		// The extra usage chunk has "choices":[]; drop it unless asked for.
		if !wantUsage && len(gjson.GetBytes(data, "choices").Array()) == 0 {
			return nil
		}
	}
	out.Chunks = append(out.Chunks, data)
	return nil
}

// upstreamError normalizes an OpenAI error response by the gateway
// convention of oai.Normalize.
func upstreamError(in *abi.ResponseIn) *abi.Error {
	e := gjson.GetBytes(in.Body, "error")
	u := oai.UpstreamError{
		Status:     int(in.Status),
		RetryAfter: in.Header("Retry-After"),
		Type:       e.Get("type").String(),
		Code:       e.Get("code").String(),
		Param:      e.Get("param").String(),
		Message:    e.Get("message").String(),
	}
	if !e.IsObject() && e.Type == gjson.String {
		u.Message = e.String()
	}
	return oai.Normalize(u)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// edit replaces body[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// rewrite sets the top-level "model" to model and, for a stream, makes
// stream_options.include_usage true, in one pass over the top-level members
// and one copy, without re-encoding anything else. The host has already
// validated the body as JSON; ok is false if it is not an object.
func rewrite(body []byte, model string, stream bool) (out []byte, ok bool) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, false
	}
	var m, so gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			m = v
		case "stream_options":
			so = v
		}
		return true
	})
	var edits [3]edit
	n := 0
	var appended []string // members added at the end of the object
	quoted := strconv.Quote(model)
	if m.Exists() {
		edits[n] = edit{m.Index, m.Index + len(m.Raw), quoted}
		n++
	} else {
		appended = append(appended, `"model":`+quoted)
	}
	if stream {
		// Indexes of a lookup inside so.Raw are relative to it.
		switch iu := gjson.Get(so.Raw, "include_usage"); {
		case iu.Type == gjson.True:
		case iu.Exists():
			at := so.Index + iu.Index
			edits[n] = edit{at, at + len(iu.Raw), "true"}
			n++
		case so.IsObject():
			open := strings.IndexByte(so.Raw, '{')
			text := `"include_usage":true`
			if strings.TrimSpace(so.Raw[open+1:len(so.Raw)-1]) != "" {
				text += ","
			}
			edits[n] = edit{so.Index + open + 1, so.Index + open + 1, text}
			n++
		case so.Exists(): // null or another non-object
			edits[n] = edit{so.Index, so.Index + len(so.Raw), `{"include_usage":true}`}
			n++
		default:
			appended = append(appended, `"stream_options":{"include_usage":true}`)
		}
	}
	if len(appended) > 0 {
		end := bytes.LastIndexByte(body, '}')
		text := strings.Join(appended, ",")
		if len(bytes.TrimSpace(body[bytes.IndexByte(body, '{')+1:end])) > 0 {
			text = "," + text
		}
		edits[n] = edit{end, end, text}
		n++
	}
	es := edits[:n]
	for i := 1; i < len(es); i++ { // at most three edits: insertion sort
		for j := i; j > 0 && es[j].start < es[j-1].start; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	size := len(body)
	for _, e := range es {
		size += len(e.text) - (e.end - e.start)
	}
	out = make([]byte, 0, size)
	last := 0
	for _, e := range es {
		out = append(out, body[last:e.start]...)
		out = append(out, e.text...)
		last = e.end
	}
	return append(out, body[last:]...), true
}

// removeMember removes the object member at data[i:i+n] together with one
// adjacent comma. data is modified in place.
func removeMember(data []byte, i, n int) []byte {
	j := i + n
	if j < len(data) && data[j] == ',' {
		return append(data[:i], data[j+1:]...)
	}
	if i > 0 && data[i-1] == ',' {
		return append(data[:i-1], data[j:]...)
	}
	return append(data[:i], data[j:]...)
}
