package main

import (
	"encoding/json"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

// Defaults of the settings.
const (
	defaultVersion   = "2023-06-01"
	defaultMaxTokens = 4096
	messagesPath     = "/v1/messages"
)

// config is the plugin's [plugins.anthropic.config] table.
type config struct {
	// Version is the anthropic-version header.
	Version string `json:"version"`
	// Beta is the anthropic-beta header: a string or an array of strings.
	Beta json.RawMessage `json:"beta"`
	// DefaultMaxTokens is max_tokens when the client sets no output cap.
	DefaultMaxTokens int64 `json:"default_max_tokens"`
}

// settings are what the config and a provider's options decide.
type settings struct {
	version   string
	beta      string
	maxTokens int64
}

type plugin struct {
	defaults settings
	headers  []abi.Header // the request headers of the default settings
}

func newPlugin(cfg []byte) *plugin {
	var c config
	_ = json.Unmarshal(cfg, &c) // an invalid config leaves the defaults
	s := settings{version: defaultVersion, maxTokens: defaultMaxTokens}
	if c.Version != "" {
		s.version = c.Version
	}
	if c.DefaultMaxTokens > 0 {
		s.maxTokens = c.DefaultMaxTokens
	}
	if len(c.Beta) > 0 {
		s.beta = betaList(gjson.ParseBytes(c.Beta))
	}
	return &plugin{defaults: s, headers: s.headers()}
}

// betaList reads a beta setting: a string, or an array of strings joined
// with commas.
func betaList(v gjson.Result) string {
	if v.Type == gjson.String {
		return strings.TrimSpace(v.Str)
	}
	var parts []string
	v.ForEach(func(_, b gjson.Result) bool {
		if s := strings.TrimSpace(b.String()); b.Type == gjson.String && s != "" {
			parts = append(parts, s)
		}
		return true
	})
	return strings.Join(parts, ",")
}

func (s settings) headers() []abi.Header {
	hs := []abi.Header{{Name: "content-type", Value: "application/json"}, {Name: "anthropic-version", Value: s.version}}
	if s.beta != "" {
		hs = append(hs, abi.Header{Name: "anthropic-beta", Value: s.beta})
	}
	return hs
}

// settingsFor applies a provider's options (JSON) over the config.
func (p *plugin) settingsFor(options []byte) (settings, []abi.Header) {
	if len(options) <= 2 { // "", "{}"
		return p.defaults, p.headers
	}
	s, changed := p.defaults, false
	gjson.ParseBytes(options).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "version":
			if v.Type == gjson.String && v.Str != "" {
				s.version, changed = v.Str, true
			}
		case "beta":
			s.beta, changed = betaList(v), true
		case "default_max_tokens":
			if v.Type == gjson.Number && v.Int() > 0 {
				s.maxTokens, changed = v.Int(), true
			}
		}
		return true
	})
	if !changed {
		return p.defaults, p.headers
	}
	return s, s.headers()
}

func (p *plugin) Manifest() abi.Manifest {
	return abi.Manifest{
		Name:          "anthropic",
		Version:       Version,
		Description:   "Anthropic Messages API (Claude): chat completions, streamed and not",
		APIs:          []string{abi.APIChatCompletions},
		Auth:          abi.AuthHeaderPrefix + "x-api-key",
		StreamFraming: abi.FramingSSE,
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"version": map[string]any{"type": "string", "description": "anthropic-version header", "default": defaultVersion},
				"beta": map[string]any{"description": "anthropic-beta header",
					"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}},
				"default_max_tokens": map[string]any{"type": "integer", "minimum": 1, "default": defaultMaxTokens},
			},
		},
	}
}

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	if in.API != abi.APIChatCompletions {
		return nil, oai.Unsupported("anthropic", in.API)
	}
	s, headers := p.settingsFor(in.Options)
	body, err := translate(in, s)
	if err != nil {
		return nil, err
	}
	st := streamState{created: in.UnixMS / 1000}
	if in.Flags&abi.FlagIncludeUsage != 0 {
		st.flags |= flagWantUsage
	}
	return &abi.RequestOut{Method: "POST", Path: messagesPath, Headers: headers, Body: body, State: st.encode()}, nil
}

// finishReason maps Anthropic's stop_reason to OpenAI's finish_reason.
func finishReason(stop string) string {
	switch stop {
	case "tool_use":
		return oai.FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return oai.FinishLength
	case "refusal":
		return oai.FinishContentFilter
	}
	return oai.FinishStop // end_turn, stop_sequence, pause_turn, unknown
}

// readUsage merges the counts an Anthropic usage object carries into u
// (Anthropic's own fields: input excludes the cache counts).
func readUsage(v gjson.Result, u *anUsage) {
	v.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "input_tokens":
			u.input = v.Int()
		case "cache_creation_input_tokens":
			u.cacheWrite = v.Int()
		case "cache_read_input_tokens":
			u.cacheRead = v.Int()
		case "output_tokens":
			u.output = v.Int()
		case "output_tokens_details":
			if t := v.Get("thinking_tokens"); t.Exists() {
				u.reasoning = t.Int()
			}
		}
		return true
	})
}

// anUsage is usage in Anthropic's terms.
type anUsage struct {
	input, cacheRead, cacheWrite, output, reasoning int64
}

// canonical converts to the hub's usage (§6 of the mapping).
func (u *anUsage) canonical() *abi.Usage {
	return &abi.Usage{
		InputTokens:      u.input + u.cacheRead + u.cacheWrite,
		OutputTokens:     u.output,
		CachedTokens:     u.cacheRead,
		CacheWriteTokens: u.cacheWrite,
		ReasoningTokens:  u.reasoning,
	}
}

// upstreamError normalizes an Anthropic error response
// ({"type":"error","error":{"type","message"}}) by oai.Normalize.
func upstreamError(status int, headers []abi.Header, body []byte) *abi.Error {
	e := gjson.GetBytes(body, "error")
	typ, msg := e.Get("type").String(), e.Get("message").String()
	if e.Type == gjson.String {
		msg = e.Str
	}
	u := oai.UpstreamError{Status: status, Message: msg}
	for _, h := range headers {
		if strings.EqualFold(h.Name, "retry-after") {
			u.RetryAfter = strings.TrimSpace(h.Value)
			break
		}
	}
	switch {
	case status == 529 || typ == "overloaded_error":
		u.Overloaded = true
		u.Type = "upstream_overloaded"
	case typ == "billing_error" || (status == 400 || status == 402) && strings.Contains(strings.ToLower(msg), "credit balance"):
		u.Status = 429
		u.QuotaExhausted = true
		u.Type, u.Code = "insufficient_quota", "insufficient_quota"
	case typ == "rate_limit_error":
		u.Type, u.Code = "rate_limit_error", "rate_limit_exceeded"
	case typ == "not_found_error":
		u.Type, u.Code = "invalid_request_error", "not_found"
		if strings.HasPrefix(msg, "model:") {
			u.Code = "model_not_found"
		}
	case typ == "request_too_large":
		u.Type, u.Code = "invalid_request_error", "request_too_large"
	case typ == "invalid_request_error":
		u.Type = "invalid_request_error"
	case typ == "api_error":
		u.Type = "server_error"
	case typ == "timeout_error":
		u.Type = "upstream_timeout"
	}
	return oai.Normalize(u)
}

// streamErrorRetryable reports whether an in-stream error type means the
// same request may succeed later.
func streamErrorRetryable(typ string) bool {
	switch typ {
	case "overloaded_error", "rate_limit_error", "api_error", "timeout_error":
		return true
	}
	return false
}
