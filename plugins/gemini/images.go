package main

import (
	"math"
	"strconv"
	"strings"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// Aspect ratios the models accept.
var (
	imagenRatios = []string{"1:1", "3:4", "4:3", "9:16", "16:9"}
	geminiRatios = []string{"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
)

// aspectRatio maps an OpenAI size ("1792x1024") to the nearest ratio of
// ratios; "" for no size or "auto".
func aspectRatio(size string, ratios []string) (string, bool) {
	if size == "" || size == "auto" {
		return "", true
	}
	ws, hs, ok := strings.Cut(size, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return "", false
	}
	want := math.Log(float64(w) / float64(h))
	best, bestD := "", math.Inf(1)
	for _, r := range ratios {
		a, b, _ := strings.Cut(r, ":")
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		if d := math.Abs(math.Log(float64(x)/float64(y)) - want); d < bestD {
			best, bestD = r, d
		}
	}
	return best, true
}

// imagesRequest translates an OpenAI image generation into Imagen's
// :predict, or a Gemini image model's :generateContent.
func (p *plugin) imagesRequest(in *abi.RequestIn, model string, o *reqOpts) (*abi.RequestOut, error) {
	root := parse(in.Body)
	if !root.IsObject() {
		return nil, oai.BadRequest("", "the request body is not a JSON object")
	}
	var prompt, n, size, format gjson.Result
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "prompt":
			prompt = v
		case "n":
			n = v
		case "size":
			size = v
		case "response_format":
			format = v
		}
		return true
	})
	if prompt.Str == "" {
		return nil, oai.BadRequest("prompt", "prompt is required")
	}
	count := int64(1)
	if n.Type == gjson.Number {
		if count = n.Int(); count < 1 {
			return nil, oai.BadRequest("n", "n must be at least 1")
		}
	}
	st := state{kind: kindImages, created: createdOf(in), requestID: in.RequestID, model: model}
	switch format.Str {
	case "url":
		st.flags |= fImageURL
	case "", "b64_json":
	default:
		return nil, oai.BadRequest("response_format", "response_format must be url or b64_json")
	}
	imagen := strings.HasPrefix(model, "imagen")
	ratios := geminiRatios
	if imagen {
		ratios = imagenRatios
	}
	ratio, ok := aspectRatio(size.Str, ratios)
	if !ok {
		return nil, oai.BadRequest("size", "size must be WIDTHxHEIGHT, e.g. 1024x1024")
	}
	b := make([]byte, 0, len(prompt.Str)+160)
	method := "predict"
	if imagen {
		b = append(b, `{"instances":[{"prompt":`...)
		b = oai.AppendString(b, prompt.Str)
		b = append(b, `}],"parameters":{"sampleCount":`...)
		b = oai.AppendInt(b, count)
		if ratio != "" {
			b = append(b, `,"aspectRatio":"`...)
			b = append(b, ratio...)
			b = append(b, '"')
		}
		b = append(b, "}}"...)
	} else {
		if count > 1 {
			return nil, oai.BadRequest("n", "Gemini image models make one image per request; n must be 1")
		}
		st.kind = kindImagesGemini
		method = "generateContent"
		b = append(b, `{"contents":[{"role":"user","parts":[{"text":`...)
		b = oai.AppendString(b, prompt.Str)
		b = append(b, `}]}],"generationConfig":{"responseModalities":["IMAGE"]`...)
		if ratio != "" {
			b = append(b, `,"imageConfig":{"aspectRatio":"`...)
			b = append(b, ratio...)
			b = append(b, `"}`...)
		}
		b = append(b, '}')
		if o.safety != "" {
			b = append(b, `,"safetySettings":`...)
			b = append(b, o.safety...)
		}
		b = append(b, '}')
	}
	return &abi.RequestOut{Method: "POST", Path: path(o, model, method), Headers: p.headers, Body: b,
		State: appendState(nil, &st)}, nil
}

// imagesResponse converts Imagen's {"predictions":[{"bytesBase64Encoded",
// "mimeType"}]} or a Gemini image model's inlineData parts.
func imagesResponse(st *state, body []byte) (*abi.ResponseOut, error) {
	root := parse(body)
	if !root.IsObject() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned a body that is not JSON", Retryable: true}
	}
	var images []oai.Image
	add := func(data, mime string) {
		if data == "" {
			return
		}
		if st.flags&fImageURL != 0 {
			if mime == "" {
				mime = "image/png"
			}
			images = append(images, oai.Image{URL: "data:" + mime + ";base64," + data})
		} else {
			images = append(images, oai.Image{B64JSON: data})
		}
	}
	filtered := ""
	var usage *abi.Usage
	if st.kind == kindImages {
		root.Get("predictions").ForEach(func(_, p gjson.Result) bool {
			add(p.Get("bytesBase64Encoded").Str, p.Get("mimeType").Str)
			if r := p.Get("raiFilteredReason").Str; r != "" {
				filtered = r
			}
			return true
		})
	} else {
		root.Get("candidates").ForEach(func(_, c gjson.Result) bool {
			c.Get("content.parts").ForEach(func(_, part gjson.Result) bool {
				d := part.Get("inlineData")
				add(d.Get("data").Str, d.Get("mimeType").Str)
				return true
			})
			if r := c.Get("finishReason").Str; r != "" && r != "STOP" {
				filtered = r
			}
			return true
		})
		if r := root.Get("promptFeedback.blockReason").Str; r != "" {
			filtered = r
		}
		if u := root.Get("usageMetadata"); u.IsObject() {
			usage = parseUsage(u)
		}
	}
	if len(images) == 0 {
		msg := "the provider returned no image"
		if filtered != "" {
			msg += " (" + filtered + ")"
		}
		return nil, &abi.Error{Status: 400, Type: "invalid_request_error", Code: "content_policy_violation", Param: "prompt", Message: msg}
	}
	if usage == nil {
		usage = &abi.Usage{}
	}
	usage.Images = int64(len(images))
	return &abi.ResponseOut{Body: oai.AppendImagesResponse(nil, st.created, images), Usage: usage}, nil
}
