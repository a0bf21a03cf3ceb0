package aigne

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
)

// Embeddings

// embeddingsBody is AIGNE Hub's embeddingsRequestSchema
// (blocklets/core/api/src/libs/ai-routes.ts): model and input (a string,
// or an array of strings, token ids or token-id arrays). Other members are
// stripped, as AIGNE Hub's validator strips them.
type embeddingsBody struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

// EmbeddingsToCanonical converts a POST /api/v2/embeddings body to the
// canonical OpenAI embeddings request {"model","input"}; it returns the
// model. The input's finer rules are the OpenAI surface's (the handler
// checks the canonical body with them).
func EmbeddingsToCanonical(body []byte) ([]byte, string, *apierr.Error) {
	var b embeddingsBody
	if aerr := decodeObject(body, &b); aerr != nil {
		return nil, "", aerr
	}
	if b.Model == "" {
		return nil, "", apierr.BadRequest("model", "Missing required parameter: 'model'.")
	}
	if isNull(b.Input) {
		return nil, "", apierr.BadRequest("input", "Missing required parameter: 'input'.")
	}
	out, err := marshal(&b)
	if err != nil {
		return nil, "", apierr.Internal(err)
	}
	return out, b.Model, nil
}

// EmbeddingsOutput converts a canonical embeddings response to AIGNE Hub's
// answer, {"data":[{"object","embedding","index"}…]} (processEmbeddings
// answers res.json({ data })).
func EmbeddingsOutput(canonical []byte) ([]byte, error) {
	data := gjson.GetBytes(canonical, "data")
	if !data.IsArray() {
		return nil, errNotEmbeddings
	}
	var buf bytes.Buffer
	buf.WriteString(`{"data":`)
	if err := json.Compact(&buf, []byte(data.Raw)); err != nil {
		return nil, err
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

var errNotEmbeddings = errors.New("aigne: the canonical response is not an embeddings response")

// Images

// Image is an image request converted to the canonical form.
type Image struct {
	// Body is the canonical OpenAI images request.
	Body []byte
	// Model is the model the client named.
	Model string
	// OutputFormat is the requested output format ("" when not set), which
	// names the images' MIME type.
	OutputFormat string
}

// canonicalImage is the canonical images.generations request.
type canonicalImage struct {
	Model             string `json:"model"`
	Prompt            string `json:"prompt"`
	N                 *int64 `json:"n,omitempty"`
	Size              string `json:"size,omitempty"`
	Quality           string `json:"quality,omitempty"`
	Style             string `json:"style,omitempty"`
	Background        string `json:"background,omitempty"`
	Moderation        string `json:"moderation,omitempty"`
	OutputFormat      string `json:"output_format,omitempty"`
	OutputCompression *int64 `json:"output_compression,omitempty"`
	User              string `json:"user,omitempty"`
	ResponseFormat    string `json:"response_format,omitempty"`
}

// imageStrings are the string parameters of an image request: AIGNE's
// camelCase name and the canonical one.
var imageStrings = [][2]string{
	{"size", "size"}, {"quality", "quality"}, {"style", "style"}, {"background", "background"},
	{"moderation", "moderation"}, {"outputFormat", "output_format"}, {"user", "user"},
}

// ImageToCanonical converts a POST /api/v2/image body (the AIGNE invoke
// format, as AIGNEHubImageModel sends it: aigne-hub-image-model.js, lines
// 56–74) to the canonical images request. The parameters are read from
// input.modelOptions with input's own members winning, as @aigne/openai's
// image model merges them (openai-image-model.js, lines 79–81): size,
// quality, style, background, moderation, outputFormat, outputCompression,
// user, n, and responseFormat (url, or base64/b64_json). Image editing
// (input.image) is a 400: the hub has no canonical edit API.
func ImageToCanonical(body []byte) (Image, *apierr.Error) {
	var b struct {
		Input json.RawMessage `json:"input"`
		Agent *string         `json:"agent"`
	}
	if aerr := decodeObject(body, &b); aerr != nil {
		return Image{}, aerr
	}
	if isNull(b.Input) {
		return Image{}, apierr.BadRequest("input", "Missing required parameter: 'input'.")
	}
	var input map[string]json.RawMessage
	if jsonKind(b.Input) != "an object" || json.Unmarshal(b.Input, &input) != nil {
		return Image{}, invalidType("input", "an object", jsonKind(b.Input))
	}
	params := map[string]json.RawMessage{}
	if mo := input["modelOptions"]; !isNull(mo) {
		if jsonKind(mo) != "an object" || json.Unmarshal(mo, &params) != nil {
			return Image{}, invalidType("input.modelOptions", "an object", jsonKind(mo))
		}
	}
	model, aerr := stringParam(params, "model", "input.modelOptions.model")
	if aerr != nil {
		return Image{}, aerr
	}
	delete(params, "model")
	for k, v := range input {
		if k != "modelOptions" {
			params[k] = v
		}
	}
	if model == "" {
		return Image{}, apierr.BadRequest("input.modelOptions.model", "Missing required parameter: 'input.modelOptions.model'.")
	}
	return imageRequest(model, params, "input.")
}

// ImageGenerationsToCanonical converts a POST /api/v2/image/generations
// body (AIGNE Hub's legacy imageGenerationRequestSchema: model, prompt,
// size, n, responseFormat or response_format, quality, style) to the
// canonical images request.
func ImageGenerationsToCanonical(body []byte) (Image, *apierr.Error) {
	var params map[string]json.RawMessage
	if aerr := decodeObject(body, &params); aerr != nil {
		return Image{}, aerr
	}
	model, aerr := stringParam(params, "model", "model")
	if aerr != nil {
		return Image{}, aerr
	}
	if model == "" {
		return Image{}, apierr.BadRequest("model", "Missing required parameter: 'model'.")
	}
	if v, ok := params["response_format"]; ok {
		if _, camel := params["responseFormat"]; !camel {
			params["responseFormat"] = v
		}
	}
	return imageRequest(model, params, "")
}

// imageRequest builds the canonical request from camelCase parameters.
func imageRequest(model string, params map[string]json.RawMessage, prefix string) (Image, *apierr.Error) {
	c := canonicalImage{Model: model}
	var aerr *apierr.Error
	if c.Prompt, aerr = stringParam(params, "prompt", prefix+"prompt"); aerr != nil {
		return Image{}, aerr
	}
	if c.Prompt == "" {
		return Image{}, apierr.BadRequest(prefix+"prompt", "Missing required parameter: '"+prefix+"prompt'.")
	}
	if img := params["image"]; !isNull(img) && string(bytes.TrimSpace(img)) != "[]" && string(bytes.TrimSpace(img)) != `""` {
		return Image{}, apierr.BadRequest(prefix+"image", "Image editing is not supported by this hub; send a prompt without images.")
	}
	targets := map[string]*string{"size": &c.Size, "quality": &c.Quality, "style": &c.Style, "background": &c.Background,
		"moderation": &c.Moderation, "outputFormat": &c.OutputFormat, "user": &c.User}
	for _, names := range imageStrings {
		if *targets[names[0]], aerr = stringParam(params, names[0], prefix+names[0]); aerr != nil {
			return Image{}, aerr
		}
	}
	if c.N, aerr = maxTokens(prefix+"n", params["n"]); aerr != nil {
		return Image{}, aerr
	}
	if c.OutputCompression, aerr = intParam(prefix+"outputCompression", params["outputCompression"]); aerr != nil {
		return Image{}, aerr
	}
	rf, aerr := stringParam(params, "responseFormat", prefix+"responseFormat")
	if aerr != nil {
		return Image{}, aerr
	}
	switch rf {
	case "":
	case "url":
		c.ResponseFormat = "url"
	case "base64", "b64_json":
		c.ResponseFormat = "b64_json"
	default:
		return Image{}, apierr.BadRequest(prefix+"responseFormat", "Invalid value: '"+rf+"'. Supported values are: 'url' and 'base64'.")
	}
	out, err := marshal(&c)
	if err != nil {
		return Image{}, apierr.Internal(err)
	}
	return Image{Body: out, Model: model, OutputFormat: c.OutputFormat}, nil
}

// stringParam reads an optional string parameter ("" when absent or null).
func stringParam(params map[string]json.RawMessage, name, param string) (string, *apierr.Error) {
	raw := params[name]
	if isNull(raw) {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", invalidType(param, "a string", jsonKind(raw))
	}
	return s, nil
}

// intParam reads an optional non-negative integer.
func intParam(param string, raw json.RawMessage) (*int64, *apierr.Error) {
	if isNull(raw) {
		return nil, nil
	}
	var n float64
	if json.Unmarshal(raw, &n) != nil || n < 0 || n != float64(int64(n)) {
		return nil, apierr.BadRequest(param, "Invalid '"+param+"': expected a non-negative integer.")
	}
	v := int64(n)
	return &v, nil
}

// mimeOf is the MIME type of an image output format (PNG unless said).
func mimeOf(format string) string {
	switch strings.ToLower(format) {
	case "jpeg", "jpg":
		return "image/jpeg"
	case "webp":
		return "image/webp"
	}
	return "image/png"
}

// imageFile is an image of an ImageModelOutput: a file union member
// (@aigne/core agents/model.js, lines 123–134), {type:"url", url,
// mimeType} or {type:"file", data (base64), mimeType}.
type imageFile struct {
	Type     string `json:"type"`
	URL      string `json:"url,omitempty"`
	Data     string `json:"data,omitempty"`
	MimeType string `json:"mimeType"`
}

// ImageOutput converts a canonical images response to the ImageModelOutput
// that POST /api/v2/image answers (imageModelOutputSchema, image-model.js:
// images, usage, model): each image by URL or as base64 data, as
// @aigne/openai's image model returns them (openai-image-model.js, lines
// 91–104), usage from the response's input/output tokens (zero when it
// has none), credits as in [OutputOptions].
func ImageOutput(canonical []byte, req Image, credits *int64) ([]byte, error) {
	root := gjson.ParseBytes(canonical)
	data := root.Get("data")
	if !data.IsArray() {
		return nil, errNotImages
	}
	format := root.Get("output_format").String()
	if format == "" {
		format = req.OutputFormat
	}
	mime := mimeOf(format)
	out := struct {
		Images []imageFile  `json:"images"`
		Usage  *outputUsage `json:"usage"`
		Model  string       `json:"model"`
	}{Images: []imageFile{}, Model: req.Model}
	data.ForEach(func(_, im gjson.Result) bool {
		if u := im.Get("url").String(); u != "" {
			out.Images = append(out.Images, imageFile{Type: "url", URL: u, MimeType: mime})
		} else if b := im.Get("b64_json").String(); b != "" {
			out.Images = append(out.Images, imageFile{Type: "file", Data: b, MimeType: mime})
		}
		return true
	})
	u := root.Get("usage")
	out.Usage = &outputUsage{InputTokens: u.Get("input_tokens").Int(), OutputTokens: u.Get("output_tokens").Int()}
	if credits != nil {
		out.Usage.AIGNEHubCredits = json.Number(Decimal(*credits, 6))
	}
	return marshal(&out)
}

var errNotImages = errors.New("aigne: the canonical response is not an images response")

// legacyImage is an image of the legacy answer: the base64 under three
// names, or the URL (processImageGeneration in ai-routes.ts).
type legacyImage struct {
	Base64  string `json:"base64,omitempty"`
	B64JSON string `json:"b64_json,omitempty"`
	B64Json string `json:"b64Json,omitempty"`
	URL     string `json:"url,omitempty"`
}

// ImageGenerationsOutput converts a canonical images response to the
// answer of POST /api/v2/image/generations: {"images":[…],"data":[…],
// "model","usage":{"aigneHubCredits"}} (routes/v2.ts), images and data
// alike.
func ImageGenerationsOutput(canonical []byte, req Image, credits *int64) ([]byte, error) {
	data := gjson.GetBytes(canonical, "data")
	if !data.IsArray() {
		return nil, errNotImages
	}
	images := []legacyImage{}
	data.ForEach(func(_, im gjson.Result) bool {
		b := im.Get("b64_json").String()
		images = append(images, legacyImage{Base64: b, B64JSON: b, B64Json: b, URL: im.Get("url").String()})
		return true
	})
	type usage struct {
		AIGNEHubCredits json.Number `json:"aigneHubCredits,omitempty"`
	}
	out := struct {
		Images []legacyImage `json:"images"`
		Data   []legacyImage `json:"data"`
		Model  string        `json:"model"`
		Usage  usage         `json:"usage"`
	}{Images: images, Data: images, Model: req.Model}
	if credits != nil {
		out.Usage.AIGNEHubCredits = json.Number(Decimal(*credits, 6))
	}
	return marshal(&out)
}
