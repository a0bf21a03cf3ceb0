package server

import (
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
)

// maxEmbeddingInputs is OpenAI's limit on the inputs of one request.
const maxEmbeddingInputs = 2048

// parseEmbeddings validates an embeddings body as OpenAI does: "input" is a
// non-empty string, array of strings, array of token ids, or array of
// token-id arrays; "encoding_format" is "float" or "base64"; "dimensions"
// a positive integer.
func parseEmbeddings(body []byte) (chatRequest, *apierr.Error) {
	var req chatRequest
	root, model, aerr := parseObject(body)
	if aerr != nil {
		return req, aerr
	}
	req.model = model
	in := root.Get("input")
	switch {
	case !in.Exists() || in.Type == gjson.Null:
		return req, apierr.BadRequest("input", "Missing required parameter: 'input'.")
	case in.Type == gjson.String:
		if in.Str == "" {
			return req, apierr.BadRequest("input", "Invalid 'input': empty string.")
		}
	case in.IsArray():
		n := 0
		var bad *apierr.Error
		in.ForEach(func(_, v gjson.Result) bool {
			param := "input[" + strconv.Itoa(n) + "]"
			n++
			switch {
			case v.Type == gjson.String:
				if v.Str == "" {
					bad = apierr.BadRequest(param, "Invalid '"+param+"': empty string.")
				}
			case v.Type == gjson.Number:
				if v.Num != float64(int64(v.Num)) || v.Num < 0 {
					bad = invalidType(param, "a token id (a non-negative integer)", v)
				}
			case v.IsArray():
				if len(v.Array()) == 0 {
					bad = apierr.BadRequest(param, "Invalid '"+param+"': empty array.")
				}
			default:
				bad = invalidType(param, "a string, a token id or an array of token ids", v)
			}
			return bad == nil
		})
		switch {
		case bad != nil:
			return req, bad
		case n == 0:
			return req, apierr.BadRequest("input", "Invalid 'input': empty array. Expected an array with minimum length 1.")
		case n > maxEmbeddingInputs:
			return req, apierr.BadRequest("input", "Invalid 'input': array too long. Expected an array with maximum length "+strconv.Itoa(maxEmbeddingInputs)+", but got an array with length "+strconv.Itoa(n)+" instead.")
		}
	default:
		return req, invalidType("input", "a string or an array", in)
	}
	if f := root.Get("encoding_format"); f.Exists() && f.Type != gjson.Null {
		if f.Type != gjson.String || f.Str != "float" && f.Str != "base64" {
			return req, apierr.BadRequest("encoding_format", "Invalid value for 'encoding_format': expected 'float' or 'base64'.")
		}
	}
	if d := root.Get("dimensions"); d.Exists() && d.Type != gjson.Null {
		if d.Type != gjson.Number || d.Num != float64(int64(d.Num)) || d.Num < 1 {
			return req, apierr.BadRequest("dimensions", "Invalid 'dimensions': expected a positive integer.")
		}
	}
	if u := root.Get("user"); u.Exists() && u.Type != gjson.Null && u.Type != gjson.String {
		return req, invalidType("user", "a string", u)
	}
	return req, nil
}

// parseImages validates an image-generation body: a non-empty "prompt";
// "n" 1..10; "response_format" "url" or "b64_json"; "size", "quality" and
// "style" strings (their values are the provider's business).
func parseImages(body []byte) (chatRequest, *apierr.Error) {
	var req chatRequest
	root, model, aerr := parseObject(body)
	if aerr != nil {
		return req, aerr
	}
	req.model = model
	p := root.Get("prompt")
	switch {
	case !p.Exists() || p.Type == gjson.Null:
		return req, apierr.BadRequest("prompt", "Missing required parameter: 'prompt'.")
	case p.Type != gjson.String:
		return req, invalidType("prompt", "a string", p)
	case p.Str == "":
		return req, apierr.BadRequest("prompt", "Invalid 'prompt': empty string.")
	}
	if n := root.Get("n"); n.Exists() && n.Type != gjson.Null {
		if n.Type != gjson.Number || n.Num != float64(int64(n.Num)) {
			return req, invalidType("n", "an integer", n)
		}
		if n.Num < 1 || n.Num > 10 {
			return req, apierr.BadRequest("n", "Invalid 'n': expected a value between 1 and 10, but got "+n.Raw+" instead.")
		}
	}
	if f := root.Get("response_format"); f.Exists() && f.Type != gjson.Null {
		if f.Type != gjson.String || f.Str != "url" && f.Str != "b64_json" {
			return req, apierr.BadRequest("response_format", "Invalid value for 'response_format': expected 'url' or 'b64_json'.")
		}
	}
	for _, k := range []string{"size", "quality", "style", "user", "background", "output_format"} {
		if v := root.Get(k); v.Exists() && v.Type != gjson.Null && v.Type != gjson.String {
			return req, invalidType(k, "a string", v)
		}
	}
	if s := root.Get("stream"); s.Type == gjson.True {
		return req, apierr.BadRequest("stream", "Streaming image generation is not supported by this hub.")
	}
	return req, nil
}
