package emulator_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

// fuzzServe runs one request through the handler in process and checks the
// answer is well-formed whatever the body: a known status, valid JSON (or a
// well-formed stream of JSON events).
func fuzzServe(t *testing.T, emu *emulator.Emulator, path string, body []byte) {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
	default:
		t.Fatalf("status %d for %q", rec.Code, body)
	}
	out := rec.Body.Bytes()
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
		sseEvents(t, out)
		return
	}
	if !json.Valid(out) {
		t.Fatalf("invalid JSON answer to %q:\n%s", body, out)
	}
}

func addSeeds(f *testing.F, pattern string) {
	names, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzChatRequest(f *testing.F) {
	addSeeds(f, "chat-completions.*.request.json")
	f.Add([]byte(`{"model":"m\u2028\"<>&","messages":[{"role":"user","content":"\ud83d\ude00 \u0000 \t"}],"stream":true,"stream_options":{"include_usage":true}}`))
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"a\"b","parameters":{"properties":{"é":{"enum":["ü\n", 2]}}}}}]}`))
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"tools":[{"function":{"name":"t"}}],"stream":true}`))
	emu := emulator.New(emulator.Options{Answer: "mot \"quoté\" \\ fin\u2029"})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, emu, "/v1/chat/completions", body)
	})
}

func FuzzEmbeddingsRequest(f *testing.F) {
	addSeeds(f, "embeddings-*.request.json")
	f.Add([]byte(`{"model":"e","input":[[1,2],[3]],"dimensions":3}`))
	f.Add([]byte(`{"model":"e","input":[-1,2],"encoding_format":"base64"}`))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, emu, "/v1/embeddings", body)
	})
}

// fuzzDialect runs one request of a non-OpenAI dialect in process and
// checks the answer is well-formed: a known status and, by content type,
// valid JSON, an Anthropic or Gemini SSE stream, NDJSON lines or a Bedrock
// event stream.
func fuzzDialect(t *testing.T, emu *emulator.Emulator, req *http.Request) {
	rec := httptest.NewRecorder()
	emu.ServeHTTP(rec, req)
	switch rec.Code {
	case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
	}
	out := rec.Body.Bytes()
	switch ct := rec.Header().Get("Content-Type"); {
	case ct == "text/event-stream; charset=utf-8":
		anthropicEvents(t, out)
	case ct == "text/event-stream":
		geminiEvents(t, out)
	case ct == "application/x-ndjson":
		ndjsonLines(t, out)
	case ct == "application/vnd.amazon.eventstream":
		decodeEventStream(t, out)
	case ct == "text/plain":
	default:
		if !json.Valid(out) {
			t.Fatalf("invalid JSON answer (%s):\n%s", ct, out)
		}
	}
}

func dialectRequest(path string, body []byte, headers ...string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}

func FuzzAnthropicRequest(f *testing.F) {
	addSeeds(f, "anthropic/*.request.json")
	f.Add([]byte(`{"model":"m","max_tokens":3,"stream":true,"thinking":{"type":"adaptive"},"stop_sequences":["","o"],"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`))
	f.Add([]byte(`{"model":"m","max_tokens":9,"system":{"x":1},"messages":[{"role":"user","content":"\u2028"}],"tools":[{"name":"t\"","input_schema":{"properties":{"a":{"type":["null","STRING"]}}}}]}`))
	emu := emulator.New(emulator.Options{Answer: "mot \"quoté\" \\ fin\u2029"})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDialect(t, emu, dialectRequest("/v1/messages", body, "X-Api-Key", "k", "Anthropic-Version", "2023-06-01"))
	})
}

func FuzzGeminiRequest(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "gemini", "*.request.json"))
	for _, name := range names {
		b, _ := os.ReadFile(name)
		f.Add("gemini-2.5-flash", "generateContent", b)
		f.Add("gemini-2.0-flash", "streamGenerateContent?alt=sse", b)
	}
	f.Add("gemini-embedding-001", "batchEmbedContents", []byte(`{"requests":[{"content":{"parts":[{"text":"x"}]},"outputDimensionality":2}]}`))
	f.Add("imagen-4", "predict", []byte(`{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":1}}`))
	f.Add("m", "countTokens", []byte(`{"contents":[{"parts":[{"text":"BLOCKME"}]}]}`))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, model, method string, body []byte) {
		path := "/v1beta/models/" + url.PathEscape(model) + ":" + strings.ReplaceAll(url.PathEscape(method), "%3F", "?")
		if _, err := url.ParseRequestURI(path); err != nil {
			return
		}
		fuzzDialect(t, emu, dialectRequest(path, body, "X-Goog-Api-Key", "k"))
	})
}

func FuzzOllamaRequest(f *testing.F) {
	addSeeds(f, "ollama/*.request.json")
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"think":"high","options":{"num_predict":1,"stop":["ll"]}}`))
	f.Add([]byte(`{"model":"m","input":["a",""],"dimensions":2}`))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDialect(t, emu, dialectRequest("/api/chat", body))
		fuzzDialect(t, emu, dialectRequest("/api/embed", body))
	})
}

func FuzzConverseRequest(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":2,"stopSequences":["o"]}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[]}}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}],"toolChoice":{"tool":{"name":"f"}}}}`))
	f.Add([]byte(`{"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{"tools":[{}]}}`))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, action := range []string{"converse", "converse-stream"} {
			fuzzDialect(t, emu, dialectRequest("/model/m%3A0/"+action, body, "Authorization", "Bearer k"))
		}
	})
}

func FuzzIdeogramRequest(f *testing.F) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary("b0undary")
	w.WriteField("prompt", "a cat")
	w.WriteField("num_images", "3")
	w.WriteField("aspect_ratio", "1x3")
	w.WriteField("seed", "9")
	w.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("--b0undary\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nBLOCKME\r\n--b0undary--\r\n"))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzDialect(t, emu, dialectRequest("/v1/ideogram-v3/generate", body, "Api-Key", "k", "Content-Type", "multipart/form-data; boundary=b0undary"))
	})
}

func FuzzImagesRequest(f *testing.F) {
	addSeeds(f, "images-generations*.request.json")
	f.Add([]byte(`{"model":"doubao-seedream-4","prompt":"x","size":"4K","n":10}`))
	emu := emulator.New(emulator.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzServe(t, emu, "/v1/images/generations", body)
	})
}
