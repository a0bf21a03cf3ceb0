package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
)

type embeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

// embeddingInput is one input: its bytes seed the vector, tokens is its
// token count.
type embeddingInput struct {
	seed   []byte
	tokens int
}

// parseInputs splits "input" into its inputs: a string, an array of
// strings, an array of token ids (one input) or an array of token-id
// arrays.
func parseInputs(raw json.RawMessage) ([]embeddingInput, *apiError) {
	raw = bytes.TrimSpace(raw)
	missing := errInvalidRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter")
	invalid := errInvalidRequest("Invalid 'input': expected a string, an array of strings, an array of token ids or an array of token-id arrays.", "input", "invalid_type")
	if len(raw) == 0 || string(raw) == "null" {
		return nil, missing
	}
	one := func(raw json.RawMessage) (embeddingInput, bool) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			return embeddingInput{}, false
		}
		switch raw[0] {
		case '"':
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return embeddingInput{}, false
			}
			return embeddingInput{seed: []byte(s), tokens: max(1, len(s)/4)}, true
		case '[':
			var ids []int64
			if json.Unmarshal(raw, &ids) != nil || len(ids) == 0 {
				return embeddingInput{}, false
			}
			return embeddingInput{seed: raw, tokens: len(ids)}, true
		}
		return embeddingInput{}, false
	}
	if raw[0] != '[' {
		in, ok := one(raw)
		if !ok {
			return nil, invalid
		}
		return []embeddingInput{in}, nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, invalid
	}
	if len(items) == 0 {
		return nil, errInvalidRequest("Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.", "input", "empty_array")
	}
	if c := bytes.TrimSpace(items[0]); len(c) > 0 && (c[0] == '-' || (c[0] >= '0' && c[0] <= '9')) {
		in, ok := one(raw) // one input given as token ids
		if !ok {
			return nil, invalid
		}
		return []embeddingInput{in}, nil
	}
	inputs := make([]embeddingInput, 0, len(items))
	for _, item := range items {
		in, ok := one(item)
		if !ok {
			return nil, invalid
		}
		inputs = append(inputs, in)
	}
	return inputs, nil
}

// vector fills v with the deterministic unit-length embedding of seed.
func vector(v []float32, seed []byte) {
	x := fnv1a(seed) ^ uint64(len(v))
	var norm float64
	for i := range v {
		x = splitmix64(x)
		f := float64(int64(x>>11))/float64(1<<52) - 1 // [-1, 1)
		v[i] = float32(f)
		norm += f * f
	}
	if norm == 0 {
		return
	}
	scale := 1 / math.Sqrt(norm)
	for i := range v {
		v[i] = float32(float64(v[i]) * scale)
	}
}

// serveEmbeddings answers POST /v1/embeddings like the embeddings
// fixtures: 2-space pretty JSON, vectors as float arrays or as base64 of
// little-endian float32.
func (e *Emulator) serveEmbeddings(x *exchange, body []byte) {
	var req embeddingsRequest
	if apiErr := decodeRequest(body, &req); apiErr != nil {
		x.writeError(apiErr, "")
		return
	}
	if req.Model == "" {
		x.writeError(errInvalidRequest("you must provide a model parameter", "", ""), "")
		return
	}
	inputs, apiErr := parseInputs(req.Input)
	if apiErr != nil {
		x.writeError(apiErr, "")
		return
	}
	base64Format := false
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		base64Format = true
	default:
		x.writeError(errInvalidRequest("Invalid value for 'encoding_format': expected 'float' or 'base64', but got '"+req.EncodingFormat+"'.", "encoding_format", "invalid_value"), "")
		return
	}
	dims := e.opts.Dimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
		if dims < 1 || dims > maxDimensions {
			x.writeError(errInvalidRequest("Invalid 'dimensions': expected a value from 1 to "+strconv.Itoa(maxDimensions)+", but got "+strconv.Itoa(dims)+" instead.", "dimensions", "invalid_value"), "")
			return
		}
	}
	if !e.acceptsModel(req.Model) {
		x.writeError(errModelNotFound(req.Model), "")
		return
	}

	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], "{\n  \"object\": \"list\",\n  \"data\": ["...)
	vec := make([]float32, dims)
	var raw []byte
	if base64Format {
		raw = make([]byte, 4*dims)
	}
	tokens := 0
	for i, in := range inputs {
		tokens += in.tokens
		vector(vec, in.seed)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n    {\n      \"object\": \"embedding\",\n      \"index\": "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ",\n      \"embedding\": "...)
		if base64Format {
			for j, f := range vec {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range vec {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, "\n        "...)
				b = appendFloat32(b, f)
			}
			b = append(b, "\n      ]"...)
		}
		b = append(b, "\n    }"...)
	}
	b = append(b, "\n  ],\n  \"model\": "...)
	b = appendJSONString(b, req.Model)
	b = append(b, ",\n  \"usage\": {\n    \"prompt_tokens\": "...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, ",\n    \"total_tokens\": "...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	b = append(b, "\n  }\n}\n"...)
	defer func() { *bp = b[:0]; putBuf(bp) }()

	x.setSuccessHeaders(ctJSON, len(b))
	x.w.Header()["Openai-Model"] = []string{req.Model}
	x.w.WriteHeader(http.StatusOK)
	e.writeBody(x, b)
}
