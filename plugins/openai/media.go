package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// embeddingsResponse passes an embeddings body through (the upstream
// already honoured encoding_format) and meters its prompt tokens.
func embeddingsResponse(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	if !gjson.GetBytes(in.Body, "data").IsArray() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider's embeddings response has no data array", Retryable: true}
	}
	u := gjson.GetBytes(in.Body, "usage")
	return &abi.ResponseOut{Body: in.Body, Usage: &abi.Usage{InputTokens: u.Get("prompt_tokens").Int()}}, nil
}

// imagesBody rewrites an image-generation request for the flavor: the
// upstream model id; xAI takes no size, quality or style; Doubao's
// watermark defaults to the provider option (off).
func imagesBody(in *abi.RequestIn, o options) ([]byte, error) {
	body, ok := rewrite(in.Body, in.Model, false)
	if !ok {
		return nil, errNotObject
	}
	switch o.flavor {
	case flavorXAI:
		for _, k := range [...]string{"size", "quality", "style"} {
			body, _ = sjson.DeleteBytes(body, k)
		}
	case flavorDoubao:
		if !gjson.GetBytes(body, "watermark").Exists() {
			body, _ = sjson.SetBytes(body, "watermark", o.watermarkOn)
		}
	}
	return body, nil
}

// imagesResponse passes an images body through and meters it: one unit
// per image, plus the tokens gpt-image models report.
func imagesResponse(in *abi.ResponseIn) (*abi.ResponseOut, error) {
	data := gjson.GetBytes(in.Body, "data")
	if !data.IsArray() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider's image response has no data array", Retryable: true}
	}
	u := &abi.Usage{Images: int64(len(data.Array()))}
	if usage := gjson.GetBytes(in.Body, "usage"); usage.IsObject() {
		u.InputTokens = usage.Get("input_tokens").Int()
		u.OutputTokens = usage.Get("output_tokens").Int()
	}
	return &abi.ResponseOut{Body: in.Body, Usage: u}, nil
}
