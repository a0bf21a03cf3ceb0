package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Image generation: OpenAI's POST /v1/images/generations (also the shape
// of Volcengine Ark's doubao-seedream and xAI's grok image models), and
// Ideogram's POST /v1/ideogram-v3/generate (multipart/form-data). Every
// image is the same 1x1 PNG; URLs point back at the emulator, which
// serves the PNG at GET /emulator/images/….png.

// pngBase64 is the 1x1 red PNG of the fixtures.
const pngBase64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC"

var pngBytes, _ = base64.StdEncoding.DecodeString(pngBase64)

// imageURL is the emulator URL of a generated image.
func imageURL(x *exchange, name string) string {
	scheme := "http"
	if x.r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + x.r.Host + imageFilePrefix + name + ".png"
}

var imageFileDialect = dialect{
	auth:     func(*Emulator, *exchange, []byte) *apiError { return nil },
	invalid:  func(x *exchange, msg string) *apiError { return errInvalidRequest(msg, "", "") },
	serve:    (*Emulator).serveImageFile,
	noForced: true,
}

// serveImageFile answers the GET of a generated image's URL.
func (e *Emulator) serveImageFile(x *exchange, _ []byte) {
	if !strings.HasSuffix(x.r.URL.Path, ".png") {
		x.writeError(errInvalidURL(x.r.Method, x.r.URL.Path), "")
		return
	}
	h := x.w.Header()
	h["Content-Type"] = []string{"image/png"}
	h["Content-Length"] = []string{strconv.Itoa(len(pngBytes))}
	x.w.WriteHeader(http.StatusOK)
	x.w.Write(pngBytes)
}

// imageSizes are the sizes each OpenAI image model family accepts.
var imageSizes = map[string][]string{
	"dall-e-2":  {"256x256", "512x512", "1024x1024"},
	"dall-e-3":  {"1024x1024", "1792x1024", "1024x1792"},
	"gpt-image": {"1024x1024", "1536x1024", "1024x1536", "auto"},
}

// imageFamily is the key of imageSizes for model, "" for other providers'
// models.
func imageFamily(model string) string {
	switch {
	case strings.HasPrefix(model, "gpt-image"):
		return "gpt-image"
	case strings.HasPrefix(model, "dall-e-3"):
		return "dall-e-3"
	case strings.HasPrefix(model, "dall-e-2"):
		return "dall-e-2"
	}
	return ""
}

// validFreeSize accepts the sizes of the other providers: "auto", 1K, 2K,
// 4K or WxH from 64 to 8192.
func validFreeSize(s string) bool {
	switch s {
	case "auto", "1K", "2K", "4K":
		return true
	}
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return false
	}
	wi, err1 := strconv.Atoi(w)
	hi, err2 := strconv.Atoi(h)
	return err1 == nil && err2 == nil && wi >= 64 && hi >= 64 && wi <= 8192 && hi <= 8192
}

// imageQualityTokens is the output tokens of one 1024x1024 gpt-image
// image by quality.
var imageQualityTokens = map[string]int{"low": 272, "medium": 1056, "high": 4160}

// quoteList renders 'a', 'b', and 'c'.
func quoteList(list []string) string {
	var b strings.Builder
	for i, s := range list {
		if i > 0 {
			if i == len(list)-1 {
				b.WriteString(", and ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString("'" + s + "'")
	}
	return b.String()
}

// serveImages answers POST /v1/images/generations in OpenAI's shape: the
// fixtures' images-generations (gpt-image: b64_json, usage, background,
// output_format, quality, size) and images-generations-dall-e-3 (url,
// revised_prompt). doubao/seedream models add model and Ark's usage; grok
// models add revised_prompt.
func (e *Emulator) serveImages(x *exchange, body []byte) {
	var req struct {
		Model          string  `json:"model"`
		Prompt         *string `json:"prompt"`
		N              *int    `json:"n"`
		Size           string  `json:"size"`
		ResponseFormat *string `json:"response_format"`
		Quality        string  `json:"quality"`
		Background     string  `json:"background"`
		OutputFormat   string  `json:"output_format"`
	}
	if apiErr := decodeRequest(body, &req); apiErr != nil {
		x.writeError(apiErr, "")
		return
	}
	if req.Prompt == nil || *req.Prompt == "" {
		x.writeError(errInvalidRequest("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter"), "")
		return
	}
	if req.Model == "" {
		req.Model = "dall-e-2"
	}
	family := imageFamily(req.Model)
	n := 1
	if req.N != nil {
		n = *req.N
		if n < 1 {
			x.writeError(errInvalidRequest("Invalid 'n': integer below minimum value. Expected a value >= 1, but got "+strconv.Itoa(n)+" instead.", "n", "integer_below_min_value"), "")
			return
		}
		if n > 10 {
			x.writeError(errInvalidRequest("Invalid 'n': integer above maximum value. Expected a value <= 10, but got "+strconv.Itoa(n)+" instead.", "n", "integer_above_max_value"), "")
			return
		}
		if family == "dall-e-3" && n != 1 {
			x.writeError(errInvalidRequest("Invalid 'n': integer above maximum value. Expected a value <= 1, but got "+strconv.Itoa(n)+" instead.", "n", "integer_above_max_value"), "")
			return
		}
	}
	if req.Size != "" {
		if sizes := imageSizes[family]; sizes != nil {
			if !slices.Contains(sizes, req.Size) {
				x.writeError(errInvalidRequest("Invalid value: '"+req.Size+"'. Supported values are: "+quoteList(sizes)+".", "size", "invalid_value"), "")
				return
			}
		} else if !validFreeSize(req.Size) {
			x.writeError(errInvalidRequest("Invalid value: '"+req.Size+"'. Supported values are 'auto', '1K', '2K', '4K' and WIDTHxHEIGHT.", "size", "invalid_value"), "")
			return
		}
	}
	b64 := false
	if rf := req.ResponseFormat; rf != nil {
		if family == "gpt-image" {
			x.writeError(errInvalidRequest("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter"), "")
			return
		}
		switch *rf {
		case "url":
		case "b64_json":
			b64 = true
		default:
			x.writeError(errInvalidRequest("Invalid value: '"+*rf+"'. Supported values are: 'url' and 'b64_json'.", "response_format", "invalid_value"), "")
			return
		}
	}
	if family == "gpt-image" {
		b64 = true
	}
	if !e.acceptsModel(req.Model) {
		x.writeError(errModelNotFound(req.Model), "")
		return
	}

	type image struct {
		B64JSON       string `json:"b64_json,omitempty"`
		RevisedPrompt string `json:"revised_prompt,omitempty"`
		URL           string `json:"url,omitempty"`
		Size          string `json:"size,omitempty"`
	}
	type usage struct {
		GeneratedImages    int `json:"generated_images,omitempty"`
		InputTokens        int `json:"input_tokens,omitempty"`
		InputTokensDetails *struct {
			ImageTokens int `json:"image_tokens"`
			TextTokens  int `json:"text_tokens"`
		} `json:"input_tokens_details,omitempty"`
		OutputTokens int `json:"output_tokens"`
		TotalTokens  int `json:"total_tokens"`
	}
	var resp struct {
		Model        string  `json:"model,omitempty"`
		Created      int64   `json:"created"`
		Background   string  `json:"background,omitempty"`
		Data         []image `json:"data"`
		OutputFormat string  `json:"output_format,omitempty"`
		Quality      string  `json:"quality,omitempty"`
		Size         string  `json:"size,omitempty"`
		Usage        *usage  `json:"usage,omitempty"`
	}
	resp.Created = e.created(x)
	revised := ""
	if family == "dall-e-3" || strings.Contains(req.Model, "grok") {
		revised = "A detailed rendering of: " + *req.Prompt
	}
	ark := strings.Contains(req.Model, "doubao") || strings.Contains(req.Model, "seedream")
	size := req.Size
	if size == "" || size == "auto" || size == "1K" {
		size = "1024x1024"
	} else if size == "2K" {
		size = "2048x2048"
	} else if size == "4K" {
		size = "4096x4096"
	}
	for i := range n {
		img := image{RevisedPrompt: revised}
		if b64 {
			img.B64JSON = pngBase64
		} else {
			img.URL = imageURL(x, "img-"+base62ID("", 24, x.seq, uint64(i)+1))
		}
		if ark {
			img.Size = size
		}
		resp.Data = append(resp.Data, img)
	}
	switch {
	case family == "gpt-image":
		quality := req.Quality
		if quality == "" || quality == "auto" || imageQualityTokens[quality] == 0 {
			quality = "medium"
		}
		resp.Background = either(req.Background, "opaque")
		if resp.Background == "auto" {
			resp.Background = "opaque"
		}
		resp.OutputFormat = either(req.OutputFormat, "png")
		resp.Quality = quality
		resp.Size = size
		in := max(1, len(*req.Prompt)/4)
		out := imageQualityTokens[quality] * n
		resp.Usage = &usage{InputTokens: in, OutputTokens: out, TotalTokens: in + out,
			InputTokensDetails: &struct {
				ImageTokens int `json:"image_tokens"`
				TextTokens  int `json:"text_tokens"`
			}{0, in}}
	case ark:
		resp.Model = req.Model
		out := 4096 * n
		resp.Usage = &usage{GeneratedImages: n, OutputTokens: out, TotalTokens: out}
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, marshalJSON(&resp), "", "  "); err != nil {
		panic(err)
	}
	buf.WriteByte('\n')
	x.setSuccessHeaders(ctJSON, buf.Len())
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, buf.Bytes())
}

// Ideogram.

var ideogramDialect = dialect{
	auth:    (*Emulator).ideogramAuth,
	forced:  (*Emulator).ideogramForced,
	invalid: func(_ *exchange, msg string) *apiError { return ideogramError(http.StatusBadRequest, msg) },
	serve:   (*Emulator).serveIdeogram,
}

func ideogramError(status int, msg string) *apiError {
	return &apiError{
		status:      status,
		contentType: ctJSON,
		body: marshalJSON(struct {
			Error string `json:"error"`
		}{msg}),
		header: http.Header{},
	}
}

func (e *Emulator) ideogramAuth(x *exchange, _ []byte) *apiError {
	v := x.r.Header["Api-Key"]
	if len(v) == 0 || strings.TrimSpace(v[0]) == "" || (e.opts.APIKey != "" && strings.TrimSpace(v[0]) != e.opts.APIKey) {
		return ideogramError(http.StatusUnauthorized, "Unauthorized: invalid or missing Api-Key.")
	}
	return nil
}

func (e *Emulator) ideogramForced(x *exchange, _ []byte) *apiError {
	switch status := x.sw.status; status {
	case http.StatusBadRequest:
		return ideogramError(status, "Invalid request.")
	case http.StatusUnauthorized:
		return ideogramError(status, "Unauthorized: invalid or missing Api-Key.")
	case http.StatusUnprocessableEntity:
		return ideogramError(status, "Prompt failed the safety check.")
	case http.StatusTooManyRequests:
		return ideogramError(status, "Too many requests.")
	default:
		return ideogramError(status, "Emulated error: HTTP "+strconv.Itoa(status)+" "+http.StatusText(status)+".")
	}
}

// ideogramResolutions maps Ideogram 3.0 aspect ratios to their
// resolutions.
var ideogramResolutions = map[string]string{
	"1x1": "1024x1024", "16x9": "1312x736", "9x16": "736x1312", "4x3": "1152x864", "3x4": "864x1152",
	"3x2": "1248x832", "2x3": "832x1248", "16x10": "1280x800", "10x16": "800x1280",
	"1x3": "576x1728", "3x1": "1728x576", "1x2": "720x1440", "2x1": "1440x720", "4x5": "896x1120", "5x4": "1120x896",
}

var (
	ideogramSpeeds = []string{"FLASH", "TURBO", "DEFAULT", "QUALITY"}
	ideogramStyles = []string{"AUTO", "GENERAL", "REALISTIC", "DESIGN", "FICTION"}
)

// maxFormValue bounds one multipart text value.
const maxFormValue = 64 << 10

var errNotMultipart = errors.New("Content-Type must be multipart/form-data")

// parseMultipartText reads the text fields of a multipart/form-data body
// (file parts are skipped). The first value of a repeated field wins.
func parseMultipartText(contentType string, body []byte) (map[string]string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, errNotMultipart
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	fields := map[string]string{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormValue+1))
		if err != nil {
			return nil, err
		}
		if len(v) > maxFormValue {
			return nil, errors.New("form value " + strconv.Quote(name) + " is too large")
		}
		if _, seen := fields[name]; !seen {
			fields[name] = string(v)
		}
	}
}

// serveIdeogram answers POST /v1/ideogram-v3/generate.
func (e *Emulator) serveIdeogram(x *exchange, body []byte) {
	fields, err := parseMultipartText(x.r.Header.Get("Content-Type"), body)
	if err != nil {
		x.writeError(ideogramError(http.StatusBadRequest, "Invalid multipart form: "+err.Error()), "")
		return
	}
	bad := func(msg string) { x.writeError(ideogramError(http.StatusBadRequest, msg), "") }
	prompt := fields["prompt"]
	if strings.TrimSpace(prompt) == "" {
		bad("prompt is required")
		return
	}
	n := 1
	if v, ok := fields["num_images"]; ok {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 8 {
			bad("num_images must be an integer from 1 to 8")
			return
		}
	}
	resolution := "1024x1024"
	if v, ok := fields["aspect_ratio"]; ok {
		if resolution = ideogramResolutions[v]; resolution == "" {
			bad("Invalid aspect_ratio: " + v)
			return
		}
	}
	if v, ok := fields["resolution"]; ok {
		if _, _, ok := strings.Cut(v, "x"); !ok || !validFreeSize(v) {
			bad("Invalid resolution: " + v)
			return
		}
		resolution = v
	}
	if v, ok := fields["rendering_speed"]; ok && !slices.Contains(ideogramSpeeds, v) {
		bad("Invalid rendering_speed: " + v)
		return
	}
	style := "GENERAL"
	if v, ok := fields["style_type"]; ok {
		if !slices.Contains(ideogramStyles, v) {
			bad("Invalid style_type: " + v)
			return
		}
		if v != "AUTO" {
			style = v
		}
	}
	seed := int64(splitmix64(x.seq) % 2147483648)
	if v, ok := fields["seed"]; ok {
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil || seed < 0 || seed > 2147483647 {
			bad("seed must be an integer from 0 to 2147483647")
			return
		}
	}
	if strings.Contains(prompt, blockWord) {
		x.writeError(ideogramError(http.StatusUnprocessableEntity, "Prompt failed the safety check."), "")
		return
	}
	type image struct {
		Prompt      string `json:"prompt"`
		Resolution  string `json:"resolution"`
		IsImageSafe bool   `json:"is_image_safe"`
		Seed        int64  `json:"seed"`
		URL         string `json:"url"`
		StyleType   string `json:"style_type"`
	}
	var resp struct {
		Created string  `json:"created"`
		Data    []image `json:"data"`
	}
	created := x.start
	if e.opts.Created != 0 {
		created = time.Unix(e.opts.Created, 0)
	}
	resp.Created = created.UTC().Format(time.RFC3339)
	for i := range n {
		resp.Data = append(resp.Data, image{
			Prompt: prompt, Resolution: resolution, IsImageSafe: true, Seed: seed + int64(i),
			URL:       imageURL(x, "ephemeral/"+base62ID("", 22, x.seq, uint64(i)+0x494447)),
			StyleType: style,
		})
	}
	b := marshalJSON(&resp)
	setJSONHeaders(x.w.Header(), "application/json", len(b))
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}
