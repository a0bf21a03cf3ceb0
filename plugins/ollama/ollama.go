package main

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

// config is the plugin's [plugins.ollama.config] table.
type config struct {
	// KeepAlive is sent as keep_alive: a duration string ("5m") or seconds.
	KeepAlive json.RawMessage `json:"keep_alive"`
	// NumCtx is sent as options.num_ctx when positive.
	NumCtx int64 `json:"num_ctx"`
	// Options are extra Ollama options (an object), below what the request
	// sets.
	Options json.RawMessage `json:"options"`
	// Headers are extra headers sent with every upstream request.
	Headers map[string]string `json:"headers"`
}

// settings are the keep_alive, num_ctx and extra options of one request:
// the config's, overridden by the provider's options table.
type settings struct {
	keepAlive string // raw JSON (string or number), "" when unset
	numCtx    int64
	// options are extra options as key, value pairs, in order; the first
	// of a key wins.
	options []gjson.Result
}

type plugin struct {
	headers  []abi.Header // POST headers, built once from config
	getHdrs  []abi.Header // GET headers (no Content-Type)
	defaults settings
	// general turns the stream's fast path off (tests compare the two).
	general bool
	scratch oai.ScratchPool // reused by StreamEvent
}

func newPlugin(cfg []byte) *plugin {
	var c config
	_ = json.Unmarshal(cfg, &c) // an invalid config leaves the defaults
	p := &plugin{headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}}
	for k, v := range c.Headers {
		h := abi.Header{Name: k, Value: v}
		p.headers = append(p.headers, h)
		p.getHdrs = append(p.getHdrs, h)
	}
	if ka := gjson.ParseBytes(c.KeepAlive); ka.Type == gjson.String || ka.Type == gjson.Number {
		p.defaults.keepAlive = string(oai.AppendCompact(nil, ka.Raw))
	}
	p.defaults.numCtx = max(c.NumCtx, 0)
	if o := gjson.ParseBytes(c.Options); o.IsObject() {
		raw := string(oai.AppendCompact(nil, o.Raw)) // owned: results alias it
		gjson.Parse(raw).ForEach(func(k, v gjson.Result) bool {
			p.defaults.options = append(p.defaults.options, k, v)
			return true
		})
	}
	return p
}

// settingsFor merges the provider's options table (RequestIn.Options) over
// the config.
func (p *plugin) settingsFor(options []byte) settings {
	s := p.defaults
	if len(options) <= 2 || !gjson.ValidBytes(options) { // "", "{}" or not JSON (the host sends JSON)
		return s
	}
	var extra []gjson.Result
	gjson.Parse(unsafeString(options)).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "keep_alive":
			if v.Type == gjson.String || v.Type == gjson.Number {
				s.keepAlive = v.Raw
			}
		case "num_ctx":
			if v.Type == gjson.Number && v.Int() > 0 {
				s.numCtx = v.Int()
			}
		case "options":
			if v.IsObject() {
				v.ForEach(func(k, v gjson.Result) bool {
					extra = append(extra, k, v)
					return true
				})
			}
		}
		return true
	})
	if extra != nil { // the provider's first, then the config's
		s.options = append(extra, p.defaults.options...)
	}
	return s
}

func (p *plugin) Manifest() abi.Manifest {
	str := map[string]any{"type": "string"}
	return abi.Manifest{
		Name:          "ollama",
		Version:       Version,
		Description:   "Ollama native API (/api/chat, /api/embed, /api/tags), local or cloud",
		APIs:          []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIModels},
		Auth:          abi.AuthBearer,
		StreamFraming: abi.FramingNDJSON,
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"keep_alive": map[string]any{"type": []string{"string", "number"}},
				"num_ctx":    map[string]any{"type": "integer", "minimum": 1},
				"options":    map[string]any{"type": "object"},
				"headers":    map[string]any{"type": "object", "additionalProperties": str},
			},
		},
	}
}

// State travels from Request to Response/StreamEvent:
//
//	[0]     flags: the API kind (bits 0-1) and the st* bits
//	[1:9]   created, int64 LE: the host clock at request time, replaced by
//	        the first stream line's created_at
//	[9:11]  tool calls emitted so far in the stream, uint16 LE
//	[11:]   the canonical response id, "chatcmpl-" + the hub's request id
//	        (Ollama sends no id)
const (
	kindChat   byte = 0
	kindEmbed  byte = 1
	kindModels byte = 2
	kindMask   byte = 3

	stWantUsage byte = 1 << 2 // the client asked for the usage chunk
	stBase64    byte = 1 << 3 // embeddings: encoding_format "base64"
	stStarted   byte = 1 << 4 // stream: the role chunk was sent
	stStream    byte = 1 << 5

	stateHeader = 11
	idPrefix    = "chatcmpl-"
)

func newState(flags byte, created int64, requestID string) []byte {
	if requestID == "" {
		requestID = "ollama"
	}
	b := make([]byte, stateHeader, stateHeader+len(idPrefix)+len(requestID))
	b[0] = flags
	binary.LittleEndian.PutUint64(b[1:], uint64(created))
	b = append(b, idPrefix...)
	return append(b, requestID...)
}

// stateView reads a state; a short (foreign) state reads as zeros.
type stateView struct {
	flags   byte
	created int64
	tools   int
	id      string // aliases the state bytes, valid for the call
}

func readState(b []byte) stateView {
	if len(b) < stateHeader {
		return stateView{}
	}
	return stateView{
		flags:   b[0],
		created: int64(binary.LittleEndian.Uint64(b[1:])),
		tools:   int(binary.LittleEndian.Uint16(b[9:])),
		id:      unsafeString(b[stateHeader:]),
	}
}

func (s *stateView) encode() []byte {
	b := make([]byte, stateHeader, stateHeader+len(s.id))
	b[0] = s.flags
	binary.LittleEndian.PutUint64(b[1:], uint64(s.created))
	binary.LittleEndian.PutUint16(b[9:], uint16(min(s.tools, 0xffff)))
	return append(b, s.id...)
}

// requestID is the hub's request id, the seed of synthesized tool-call ids.
func (s *stateView) requestID() string { return strings.TrimPrefix(s.id, idPrefix) }

// unsafeString views b as a string without copying. The plugin reads its
// inputs through such views only for the length of a call: everything it
// returns is appended into fresh buffers, and nothing is retained.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	created := in.UnixMS / 1000
	switch in.API {
	case abi.APIChatCompletions:
		body, flags, err := p.chatRequest(in)
		if err != nil {
			return nil, err
		}
		return &abi.RequestOut{Method: "POST", Path: "/api/chat", Headers: p.headers, Body: body,
			State: newState(kindChat|flags, created, in.RequestID)}, nil
	case abi.APIEmbeddings:
		body, flags, err := p.embedRequest(in)
		if err != nil {
			return nil, err
		}
		return &abi.RequestOut{Method: "POST", Path: "/api/embed", Headers: p.headers, Body: body,
			State: newState(kindEmbed|flags, created, in.RequestID)}, nil
	case abi.APIModels:
		return &abi.RequestOut{Method: "GET", Path: "/api/tags", Headers: p.getHdrs,
			State: newState(kindModels, created, in.RequestID)}, nil
	}
	return nil, oai.Unsupported("ollama", in.API)
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	body := gjson.Parse(unsafeString(in.Body))
	if !body.IsObject() {
		return nil, badBody()
	}
	if e := body.Get("error"); e.Exists() { // an error inside a 2xx body
		return nil, oai.StreamError("upstream_error", errorMessage(e), false)
	}
	st := readState(in.State)
	switch st.flags & kindMask {
	case kindEmbed:
		return embedResponse(body, st)
	case kindModels:
		return modelsResponse(body), nil
	}
	return chatResponse(body, st)
}

func badBody() *abi.Error {
	return &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not a JSON object", Retryable: true}
}

// embedRequest turns an OpenAI embeddings request into POST /api/embed.
func (p *plugin) embedRequest(in *abi.RequestIn) ([]byte, byte, error) {
	req := gjson.Parse(unsafeString(in.Body))
	if !req.IsObject() {
		return nil, 0, oai.BadRequest("", "the request body is not a JSON object")
	}
	if _, ok := oai.EmbeddingInputs(req); !ok {
		return nil, 0, oai.BadRequest("input", "the ollama provider accepts input as a string or a non-empty array of strings (not tokens)")
	}
	var flags byte
	switch f := req.Get("encoding_format"); {
	case !f.Exists() || f.Type == gjson.Null || f.Str == "float":
	case f.Str == "base64":
		flags |= stBase64
	default:
		return nil, 0, oai.BadRequest("encoding_format", "encoding_format must be \"float\" or \"base64\"")
	}
	s := p.settingsFor(in.Options)
	b := make([]byte, 0, len(in.Body)+64)
	b = append(b, `{"model":`...)
	b = oai.AppendString(b, upstreamModel(in.Model, req.Get("model")))
	b = append(b, `,"input":`...)
	b = oai.AppendCompact(b, req.Get("input").Raw)
	if d := req.Get("dimensions"); d.Type == gjson.Number && d.Int() > 0 {
		b = append(b, `,"dimensions":`...)
		b = oai.AppendInt(b, d.Int())
	}
	if t := req.Get("truncate"); t.IsBool() { // non-standard: Ollama's own switch
		b = append(b, `,"truncate":`...)
		b = append(b, t.Raw...)
	}
	if opts := appendExtraOptions(nil, s, nil); len(opts) > 0 {
		b = append(b, `,"options":{`...)
		b = append(b, opts...)
		b = append(b, '}')
	}
	if s.keepAlive != "" {
		b = append(b, `,"keep_alive":`...)
		b = append(b, s.keepAlive...)
	}
	return append(b, '}'), flags, nil
}

func embedResponse(body gjson.Result, st stateView) (*abi.ResponseOut, error) {
	r := oai.EmbeddingsResponse{Base64: st.flags&stBase64 != 0}
	var tokens int64
	body.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "model":
			r.Model = v.String()
		case "embeddings":
			v.ForEach(func(_, vec gjson.Result) bool {
				r.AppendVector(vec)
				return true
			})
		case "prompt_eval_count":
			tokens = v.Int()
		}
		return true
	})
	return &abi.ResponseOut{Body: r.Finish(tokens), Usage: &abi.Usage{InputTokens: tokens}}, nil
}

// modelsResponse turns GET /api/tags into an OpenAI model list.
func modelsResponse(body gjson.Result) *abi.ResponseOut {
	b := make([]byte, 0, 256)
	b = append(b, `{"object":"list","data":[`...)
	n := 0
	body.Get("models").ForEach(func(_, m gjson.Result) bool {
		name := m.Get("name").String()
		if name == "" {
			name = m.Get("model").String()
		}
		if name == "" {
			return true
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		created, _ := parseTime(m.Get("modified_at").String())
		b = append(b, `{"id":`...)
		b = oai.AppendString(b, name)
		b = append(b, `,"object":"model","created":`...)
		b = oai.AppendInt(b, created)
		b = append(b, `,"owned_by":"ollama"}`...)
		return true
	})
	return &abi.ResponseOut{Body: append(b, "]}"...)}
}

// upstreamError normalizes an Ollama error response ({"error":"…"}, or the
// OpenAI shape {"error":{"message":…}} some deployments answer with).
func upstreamError(in *abi.ResponseIn) *abi.Error {
	u := oai.UpstreamError{Status: int(in.Status), RetryAfter: in.Header("Retry-After")}
	if e := gjson.GetBytes(in.Body, "error"); e.Exists() {
		u.Message = errorMessage(e)
		if e.IsObject() {
			u.Type = e.Get("type").String()
			u.Code = e.Get("code").String()
			u.Param = e.Get("param").String()
		}
	} else if t := strings.TrimSpace(string(in.Body)); t != "" && len(t) <= 200 && utf8.ValidString(t) && !gjson.Valid(t) {
		u.Message = t // e.g. "404 page not found" from a base_url that ends in /api
	}
	msg := u.Message
	switch {
	case u.Status == 404 && strings.HasPrefix(msg, "model ") && strings.Contains(msg, "not found"):
		u.Code = "model_not_found"
		if u.Type == "not_found_error" { // the /v1 layer's word for it
			u.Type = ""
		}
	case msg == "model is required":
		u.Param = "model"
	case strings.HasSuffix(msg, "does not support tools"):
		u.Param = "tools"
	case strings.HasSuffix(msg, "does not support thinking"):
		u.Param = "reasoning_effort"
	}
	return oai.Normalize(u)
}

// errorMessage reads Ollama's "error" member: a string, or an object with
// a message.
func errorMessage(e gjson.Result) string {
	if e.IsObject() {
		return e.Get("message").String()
	}
	return e.String()
}

// parseTime reads an RFC 3339 timestamp, as Ollama writes created_at and
// modified_at ("2025-10-26T17:21:21.196249Z",
// "2025-05-04T17:37:44.706015396-07:00"), as Unix seconds, without the
// time package's allocations and zone lookups.
func parseTime(s string) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	h, ok4 := digits(s[11:13])
	mi, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return 0, false
		}
		rest = rest[i:]
	}
	var offset int64
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	return daysFromCivil(y, mo, d)*86400 + h*3600 + mi*60 + sec - offset, true
}

func digits(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0: parseTime reads years 1-9999
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
