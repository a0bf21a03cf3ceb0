package main

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/tidwall/gjson"
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
		Description:   "OpenAI chat completions (and any OpenAI-compatible server)",
		APIs:          []string{abi.APIChatCompletions},
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

// State bits carried from Request to Response/StreamEvent.
const (
	stateWantUsage byte = 1 << 0 // the client asked for the usage chunk
	stateStream    byte = 1 << 1
)

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	if in.API != abi.APIChatCompletions {
		return nil, &abi.Error{Status: 400, Type: "invalid_request_error", Message: "the openai plugin does not serve " + in.API}
	}
	if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 400, Type: "invalid_request_error", Message: "request body is not valid JSON"}
	}
	body := setString(in.Body, "model", in.Model)
	var state byte
	headers := p.headers
	if in.Flags&abi.FlagStream != 0 {
		state |= stateStream
		if in.Flags&abi.FlagIncludeUsage != 0 {
			state |= stateWantUsage
		}
		body = forceIncludeUsage(body)
		headers = append(headers[:len(headers):len(headers)], abi.Header{Name: "Accept", Value: "text/event-stream"})
	}
	return &abi.RequestOut{Method: "POST", Path: "/chat/completions", Headers: headers, Body: body, State: []byte{state}}, nil
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not JSON", Retryable: true}
	}
	out := &abi.ResponseOut{Body: in.Body}
	if u := gjson.GetBytes(in.Body, "usage"); u.IsObject() {
		out.Usage = parseUsage(u)
	}
	return out, nil
}

var (
	doneData  = []byte("[DONE]")
	usageNull = []byte(`"usage":null`)
)

func (p *plugin) StreamEvent(in *abi.StreamIn, out *abi.StreamOut) error {
	data := bytes.TrimSpace(in.Data)
	if bytes.Equal(data, doneData) {
		out.Flags |= abi.StreamDone
		return nil
	}
	if len(data) == 0 {
		return nil
	}
	var state byte
	if len(in.State) > 0 {
		state = in.State[0]
	}
	wantUsage := state&stateWantUsage != 0
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
		out.Usage = parseUsage(u)
		// The extra usage chunk has "choices":[]; drop it unless asked for.
		if !wantUsage && len(gjson.GetBytes(data, "choices").Array()) == 0 {
			return nil
		}
	}
	out.Chunks = append(out.Chunks, data)
	return nil
}

func parseUsage(u gjson.Result) *abi.Usage {
	return &abi.Usage{
		InputTokens:      u.Get("prompt_tokens").Int(),
		OutputTokens:     u.Get("completion_tokens").Int(),
		CachedTokens:     u.Get("prompt_tokens_details.cached_tokens").Int(),
		CacheWriteTokens: u.Get("prompt_tokens_details.cache_write_tokens").Int(),
		ReasoningTokens:  u.Get("completion_tokens_details.reasoning_tokens").Int(),
	}
}

// upstreamError normalizes an OpenAI error response. The client-facing
// status follows the gateway convention: the client's own mistakes (400,
// 404, 413, 422) pass through; a rejected hub credential (401/403) and
// provider failures (5xx) become 502, a provider timeout 504; rate limits
// stay 429 with the Retry-After hint.
func upstreamError(in *abi.ResponseIn) *abi.Error {
	e := gjson.GetBytes(in.Body, "error")
	ae := &abi.Error{
		Type:    e.Get("type").String(),
		Code:    e.Get("code").String(),
		Param:   e.Get("param").String(),
		Message: e.Get("message").String(),
	}
	if !e.IsObject() && e.Type == gjson.String {
		ae.Message = e.String()
	}
	switch st := int(in.Status); {
	case st == 401 || st == 403:
		// Never echo the provider's message: it may quote part of the key.
		*ae = abi.Error{Status: 502, Type: "upstream_error", Code: "upstream_auth_failed",
			Message: "the provider rejected the hub's credential (HTTP " + strconv.Itoa(st) + ")", Retryable: true}
	case st == 429:
		ae.Status = 429
		ae.Type = orDefault(ae.Type, "rate_limit_error")
		ae.RetryAfterMS = abi.RetryAfterMS(in.Header("Retry-After"))
		ae.Retryable = ae.Code != "insufficient_quota" && ae.Type != "insufficient_quota"
	case st == 408 || st == 504:
		ae.Status = 504
		ae.Type = "upstream_timeout"
		ae.Retryable = true
	case st >= 500:
		ae.Status = 502
		ae.Type = "upstream_error"
		ae.Retryable = true
	case st >= 400:
		ae.Status = st
		ae.Type = orDefault(ae.Type, "invalid_request_error")
	default:
		ae.Status = 502
		ae.Type = "upstream_error"
	}
	if ae.Message == "" {
		ae.Message = "the provider answered HTTP " + strconv.Itoa(int(in.Status))
	}
	return ae
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// setString sets the top-level string member key of the JSON object obj to
// v, replacing it in place or appending it, without re-encoding the rest.
func setString(obj []byte, key, v string) []byte {
	val := strconv.AppendQuote(nil, v)
	if r := gjson.GetBytes(obj, key); r.Exists() && r.Index > 0 {
		out := make([]byte, 0, len(obj)+len(val))
		out = append(out, obj[:r.Index]...)
		out = append(out, val...)
		return append(out, obj[r.Index+len(r.Raw):]...)
	}
	return appendMember(obj, key, val)
}

// forceIncludeUsage makes stream_options.include_usage true.
func forceIncludeUsage(obj []byte) []byte {
	if r := gjson.GetBytes(obj, "stream_options.include_usage"); r.Exists() && r.Index > 0 {
		if r.Type == gjson.True {
			return obj
		}
		out := make([]byte, 0, len(obj)+4)
		out = append(out, obj[:r.Index]...)
		out = append(out, "true"...)
		return append(out, obj[r.Index+len(r.Raw):]...)
	}
	if r := gjson.GetBytes(obj, "stream_options"); r.IsObject() && r.Index > 0 {
		member := `"include_usage":true`
		if len(r.Map()) > 0 {
			member += ","
		}
		brace := r.Index + bytes.IndexByte([]byte(r.Raw), '{') + 1
		out := make([]byte, 0, len(obj)+len(member))
		out = append(out, obj[:brace]...)
		out = append(out, member...)
		return append(out, obj[brace:]...)
	} else if r.Exists() && r.Index > 0 {
		// stream_options: null (or another non-object): replace it.
		out := make([]byte, 0, len(obj)+24)
		out = append(out, obj[:r.Index]...)
		out = append(out, `{"include_usage":true}`...)
		return append(out, obj[r.Index+len(r.Raw):]...)
	}
	return appendMember(obj, "stream_options", []byte(`{"include_usage":true}`))
}

// appendMember adds "key":raw as the last member of the JSON object obj.
func appendMember(obj []byte, key string, raw []byte) []byte {
	end := bytes.LastIndexByte(obj, '}')
	if end < 0 {
		return obj
	}
	empty := len(bytes.TrimSpace(obj[bytes.IndexByte(obj, '{')+1:end])) == 0
	out := make([]byte, 0, len(obj)+len(key)+len(raw)+4)
	out = append(out, obj[:end]...)
	if !empty {
		out = append(out, ',')
	}
	out = strconv.AppendQuote(out, key)
	out = append(out, ':')
	out = append(out, raw...)
	return append(out, obj[end:]...)
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
