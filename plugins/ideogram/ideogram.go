package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Version is the plugin's version, reported in its manifest.
const Version = "0.1.0"

// generatePath is Ideogram 3.0's synchronous generate endpoint.
const generatePath = "/v1/ideogram-v3/generate"

// settings are the operator's knobs: the plugin config, overridden key by
// key by the provider's options.
type settings struct {
	renderingSpeed string // forced on every request; "" when not set
	magicPrompt    string // the default magic_prompt
	urlForB64      bool   // answer b64_json requests with URLs
}

type plugin struct {
	cfg    settings
	cfgErr *abi.Error // an invalid config fails every request
}

func newPlugin(cfg []byte) *plugin {
	p := &plugin{cfg: settings{magicPrompt: "AUTO"}}
	p.cfgErr = p.cfg.apply(cfg, "plugin config")
	return p
}

var (
	renderingSpeeds = []string{"FLASH", "TURBO", "DEFAULT", "QUALITY"}
	magicPrompts    = []string{"AUTO", "ON", "OFF"}
)

// apply reads a config or options object into s; unknown keys are
// ignored. Empty, "{}" and null change nothing.
func (s *settings) apply(raw []byte, what string) *abi.Error {
	if len(raw) == 0 || len(raw) == 2 && raw[0] == '{' && raw[1] == '}' {
		return nil // the host's "no options"
	}
	root := gjson.ParseBytes(raw)
	if root.Type == gjson.Null {
		return nil
	}
	if !root.IsObject() {
		return configError("the ideogram " + what + " is not a JSON object")
	}
	var bad *abi.Error
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "rendering_speed":
			if v.Type == gjson.Null || v.Type == gjson.String && v.Str == "" {
				s.renderingSpeed = ""
			} else if s.renderingSpeed = strings.ToUpper(v.String()); v.Type != gjson.String || !oneOf(s.renderingSpeed, renderingSpeeds) {
				bad = configError("invalid rendering_speed " + v.Raw + " in the ideogram " + what + " (want FLASH, TURBO, DEFAULT or QUALITY)")
			}
		case "magic_prompt":
			if v.Type == gjson.Null {
				break
			}
			if s.magicPrompt = strings.ToUpper(v.String()); v.Type != gjson.String || !oneOf(s.magicPrompt, magicPrompts) {
				bad = configError("invalid magic_prompt " + v.Raw + " in the ideogram " + what + " (want AUTO, ON or OFF)")
			}
		case "url_for_b64_json":
			if v.Type == gjson.Null {
				break
			}
			if v.Type != gjson.True && v.Type != gjson.False {
				bad = configError("invalid url_for_b64_json " + v.Raw + " in the ideogram " + what + " (want true or false)")
			}
			s.urlForB64 = v.Type == gjson.True
		}
		return bad == nil
	})
	return bad
}

func configError(msg string) *abi.Error {
	return &abi.Error{Status: 500, Type: "plugin_config_error", Message: msg}
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func (p *plugin) Manifest() abi.Manifest {
	return abi.Manifest{
		Name:        "ideogram",
		Version:     Version,
		Description: "Ideogram 3.0 image generation behind OpenAI's /v1/images/generations",
		APIs:        []string{abi.APIImages},
		Auth:        abi.AuthHeaderPrefix + "Api-Key",
		ConfigSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"rendering_speed":  map[string]any{"type": "string", "enum": renderingSpeeds},
				"magic_prompt":     map[string]any{"type": "string", "enum": magicPrompts},
				"url_for_b64_json": map[string]any{"type": "boolean"},
			},
		},
	}
}

// State carried from Request to Response (17 bytes): a version byte, the
// host's clock at request time in Unix seconds (the fallback for
// "created"), and the FNV-1a hash of the trimmed prompt (to tell a
// rewritten prompt from the client's own), both int64 little-endian.
const (
	stateVersion = 1
	stateLen     = 17
)

func appendState(dst []byte, unixSec int64, promptHash uint64) []byte {
	dst = append(dst, stateVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(unixSec))
	return binary.LittleEndian.AppendUint64(dst, promptHash)
}

func readState(b []byte) (unixSec int64, promptHash uint64, ok bool) {
	if len(b) < stateLen || b[0] != stateVersion {
		return 0, 0, false
	}
	return int64(binary.LittleEndian.Uint64(b[1:])), binary.LittleEndian.Uint64(b[9:]), true
}

// promptHash is FNV-1a 64 of the prompt without surrounding white space.
func promptHash(s string) uint64 {
	s = strings.TrimSpace(s)
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// imageRequest is what the plugin reads from the canonical request.
type imageRequest struct {
	prompt, numImages                         string
	size, quality, style, responseFormat      string
	aspectRatio, resolution, renderingSpeed   string
	magicPrompt, styleType, stylePreset, seed string
	negativePrompt                            string
}

// stringMember returns where the named optional string member of the
// request goes, or nil for another member.
func (r *imageRequest) stringMember(name string) *string {
	switch name {
	case "prompt":
		return &r.prompt
	case "size":
		return &r.size
	case "quality":
		return &r.quality
	case "style":
		return &r.style
	case "response_format":
		return &r.responseFormat
	case "aspect_ratio":
		return &r.aspectRatio
	case "resolution":
		return &r.resolution
	case "rendering_speed":
		return &r.renderingSpeed
	case "magic_prompt":
		return &r.magicPrompt
	case "style_type":
		return &r.styleType
	case "style_preset":
		return &r.stylePreset
	case "negative_prompt":
		return &r.negativePrompt
	}
	return nil
}

// parseRequest reads the canonical request in one pass over its members.
func parseRequest(body []byte) (imageRequest, *abi.Error) {
	var r imageRequest
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return r, oai.BadRequest("", "the request body is not a JSON object")
	}
	var bad *abi.Error
	root.ForEach(func(k, v gjson.Result) bool {
		if v.Type == gjson.Null {
			return true
		}
		if p := r.stringMember(k.Str); p != nil {
			if v.Type != gjson.String {
				bad = oai.BadRequest(k.Str, "Invalid type for '"+k.Str+"': expected a string.")
				return false
			}
			*p = v.Str
			return true
		}
		switch k.Str {
		case "n":
			if v.Type != gjson.Number || v.Num != float64(int64(v.Num)) || v.Num < 1 || v.Num > 10 {
				bad = oai.BadRequest("n", "Invalid 'n': expected an integer between 1 and 10.")
				return false
			}
			r.numImages = strconv.FormatInt(int64(v.Num), 10)
		case "seed":
			if v.Type != gjson.Number || v.Num != float64(int64(v.Num)) || v.Num < 0 || v.Num > 2147483647 {
				bad = oai.BadRequest("seed", "Invalid 'seed': expected an integer between 0 and 2147483647.")
				return false
			}
			r.seed = strconv.FormatInt(int64(v.Num), 10)
		}
		return true
	})
	if bad != nil {
		return r, bad
	}
	if r.prompt == "" {
		return r, oai.BadRequest("prompt", "Missing required parameter: 'prompt'.")
	}
	if r.numImages == "" {
		r.numImages = "1"
	}
	return r, nil
}

// modelSpeed checks that model is an Ideogram 3.0 model and returns the
// rendering speed its suffix names ("" for none). Case, '-', '_', '.' and
// spaces are ignored: V_3, V_3_TURBO, ideogram-v3, ideogram-3.0-quality
// and v3 are all accepted. An empty model is Ideogram 3.0.
func modelSpeed(model string) (speed string, ok bool) {
	var b [48]byte
	n := 0
	for i := 0; i < len(model); i++ {
		c := model[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ' ':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(b) {
			return "", false
		}
		b[n] = c
		n++
	}
	m := string(b[:n])
	if m == "" {
		return "", true
	}
	m = strings.TrimPrefix(m, "ideogram")
	m = strings.TrimPrefix(m, "v")
	if rest, cut := strings.CutPrefix(m, "30"); cut {
		m = rest
	} else if rest, cut := strings.CutPrefix(m, "3"); cut {
		m = rest
	} else {
		return "", false
	}
	switch m {
	case "":
		return "", true
	case "flash", "turbo", "default", "quality":
		return strings.ToUpper(m), true
	}
	return "", false
}

// qualitySpeeds maps OpenAI's quality to a rendering speed ("" leaves
// Ideogram's default).
var qualitySpeeds = map[string]string{
	"": "", "auto": "", "low": "TURBO", "standard": "DEFAULT", "medium": "DEFAULT", "hd": "QUALITY", "high": "QUALITY",
}

// styleTypes maps OpenAI's style (and Ideogram's own style types, in any
// case) to a style type.
var styleTypes = map[string]string{
	"": "", "vivid": "GENERAL", "natural": "REALISTIC",
	"auto": "AUTO", "general": "GENERAL", "realistic": "REALISTIC", "design": "DESIGN", "fiction": "FICTION",
}

func (p *plugin) Request(in *abi.RequestIn) (*abi.RequestOut, error) {
	if in.API != abi.APIImages {
		return nil, oai.Unsupported("ideogram", in.API)
	}
	if p.cfgErr != nil {
		return nil, p.cfgErr
	}
	s := p.cfg
	if err := s.apply(in.Options, "provider options"); err != nil {
		return nil, err
	}
	if in.Flags&abi.FlagStream != 0 {
		return nil, oai.BadRequest("stream", "The ideogram provider does not stream image generation.")
	}
	modelSp, ok := modelSpeed(in.Model)
	if !ok {
		e := oai.BadRequest("model", "The ideogram provider serves Ideogram 3.0 only (models V_3, ideogram-v3, optionally suffixed -turbo, -flash, -default or -quality), not '"+in.Model+"'.")
		e.Code = "model_not_supported"
		return nil, e
	}
	r, aerr := parseRequest(in.Body)
	if aerr != nil {
		return nil, aerr
	}
	if r.responseFormat == "b64_json" && !s.urlForB64 {
		e := oai.BadRequest("response_format", "The ideogram provider returns image URLs only (Ideogram's links are short-lived: download the images promptly). Use response_format 'url'.")
		e.Code = "unsupported_value"
		return nil, e
	}

	var fs [10]field
	n := 0
	add := func(name, value string) {
		if value != "" {
			fs[n] = field{name, value}
			n++
		}
	}
	add("prompt", r.prompt)
	add("num_images", r.numImages)

	// size, quality and style are checked even when an Ideogram parameter
	// or the operator's setting takes precedence over them.
	var sizeRatio string
	if r.size != "" && r.size != "auto" {
		w, h, ok := parseWxH(r.size)
		if !ok {
			return nil, oai.BadRequest("size", "Invalid 'size' '"+r.size+"': expected WIDTHxHEIGHT (e.g. '1024x1024') or 'auto'.")
		}
		sizeRatio = nearestRatio(w, h)
	}
	qualitySpeed, ok := qualitySpeeds[r.quality]
	if !ok {
		return nil, oai.BadRequest("quality", "Invalid 'quality' '"+r.quality+"': expected 'low', 'standard', 'medium', 'hd', 'high' or 'auto'.")
	}
	styleType, ok := styleTypes[strings.ToLower(r.style)]
	if !ok {
		return nil, oai.BadRequest("style", "Invalid 'style' '"+r.style+"': expected 'vivid', 'natural' or an Ideogram style type (auto, general, realistic, design, fiction).")
	}

	switch {
	case r.resolution != "":
		if r.aspectRatio != "" {
			return nil, oai.BadRequest("resolution", "'resolution' and 'aspect_ratio' cannot be used together.")
		}
		if _, _, ok := parseWxH(r.resolution); !ok {
			return nil, oai.BadRequest("resolution", "Invalid 'resolution': expected WIDTHxHEIGHT, e.g. '1344x768'.")
		}
		add("resolution", r.resolution)
	case r.aspectRatio != "":
		ar := strings.ToLower(strings.Replace(r.aspectRatio, ":", "x", 1))
		if !knownRatio(ar) {
			return nil, oai.BadRequest("aspect_ratio", "Invalid 'aspect_ratio' '"+r.aspectRatio+"': expected one of 1x1, 16x9, 9x16, 4x3, 3x4, 3x2, 2x3, 16x10, 10x16, 5x4, 4x5, 2x1, 1x2, 3x1, 1x3.")
		}
		add("aspect_ratio", ar)
	default:
		add("aspect_ratio", sizeRatio)
	}

	speed := s.renderingSpeed
	if speed == "" {
		speed = modelSp
	}
	if speed == "" {
		speed = strings.ToUpper(r.renderingSpeed)
	}
	if speed == "" {
		speed = qualitySpeed
	}
	add("rendering_speed", speed)

	magic := s.magicPrompt
	if r.magicPrompt != "" {
		magic = strings.ToUpper(r.magicPrompt)
	}
	add("magic_prompt", magic)

	style := strings.ToUpper(r.styleType)
	if style == "" {
		style = styleType
	}
	add("style_type", style)
	add("style_preset", strings.ToUpper(r.stylePreset))
	add("negative_prompt", r.negativePrompt)
	add("seed", r.seed)

	parts := fs[:n]
	bnd := boundary(in.RequestID, parts)
	body := appendForm(make([]byte, 0, formSize(bnd, parts)), bnd, parts)
	return &abi.RequestOut{
		Method: "POST",
		Path:   generatePath,
		Headers: []abi.Header{
			{Name: "Content-Type", Value: "multipart/form-data; boundary=" + bnd},
			{Name: "Accept", Value: "application/json"},
		},
		Body:  body,
		State: appendState(make([]byte, 0, stateLen), in.UnixMS/1000, promptHash(r.prompt)),
	}, nil
}

func (p *plugin) Response(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if in.Status < 200 || in.Status > 299 {
		return nil, upstreamError(in)
	}
	fallback, hash, haveState := readState(in.State)
	root := gjson.ParseBytes(in.Body)
	var data, created gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "data":
			data = v
		case "created":
			created = v
		}
		return true
	})
	if !data.IsArray() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider's image response has no data array", Retryable: true}
	}
	var buf [4]oai.Image
	images := buf[:0]
	unsafe := 0
	data.ForEach(func(_, item gjson.Result) bool {
		var im oai.Image
		safe := true
		item.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "url":
				im.URL = v.String()
			case "prompt":
				if v.Type == gjson.String && v.Str != "" && haveState && promptHash(v.Str) != hash {
					im.RevisedPrompt = v.Str
				}
			case "is_image_safe":
				safe = v.Type != gjson.False
			}
			return true
		})
		if !safe || im.URL == "" {
			unsafe++
			return true
		}
		images = append(images, im)
		return true
	})
	if len(images) == 0 {
		if unsafe > 0 {
			e := oai.BadRequest("prompt", "Ideogram withheld every generated image because it failed Ideogram's safety checks.")
			e.Code = "content_policy_violation"
			return nil, e
		}
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned no images", Retryable: true}
	}
	return &abi.ResponseOut{
		Body:  oai.AppendImagesResponse(nil, createdUnix(created, fallback), images),
		Usage: &abi.Usage{Images: int64(len(images))},
	}, nil
}

// createdUnix reads Ideogram's "created", an RFC 3339 date-time (also
// accepted without a zone, as UTC, or as a Unix-seconds number); fallback
// when it is missing or unreadable.
func createdUnix(v gjson.Result, fallback int64) int64 {
	switch v.Type {
	case gjson.Number:
		if n := v.Int(); n > 0 {
			return n
		}
	case gjson.String:
		if t, err := time.Parse(time.RFC3339Nano, v.Str); err == nil {
			return t.Unix()
		}
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", v.Str); err == nil {
			return t.Unix()
		}
	}
	return fallback
}

func (p *plugin) StreamEvent(abi.Event, *abi.StreamOut) error {
	return &abi.Error{Status: 502, Type: "plugin_error", Message: "the ideogram provider does not stream"}
}

// maxTextError bounds a plain-text error body passed on as a message.
const maxTextError = 512

// upstreamError normalizes an Ideogram error: {"error":"…"} (or an OpenAI
// style error object), {"detail":"…"}, a validation
// {"detail":[{"loc":[…],"msg":"…"}]}, {"message":"…"} or plain text.
func upstreamError(in *abi.ResponseIn) *abi.Error {
	u := oai.UpstreamError{Status: int(in.Status), RetryAfter: in.Header("Retry-After")}
	validation := false
	if root := gjson.ParseBytes(in.Body); root.IsObject() {
		root.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "error":
				if v.IsObject() {
					u.Message = v.Get("message").String()
					u.Type = v.Get("type").String()
					u.Code = v.Get("code").String()
				} else if v.Type == gjson.String {
					u.Message = v.Str
				}
			case "detail":
				if v.IsArray() {
					validation = true
					u.Message, u.Param = validationMessage(v)
				} else if v.Type == gjson.String && u.Message == "" {
					u.Message = v.Str
				}
			case "message":
				if v.Type == gjson.String && u.Message == "" {
					u.Message = v.Str
				}
			}
			return true
		})
	} else if t := strings.TrimSpace(string(in.Body)); len(t) <= maxTextError && !strings.HasPrefix(t, "<") && !gjson.Valid(t) {
		u.Message = t
	}
	switch {
	case in.Status == 402: // out of credit: retrying here will not help
		u.Status, u.QuotaExhausted = 429, true
		u.Type, u.Code = "insufficient_quota", "insufficient_quota"
		if u.Message == "" {
			u.Message = "The provider account has insufficient credit."
		}
	case in.Status == 422 && !validation: // Ideogram's safety rejection
		u.Status = 400
		u.Code = "content_policy_violation"
		if u.Message == "" {
			u.Message = "The prompt failed Ideogram's safety checks."
		}
	}
	return oai.Normalize(u)
}

// validationMessage renders the first item of a validation detail array as
// "field: message" and returns the field as the param.
func validationMessage(detail gjson.Result) (msg, param string) {
	first := detail.Get("0")
	msg = first.Get("msg").String()
	first.Get("loc").ForEach(func(_, l gjson.Result) bool {
		if l.Type == gjson.String && l.Str != "body" {
			param = l.Str
		}
		return true
	})
	if param != "" && msg != "" {
		msg = param + ": " + msg
	}
	return msg, param
}
