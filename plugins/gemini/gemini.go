package main

import (
	"encoding/binary"
	"encoding/json"
	"strings"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

// config is the plugin's [plugins.gemini.config] table. Every key but
// Headers can also be set per provider in its options table, which wins.
type config struct {
	// Headers are extra headers sent with every upstream request.
	Headers map[string]string `json:"headers"`
	opts
}

// opts are the settings a provider's options can override per request.
type opts struct {
	// APIVersion is the path's version segment; "v1beta" by default.
	APIVersion string `json:"api_version"`
	// FunctionSchema is "parameters" (sanitize to Gemini's OpenAPI subset,
	// the default) or "json_schema" (send parametersJsonSchema verbatim).
	FunctionSchema string `json:"function_schema"`
	// IncludeThoughts asks for thought summaries when reasoning_effort is
	// set (default true).
	IncludeThoughts *bool `json:"include_thoughts"`
	// ThoughtSignatureFallback adds the placeholder thought signature to
	// replayed unsigned function calls; nil means "for Gemini 3 and later".
	ThoughtSignatureFallback *bool `json:"thought_signature_fallback"`
	// SafetySettings is Gemini's safetySettings array, sent verbatim.
	SafetySettings json.RawMessage `json:"safety_settings"`
	// EmbeddingTaskType is sent as taskType with every embedding request.
	EmbeddingTaskType string `json:"embedding_task_type"`
}

type plugin struct {
	headers       []abi.Header // fixed request headers, built once from config
	streamHeaders []abi.Header
	def           reqOpts
	// general turns the stream's fast paths off (tests compare them).
	general bool
	scratch oai.ScratchPool // reused by StreamEvent
}

// reqOpts are the effective options of one request, read without
// encoding/json.
type reqOpts struct {
	apiVersion      string
	jsonSchema      bool
	includeThoughts bool
	sigFallback     int8 // -1 auto, 0 off, 1 on
	safety          string
	taskType        string
}

func newPlugin(cfg []byte) *plugin {
	var c config
	_ = json.Unmarshal(cfg, &c) // an invalid config leaves the defaults
	p := &plugin{headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}}
	for k, v := range c.Headers {
		p.headers = append(p.headers, abi.Header{Name: k, Value: v})
	}
	p.streamHeaders = append(append([]abi.Header(nil), p.headers...), abi.Header{Name: "Accept", Value: "text/event-stream"})
	p.def = reqOpts{apiVersion: "v1beta", includeThoughts: true, sigFallback: -1}
	if c.APIVersion != "" {
		p.def.apiVersion = c.APIVersion
	}
	p.def.jsonSchema = c.FunctionSchema == "json_schema"
	if c.IncludeThoughts != nil {
		p.def.includeThoughts = *c.IncludeThoughts
	}
	if c.ThoughtSignatureFallback != nil {
		p.def.sigFallback = 0
		if *c.ThoughtSignatureFallback {
			p.def.sigFallback = 1
		}
	}
	if s := gjson.ParseBytes(c.SafetySettings); s.IsArray() {
		p.def.safety = s.Raw
	}
	p.def.taskType = c.EmbeddingTaskType
	return p
}

// options overlays a provider's options JSON on the config defaults.
func (p *plugin) options(raw []byte) reqOpts {
	o := p.def
	if len(raw) <= 2 { // absent or "{}"
		return o
	}
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "api_version":
			if v.Str != "" {
				o.apiVersion = v.Str
			}
		case "function_schema":
			o.jsonSchema = v.Str == "json_schema"
		case "include_thoughts":
			o.includeThoughts = v.Bool()
		case "thought_signature_fallback":
			switch v.Type {
			case gjson.True:
				o.sigFallback = 1
			case gjson.False:
				o.sigFallback = 0
			}
		case "safety_settings":
			if v.IsArray() {
				o.safety = v.Raw
			}
		case "embedding_task_type":
			o.taskType = v.Str
		}
		return true
	})
	return o
}

func (p *plugin) Manifest() abi.Manifest {
	str := map[string]any{"type": "string"}
	boolean := map[string]any{"type": "boolean"}
	return abi.Manifest{
		Name:          "gemini",
		Version:       Version,
		Description:   "Google Gemini (Generative Language API v1beta): chat, embeddings, Imagen images; base_url https://generativelanguage.googleapis.com",
		APIs:          []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIImages},
		Auth:          abi.AuthHeaderPrefix + "x-goog-api-key",
		StreamFraming: abi.FramingSSE,
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"headers":                    map[string]any{"type": "object", "additionalProperties": str},
				"api_version":                str,
				"function_schema":            map[string]any{"enum": []string{"parameters", "json_schema"}},
				"include_thoughts":           boolean,
				"thought_signature_fallback": boolean,
				"safety_settings":            map[string]any{"type": "array"},
				"embedding_task_type":        str,
			},
		},
	}
}

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	model := strings.TrimPrefix(in.Model, "models/")
	if model == "" {
		return nil, oai.BadRequest("model", "the request names no model")
	}
	o := p.options(in.Options)
	switch in.API {
	case abi.APIChatCompletions:
		return p.chatRequest(in, model, &o)
	case abi.APIEmbeddings:
		return p.embeddingsRequest(in, model, &o)
	case abi.APIImages:
		return p.imagesRequest(in, model, &o)
	}
	return nil, oai.Unsupported("gemini", in.API)
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	st, err := parseState(in.State)
	if err != nil {
		return nil, err
	}
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	switch st.kind {
	case kindChat:
		return chatResponse(&st, in.Body)
	case kindEmbeddings:
		return embeddingsResponse(&st, in.Body)
	case kindImages, kindImagesGemini:
		return imagesResponse(&st, in.Body)
	}
	return nil, errBadState
}

// path is "/{version}/models/{model}:{method}" with the model escaped.
func path(o *reqOpts, model, method string) string {
	b := make([]byte, 0, 16+len(o.apiVersion)+len(model)+len(method))
	b = append(b, '/')
	b = append(b, o.apiVersion...)
	b = append(b, "/models/"...)
	b = appendPathEscaped(b, model)
	b = append(b, ':')
	b = append(b, method...)
	return string(b)
}

// appendPathEscaped escapes s as one path segment: everything but RFC 3986
// unreserved characters is percent-encoded (so a ':' or '/' in a model id
// cannot change the method or the path).
func appendPathEscaped(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// State: what Request tells Response and StreamEvent. A fixed header of
// stateHead bytes, then two fields (abi.AppendField): the request id and
// the upstream model id.
//
//	0     kind
//	1     flags
//	2-5   u32 count (tool calls seen in a stream)
//	6-13  i64 created, Unix seconds
//	14-21 i64 aux (embeddings: estimated prompt tokens)
const stateHead = 22

const (
	kindChat byte = 1 + iota
	kindEmbeddings
	kindImages       // Imagen :predict
	kindImagesGemini // a Gemini image model's :generateContent
)

// State flags.
const (
	fStream   byte = 1 << 0 // a streamed chat completion
	fUsage    byte = 1 << 1 // the client asked for the usage chunk
	fStarted  byte = 1 << 2 // the role chunk was sent
	fSawCall  byte = 1 << 3 // a functionCall was streamed
	fBase64   byte = 1 << 4 // embeddings: encoding_format base64
	fImageURL byte = 1 << 5 // images: response_format url
)

type state struct {
	kind, flags byte
	count       uint32
	created     int64
	aux         int64
	requestID   string
	model       string
}

func appendState(dst []byte, s *state) []byte {
	dst = append(dst, s.kind, s.flags)
	dst = binary.LittleEndian.AppendUint32(dst, s.count)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.created))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(s.aux))
	dst = abi.AppendStringField(dst, s.requestID)
	return abi.AppendStringField(dst, s.model)
}

var errBadState = &abi.Error{Status: 502, Type: "plugin_error", Message: "gemini: malformed plugin state"}

func parseState(b []byte) (state, error) {
	var s state
	if len(b) < stateHead || b[0] < kindChat || b[0] > kindImagesGemini {
		return s, errBadState
	}
	var f [2][]byte
	if n, err := abi.Fields(b[stateHead:], f[:]); err != nil || n != 2 {
		return s, errBadState
	}
	le := binary.LittleEndian
	s = state{kind: b[0], flags: b[1], count: le.Uint32(b[2:]), created: int64(le.Uint64(b[6:])),
		aux: int64(le.Uint64(b[14:])), requestID: str(f[0]), model: str(f[1])}
	return s, nil
}

// createdOf is the host's clock in Unix seconds (0 from an older host).
func createdOf(in *abi.RequestIn) int64 { return in.UnixMS / 1000 }

// str views b as a string without copying it. The plugin reads its inputs
// (bodies, events, state) through such views: they alias the call's input,
// which stays unchanged until the call returns, and everything the plugin
// keeps from them is copied into its output first. It saves a copy of every
// body and event, which is not cheap in Wasm.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// str2b views s as bytes, read-only (see str).
func str2b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// parse is gjson.ParseBytes without the copy (see str).
func parse(b []byte) gjson.Result { return gjson.Parse(str(b)) }
