package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/tidwall/gjson"
)

// embeddingsRequest translates an OpenAI embeddings request into a
// batchEmbedContents request: one request per input.
func (p *plugin) embeddingsRequest(in *abi.RequestIn, model string, o *reqOpts) (*abi.RequestOut, error) {
	root := parse(in.Body)
	if !root.IsObject() {
		return nil, oai.BadRequest("", "the request body is not a JSON object")
	}
	inputs, ok := oai.EmbeddingInputs(root)
	if !ok {
		return nil, oai.BadRequest("input", "Gemini embeds a string or an array of strings; token arrays are not supported")
	}
	st := state{kind: kindEmbeddings, created: createdOf(in), requestID: in.RequestID, model: model}
	switch f := root.Get("encoding_format"); f.Str {
	case "base64":
		st.flags |= fBase64
	case "", "float":
	default:
		return nil, oai.BadRequest("encoding_format", "encoding_format must be float or base64")
	}
	dims := root.Get("dimensions")
	size := 0
	for _, s := range inputs {
		size += len(s)
	}
	st.aux = int64((size + 3) / 4) // Gemini reports no usage: about 4 bytes a token
	b := make([]byte, 0, size+len(inputs)*(96+len(model))+32)
	b = append(b, `{"requests":[`...)
	name := oai.AppendString(nil, "models/"+model)
	for i, s := range inputs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"model":`...)
		b = append(b, name...)
		b = append(b, `,"content":{"parts":[{"text":`...)
		b = oai.AppendString(b, s)
		b = append(b, `}]}`...)
		if o.taskType != "" {
			b = append(b, `,"taskType":`...)
			b = oai.AppendString(b, o.taskType)
		}
		if dims.Type == gjson.Number && dims.Int() > 0 {
			b = append(b, `,"outputDimensionality":`...)
			b = oai.AppendInt(b, dims.Int())
		}
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	return &abi.RequestOut{Method: "POST", Path: path(o, model, "batchEmbedContents"), Headers: p.headers, Body: b,
		State: appendState(nil, &st)}, nil
}

// embeddingsResponse converts {"embeddings":[{"values":[…]}]}.
func embeddingsResponse(st *state, body []byte) (*abi.ResponseOut, error) {
	embs := parse(body).Get("embeddings")
	if !embs.IsArray() {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned no embeddings", Retryable: true}
	}
	r := oai.EmbeddingsResponse{Model: st.model, Base64: st.flags&fBase64 != 0}
	ok := true
	embs.ForEach(func(_, e gjson.Result) bool {
		v := e.Get("values")
		if ok = v.IsArray(); ok {
			r.AppendVector(v)
		}
		return ok
	})
	if !ok {
		return nil, &abi.Error{Status: 502, Type: "upstream_error", Message: "the provider returned an embedding without values", Retryable: true}
	}
	return &abi.ResponseOut{Body: r.Finish(st.aux), Usage: &abi.Usage{InputTokens: st.aux}}, nil
}
