package aigne

import (
	"strings"
	"testing"
)

func TestMediaRequestsGolden(t *testing.T) {
	// POST /api/v2/embeddings: embeddingsRequestSchema (ai-routes.ts) keeps
	// model and input only.
	body, model, aerr := EmbeddingsToCanonical(read(t, "requests/embeddings.json"))
	if aerr != nil || model != "openai/text-embedding-3-small" {
		t.Fatalf("%v %q", aerr, model)
	}
	sameJSON(t, "embeddings", body, read(t, "canonical/embeddings.json"))

	// POST /api/v2/image: AIGNEHubImageModel's body (captured), its
	// parameters in input.modelOptions.
	img, aerr := ImageToCanonical(read(t, "requests/image.json"))
	if aerr != nil || img.Model != "openai/dall-e-3" {
		t.Fatalf("%v %+v", aerr, img)
	}
	sameJSON(t, "image", img.Body, read(t, "canonical/image.json"))

	// POST /api/v2/image/generations: response_format b64_json kept.
	img, aerr = ImageGenerationsToCanonical(read(t, "requests/image-generations.json"))
	if aerr != nil || img.Model != "openai/gpt-image-1" {
		t.Fatalf("%v %+v", aerr, img)
	}
	sameJSON(t, "image-generations", img.Body, read(t, "canonical/image-generations.json"))
}

func TestImageParameters(t *testing.T) {
	// input's own members win over modelOptions (openai-image-model.js,
	// lines 79–81); camelCase becomes snake case; base64 → b64_json.
	img, aerr := ImageToCanonical([]byte(`{"input":{"prompt":"p","size":"512x512","outputFormat":"webp","outputCompression":80,` +
		`"modelOptions":{"model":"m","size":"1024x1024","background":"transparent","responseFormat":"base64"}}}`))
	if aerr != nil {
		t.Fatal(aerr)
	}
	sameJSON(t, "params", img.Body, []byte(`{"model":"m","prompt":"p","size":"512x512","background":"transparent",`+
		`"output_format":"webp","output_compression":80,"response_format":"b64_json"}`))
	if img.OutputFormat != "webp" {
		t.Fatalf("output format %q", img.OutputFormat)
	}
	for _, tt := range []struct{ name, body, param string }{
		{"no input", `{"agent":"$CHAT_MODEL"}`, "input"},
		{"no model", `{"input":{"prompt":"p"}}`, "input.modelOptions.model"},
		{"no prompt", `{"input":{"modelOptions":{"model":"m"}}}`, "input.prompt"},
		{"editing", `{"input":{"prompt":"p","image":[{"type":"url","url":"u"}],"modelOptions":{"model":"m"}}}`, "input.image"},
		{"size number", `{"input":{"prompt":"p","size":5,"modelOptions":{"model":"m"}}}`, "input.size"},
		{"n zero", `{"input":{"prompt":"p","n":0,"modelOptions":{"model":"m"}}}`, "input.n"},
		{"bad format", `{"input":{"prompt":"p","responseFormat":"png","modelOptions":{"model":"m"}}}`, "input.responseFormat"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, aerr := ImageToCanonical([]byte(tt.body))
			if aerr == nil || aerr.Status != 400 || aerr.Param != tt.param {
				t.Fatalf("got %+v", aerr)
			}
		})
	}
	if _, aerr := ImageGenerationsToCanonical([]byte(`{"prompt":"p"}`)); aerr == nil || aerr.Param != "model" {
		t.Fatalf("got %+v", aerr)
	}
	for _, body := range []string{`{"model":"m"}`, `{"input":"x"}`, `{"model":"m","input":null}`} {
		if _, _, aerr := EmbeddingsToCanonical([]byte(body)); aerr == nil || aerr.Status != 400 {
			t.Fatalf("%s: %+v", body, aerr)
		}
	}
}

func TestMediaOutputsGolden(t *testing.T) {
	got, err := EmbeddingsOutput(read(t, "fixtures/openai/embeddings-float.response.json"))
	if err != nil {
		t.Fatal(err)
	}
	// processEmbeddings answers res.json({ data }).
	sameJSON(t, "embeddings", got, read(t, "expected/embeddings-float.aigne.json"))

	// ImageModelOutput (image-model.js imageModelOutputSchema) as
	// @aigne/openai's image model builds it (openai-image-model.js, lines
	// 91–104): base64 → {type:file,data}, url → {type:url,url}, usage from
	// input/output tokens.
	got, err = ImageOutput(read(t, "fixtures/openai/images-generations.response.json"), Image{Model: "openai/gpt-image-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "gpt-image-1", got, read(t, "expected/images-generations.aigne.json"))
	got, err = ImageOutput(read(t, "fixtures/openai/images-generations-dall-e-3.response.json"), Image{Model: "openai/dall-e-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "dall-e-3", got, read(t, "expected/images-generations-dall-e-3.aigne.json"))

	// The legacy answer (routes/v2.ts /image/generations): the base64
	// under base64, b64_json and b64Json, in images and data.
	got, err = ImageGenerationsOutput(read(t, "fixtures/openai/images-generations.response.json"), Image{Model: "openai/gpt-image-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "legacy", got, read(t, "expected/images-generations.legacy.json"))

	credits := int64(40_000)
	got, _ = ImageOutput([]byte(`{"data":[{"b64_json":"AA"}]}`), Image{Model: "m", OutputFormat: "jpeg"}, &credits)
	sameJSON(t, "jpeg", got, []byte(`{"images":[{"type":"file","data":"AA","mimeType":"image/jpeg"}],"usage":{"inputTokens":0,"outputTokens":0,"aigneHubCredits":0.04},"model":"m"}`))
	got, _ = ImageGenerationsOutput([]byte(`{"data":[{"url":"u"}]}`), Image{Model: "m"}, &credits)
	sameJSON(t, "legacy credits", got, []byte(`{"images":[{"url":"u"}],"data":[{"url":"u"}],"model":"m","usage":{"aigneHubCredits":0.04}}`))

	for _, bad := range []string{`{}`, `[]`, `{"data":{}}`} {
		if _, err := EmbeddingsOutput([]byte(bad)); err == nil {
			t.Fatalf("embeddings %s converted", bad)
		}
		if _, err := ImageOutput([]byte(bad), Image{}, nil); err == nil {
			t.Fatalf("images %s converted", bad)
		}
	}
	if !strings.Contains(string(must(ImageOutput([]byte(`{"data":[]}`), Image{Model: "m"}, nil))), `"images":[]`) {
		t.Fatal("an empty answer is not an empty images array")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
