package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
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
	stream := in.Flags&abi.FlagStream != 0
	body, ok := rewrite(in.Body, in.Model, stream)
	if !ok {
		return nil, &abi.Error{Status: 400, Type: "invalid_request_error", Message: "the request body is not a JSON object"}
	}
	var state byte
	headers := p.headers
	if stream {
		state |= stateStream
		if in.Flags&abi.FlagIncludeUsage != 0 {
			state |= stateWantUsage
		}
		headers = append(headers[:len(headers):len(headers)], abi.Header{Name: "Accept", Value: "text/event-stream"})
	}
	return &abi.RequestOut{Method: "POST", Path: "/chat/completions", Headers: headers, Body: body, State: []byte{state}}, nil
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	out := &abi.ResponseOut{Body: in.Body}
	// One pass finds usage (near the end); a full validation pass is paid
	// only when usage is missing, to tell a bad body from one without usage.
	if u := gjson.GetBytes(in.Body, "usage"); u.IsObject() {
		out.Usage = oai.ParseUsage(u)
	} else if !gjson.ValidBytes(in.Body) {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not JSON", Retryable: true}
	}
	return out, nil
}

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
	var state byte
	if len(out.State) > 0 {
		state = out.State[0]
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
