package oai

import (
	"encoding/base64"
	"encoding/binary"
	"math"

	"github.com/tidwall/gjson"
)

// EmbeddingsResponse writes a canonical embeddings response ("object":
// "list") vector by vector.
type EmbeddingsResponse struct {
	// Model is the model id the response names.
	Model string
	// Base64 writes each vector as base64 little-endian float32, as OpenAI
	// does for encoding_format "base64"; otherwise as a JSON array.
	Base64 bool

	buf []byte
	n   int
}

// AppendVector appends the next embedding from a JSON array of numbers
// (raw, as the provider sent it).
func (r *EmbeddingsResponse) AppendVector(vec gjson.Result) {
	r.open()
	if r.Base64 {
		var f32 []byte
		vec.ForEach(func(_, v gjson.Result) bool {
			f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(float32(v.Float())))
			return true
		})
		r.buf = append(r.buf, '"')
		r.buf = base64.StdEncoding.AppendEncode(r.buf, f32)
		r.buf = append(r.buf, '"')
	} else {
		r.buf = AppendCompact(r.buf, vec.Raw)
	}
	r.buf = append(r.buf, '}')
}

func (r *EmbeddingsResponse) open() {
	if r.n == 0 {
		r.buf = append(r.buf[:0], `{"object":"list","data":[`...)
	} else {
		r.buf = append(r.buf, ',')
	}
	r.buf = append(r.buf, `{"object":"embedding","index":`...)
	r.buf = AppendInt(r.buf, int64(r.n))
	r.buf = append(r.buf, `,"embedding":`...)
	r.n++
}

// Finish appends the model and usage and returns the whole response.
func (r *EmbeddingsResponse) Finish(promptTokens int64) []byte {
	if r.n == 0 {
		r.buf = append(r.buf[:0], `{"object":"list","data":[`...)
	}
	r.buf = append(r.buf, `],"model":`...)
	r.buf = AppendString(r.buf, r.Model)
	r.buf = append(r.buf, `,"usage":{"prompt_tokens":`...)
	r.buf = AppendInt(r.buf, promptTokens)
	r.buf = append(r.buf, `,"total_tokens":`...)
	r.buf = AppendInt(r.buf, promptTokens)
	return append(r.buf, `}}`...)
}

// EmbeddingInputs returns the request's "input" as a list of strings: a
// string, or an array of strings. ok is false for token-array inputs,
// which only OpenAI itself accepts.
func EmbeddingInputs(req gjson.Result) (inputs []string, ok bool) {
	in := req.Get("input")
	switch {
	case in.Type == gjson.String:
		return []string{in.Str}, true
	case in.IsArray():
		ok = true
		in.ForEach(func(_, v gjson.Result) bool {
			if v.Type != gjson.String {
				ok = false
				return false
			}
			inputs = append(inputs, v.Str)
			return true
		})
		return inputs, ok && len(inputs) > 0
	}
	return nil, false
}
