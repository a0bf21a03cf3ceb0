package emulator_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

var geminiAuth = []string{"Authorization", "", "X-Goog-Api-Key", testKey}

// gemini posts to /v1beta/models/{model}:{method}; method may carry a
// query string.
func gemini(t testing.TB, srv *httptest.Server, model, method string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, srv, http.MethodPost, "/v1beta/models/"+model+":"+method, body, append(slices.Clone(geminiAuth), headers...)...)
}

// geminiModels are the models of the fixtures; gemini-9.9-pro is not one.
var geminiModels = []string{"gemini-2.5-flash", "gemini-2.0-flash", "gemini-embedding-001", "imagen-4.0-generate-001"}

func TestGeminiGenerate(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: geminiModels})
	fcFixture := testdata(t, "gemini/generateContent-function-call.response.json")
	for _, req := range []string{"generateContent.request.json", "generateContent-sdk-camelcase.request.json"} {
		t.Run(req, func(t *testing.T) {
			resp, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", testdata(t, "gemini/"+req))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !bytes.HasPrefix(got, []byte("{\n  \"candidates\": [\n")) {
				t.Errorf("not 2-space pretty JSON:\n%s", got)
			}
			comparePaths(t, "function call", got, fcFixture)
			args, _ := json.Marshal(field(t, got, "candidates.0.content.parts.0.functionCall.args"))
			if string(args) != `{"city":"example","unit":"celsius"}` || str(t, got, "candidates.0.content.parts.0.functionCall.name") != "get_weather" {
				t.Errorf("functionCall: %s", got)
			}
			if field(t, got, "candidates.0.content.parts.0.functionCall.id") != nil {
				t.Errorf("a Gemini function call has an id")
			}
			if str(t, got, "candidates.0.finishReason") != "STOP" || str(t, got, "candidates.0.finishMessage") != "Model generated function call(s)." || str(t, got, "candidates.0.content.role") != "model" {
				t.Errorf("candidate: %s", got)
			}
			if str(t, got, "modelVersion") != "gemini-2.5-flash" || len(str(t, got, "responseId")) != 23 {
				t.Errorf("modelVersion/responseId: %s", got)
			}
			p, c, th := num(t, got, "usageMetadata.promptTokenCount"), num(t, got, "usageMetadata.candidatesTokenCount"), num(t, got, "usageMetadata.thoughtsTokenCount")
			if c != 5 || th != 5 || num(t, got, "usageMetadata.totalTokenCount") != p+c+th {
				t.Errorf("usage: %s", got)
			}
		})
	}
	t.Run("function response", func(t *testing.T) {
		_, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", testdata(t, "gemini/generateContent-function-response.request.json"), emulator.HeaderCached, "1536")
		comparePaths(t, "text", got, testdata(t, "gemini/generateContent-text.response.json"))
		if str(t, got, "candidates.0.content.parts.0.text") != "Hello from the AIGNE Hub" || str(t, got, "candidates.0.finishReason") != "STOP" {
			t.Errorf("answer: %s", got)
		}
		u := "usageMetadata."
		if num(t, got, u+"cachedContentTokenCount") != 1536 || num(t, got, u+"cacheTokensDetails.0.tokenCount") != 1536 ||
			num(t, got, u+"promptTokenCount") <= 1536 || num(t, got, u+"promptTokensDetails.0.tokenCount") != num(t, got, u+"promptTokenCount") {
			t.Errorf("cached usage: %s", got)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		body := editJSON(t, testdata(t, "gemini/streamGenerateContent.request.json"), func(m map[string]any) {
			m["generationConfig"].(map[string]any)["maxOutputTokens"] = 2
		})
		_, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", body)
		comparePaths(t, "max tokens", got, testdata(t, "gemini/generateContent-max-tokens.response.json"))
		if str(t, got, "candidates.0.finishReason") != "MAX_TOKENS" || str(t, got, "candidates.0.content.parts.0.text") != "Hello from" {
			t.Errorf("answer: %s", got)
		}
	})
	t.Run("prompt blocked", func(t *testing.T) {
		body := bytes.Replace(testdata(t, "gemini/streamGenerateContent.request.json"), []byte("Compare the weather"), []byte("BLOCKME: compare the weather"), 1)
		_, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", body)
		want := testdata(t, "gemini/generateContent-prompt-blocked.response.json")
		comparePaths(t, "prompt blocked", got, want)
		if str(t, got, "promptFeedback.blockReason") != "PROHIBITED_CONTENT" || num(t, got, "usageMetadata.totalTokenCount") != num(t, got, "usageMetadata.promptTokenCount") {
			t.Errorf("blocked: %s", got)
		}
		_, stream := gemini(t, srv, "gemini-2.5-flash", "streamGenerateContent?alt=sse", body)
		evs := geminiEvents(t, stream)
		if len(evs) != 1 {
			t.Fatalf("%d events", len(evs))
		}
		comparePaths(t, "blocked event", evs[0], want)
	})
	t.Run("thinking", func(t *testing.T) {
		plain := []byte(`{"contents":[{"parts":[{"text":"hi"}]}]}`)
		_, got := gemini(t, srv, "gemini-2.0-flash", "generateContent", plain)
		if num(t, got, "usageMetadata.thoughtsTokenCount") != -1 || num(t, got, "usageMetadata.cachedContentTokenCount") != -1 {
			t.Errorf("zero counts are sent: %s", got)
		}
		_, got = gemini(t, srv, "gemini-2.5-flash", "generateContent", []byte(`{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`))
		if num(t, got, "usageMetadata.thoughtsTokenCount") != -1 {
			t.Errorf("thinkingBudget 0 still thinks: %s", got)
		}
		_, got = gemini(t, srv, "gemini-2.5-flash", "generateContent", []byte(`{"contents":[{"parts":[{"text":"hi"}]}],"generation_config":{"thinking_config":{"include_thoughts":true}}}`))
		if field(t, got, "candidates.0.content.parts.0.thought") != true || str(t, got, "candidates.0.content.parts.1.text") == "" {
			t.Errorf("thought part: %s", got)
		}
	})
}

func TestGeminiToolConfig(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	tools := `"tools":[{"functionDeclarations":[{"name":"a"},{"name":"b","parametersJsonSchema":{"type":"object","properties":{"ok":{"type":"boolean"}}}}]}]`
	for _, tt := range []struct{ config, want string }{
		{``, "a"},
		{`,"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["b"]}}`, "b"},
		{`,"tool_config":{"function_calling_config":{"mode":"NONE"}}`, ""},
	} {
		body := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],` + tools + tt.config + `}`
		_, got := gemini(t, srv, "gemini-2.0-flash", "generateContent", []byte(body))
		if name := str(t, got, "candidates.0.content.parts.0.functionCall.name"); name != tt.want {
			t.Errorf("config %s: called %q: %s", tt.config, name, got)
		}
		if tt.want == "b" {
			if args, _ := json.Marshal(field(t, got, "candidates.0.content.parts.0.functionCall.args")); string(args) != `{"ok":true}` {
				t.Errorf("args %s", args)
			}
		}
	}
}

func TestGeminiStream(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: geminiModels})
	t.Run("text", func(t *testing.T) {
		resp, got := gemini(t, srv, "gemini-2.5-flash", "streamGenerateContent?alt=sse", testdata(t, "gemini/streamGenerateContent.request.json"), emulator.HeaderChunks, "3")
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type = %q", ct)
		}
		evs, want := geminiEvents(t, got), fixtureLines(t, "gemini/streamGenerateContent-text.response.sse")
		if len(evs) != len(want) {
			t.Fatalf("%d events, fixture %d", len(evs), len(want))
		}
		var text strings.Builder
		for i := range evs {
			comparePaths(t, "event "+strconv.Itoa(i), evs[i], want[i])
			text.WriteString(str(t, evs[i], "candidates.0.content.parts.0.text"))
			if n := num(t, evs[i], "usageMetadata.candidatesTokenCount"); n != i+1 {
				t.Errorf("event %d: candidatesTokenCount %d", i, n)
			}
			if !bytes.HasPrefix(evs[i], []byte(`{"candidates": [{"content": {"parts": [{"text": `)) {
				t.Errorf("event %d is not in the live style: %s", i, evs[i])
			}
		}
		if text.String() != "Hello from the" || str(t, evs[2], "candidates.0.finishReason") != "STOP" {
			t.Errorf("text %q, last %s", text.String(), evs[2])
		}
		if str(t, evs[0], "responseId") != str(t, evs[2], "responseId") {
			t.Errorf("responseId changes within a stream")
		}
	})
	t.Run("function call", func(t *testing.T) {
		_, got := gemini(t, srv, "gemini-2.5-flash", "streamGenerateContent?alt=sse", testdata(t, "gemini/streamGenerateContent-function-call.request.json"))
		evs, want := geminiEvents(t, got), fixtureLines(t, "gemini/streamGenerateContent-function-call.response.sse")
		if len(evs) != len(want) {
			t.Fatalf("%d events, fixture %d:\n%s", len(evs), len(want), got)
		}
		for i := range evs {
			comparePaths(t, "event "+strconv.Itoa(i), evs[i], want[i])
		}
		if field(t, evs[0], "candidates.0.content.parts.0.thought") != true || str(t, evs[1], "candidates.0.content.parts.0.functionCall.name") != "get_weather" {
			t.Errorf("events:\n%s\n%s", evs[0], evs[1])
		}
	})
	t.Run("fail after", func(t *testing.T) {
		resp, err := sendRaw(srv, http.MethodPost, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse", testdata(t, "gemini/streamGenerateContent.request.json"),
			append(slices.Clone(geminiAuth), emulator.HeaderChunks, "3", emulator.HeaderFailAfter, "1")...)
		if err != nil {
			t.Fatal(err)
		}
		evs := geminiEvents(t, readAll(t, resp))
		if len(evs) != 2 {
			t.Fatalf("%d events", len(evs))
		}
		comparePaths(t, "error event", evs[1], testdata(t, "gemini/error-503-unavailable.response.json"))
		if num(t, evs[1], "error.code") != 503 || str(t, evs[1], "error.status") != "UNAVAILABLE" {
			t.Errorf("error event %s", evs[1])
		}
	})
	t.Run("json array", func(t *testing.T) {
		for _, failAfter := range []string{"", "0", "2"} {
			resp, got := gemini(t, srv, "gemini-2.0-flash", "streamGenerateContent", testdata(t, "gemini/streamGenerateContent.request.json"),
				emulator.HeaderChunks, "3", emulator.HeaderFailAfter, failAfter)
			var arr []json.RawMessage
			if err := json.Unmarshal(got, &arr); err != nil || resp.Header.Get("Content-Type") != "application/json; charset=UTF-8" {
				t.Fatalf("fail-after %q: not a JSON array (%v): %s", failAfter, err, got)
			}
			want := map[string]int{"": 3, "0": 1, "2": 3}[failAfter]
			if len(arr) != want {
				t.Errorf("fail-after %q: %d elements, want %d", failAfter, len(arr), want)
			}
			if failAfter != "" && num(t, arr[len(arr)-1], "error.code") != 503 {
				t.Errorf("fail-after %q: last element %s", failAfter, arr[len(arr)-1])
			}
		}
	})
}

func TestGeminiErrorFixtures(t *testing.T) {
	_, srv := newServer(t, emulator.Options{APIKey: testKey, Models: geminiModels})
	req := testdata(t, "gemini/streamGenerateContent.request.json")
	schemaReq := editJSON(t, testdata(t, "gemini/generateContent.request.json"), func(m map[string]any) {
		f := m["tools"].([]any)[0].(map[string]any)["functionDeclarations"].([]any)[0].(map[string]any)
		f["parameters"].(map[string]any)["additionalProperties"] = false
	})
	for _, tt := range []struct {
		fixture string
		model   string
		body    []byte
		headers []string
	}{
		{"error-400-api-key-invalid", "gemini-2.5-flash", req, []string{"X-Goog-Api-Key", "AIzaSy-wrong"}},
		{"error-400-invalid-argument-schema", "gemini-2.5-flash", schemaReq, nil},
		{"error-404-model-not-found", "gemini-9.9-pro", req, nil},
		{"error-429-resource-exhausted", "gemini-2.5-flash", req, []string{emulator.HeaderStatus, "429"}},
		{"error-500-internal", "gemini-2.5-flash", req, []string{emulator.HeaderStatus, "500"}},
		{"error-503-unavailable", "gemini-2.5-flash", req, []string{emulator.HeaderStatus, "503"}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			resp, got := gemini(t, srv, tt.model, "generateContent", tt.body, tt.headers...)
			want := testdata(t, "gemini/"+tt.fixture+".response.json")
			if resp.StatusCode != num(t, want, "error.code") {
				t.Errorf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=UTF-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !jsonEqual(t, got, want) {
				t.Errorf("body differs from the fixture:\n%s", got)
			}
		})
	}
	resp, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", req, emulator.HeaderStatus, "429", emulator.HeaderRetryAfter, "7")
	if resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(got), `"retryDelay": "7s"`) || !strings.Contains(str(t, got, "error.message"), "Please retry in 7s.") {
		t.Errorf("Retry-After %q: %s", resp.Header.Get("Retry-After"), got)
	}
	_, quota := gemini(t, srv, "gemini-2.5-flash", "generateContent", req, emulator.HeaderStatus, "429", emulator.HeaderQuota, "1")
	if !strings.Contains(string(quota), "PerDay") {
		t.Errorf("quota 429: %s", quota)
	}
}

func TestGeminiForcedStatus(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for status, name := range map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 418: "FAILED_PRECONDITION", 502: "INTERNAL", 504: "DEADLINE_EXCEEDED"} {
		resp, got := gemini(t, srv, "gemini-2.5-flash", "embedContent", testdata(t, "gemini/embedContent.request.json"), emulator.HeaderStatus, strconv.Itoa(status))
		if resp.StatusCode != status || num(t, got, "error.code") != status || str(t, got, "error.status") != name || str(t, got, "error.message") == "" {
			t.Errorf("%d: status %d: %s", status, resp.StatusCode, got)
		}
		comparePaths(t, strconv.Itoa(status), got, testdata(t, "gemini/error-500-internal.response.json"))
	}
}

func TestGeminiAuth(t *testing.T) {
	body := []byte(`{"contents":[{"parts":[{"text":"hi"}]}]}`)
	for _, tt := range []struct {
		name    string
		opts    emulator.Options
		query   string
		headers []string
		status  int
	}{
		{"header", emulator.Options{APIKey: testKey}, "", nil, 200},
		{"query", emulator.Options{APIKey: testKey}, "?key=" + testKey, []string{"X-Goog-Api-Key", ""}, 200},
		{"any key", emulator.Options{}, "", []string{"X-Goog-Api-Key", "whatever"}, 200},
		{"no key", emulator.Options{}, "", []string{"X-Goog-Api-Key", ""}, 403},
		{"bearer is not a key", emulator.Options{}, "", []string{"X-Goog-Api-Key", "", "Authorization", "Bearer k"}, 403},
		{"wrong header key", emulator.Options{APIKey: testKey}, "", []string{"X-Goog-Api-Key", "wrong"}, 400},
		{"wrong query key", emulator.Options{APIKey: testKey}, "?key=wrong", []string{"X-Goog-Api-Key", ""}, 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			resp, got := gemini(t, srv, "gemini-2.0-flash", "generateContent"+tt.query, body, tt.headers...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			switch tt.status {
			case 400:
				if !jsonEqual(t, got, testdata(t, "gemini/error-400-api-key-invalid.response.json")) {
					t.Errorf("body %s", got)
				}
			case 403:
				if str(t, got, "error.status") != "PERMISSION_DENIED" {
					t.Errorf("body %s", got)
				}
			}
		})
	}
}

func TestGeminiEmbed(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: geminiModels})
	_, one := gemini(t, srv, "gemini-embedding-001", "embedContent", testdata(t, "gemini/embedContent.request.json"))
	comparePaths(t, "embedContent", one, testdata(t, "gemini/embedContent.response.json"))
	_, batch := gemini(t, srv, "gemini-embedding-001", "batchEmbedContents", testdata(t, "gemini/batchEmbedContents.request.json"))
	comparePaths(t, "batchEmbedContents", batch, testdata(t, "gemini/batchEmbedContents.response.json"))
	v1, _ := json.Marshal(field(t, one, "embedding.values"))
	b0, _ := json.Marshal(field(t, batch, "embeddings.0.values"))
	b1, _ := json.Marshal(field(t, batch, "embeddings.1.values"))
	if len(field(t, one, "embedding.values").([]any)) != 8 || string(v1) != string(b0) || string(b0) == string(b1) {
		t.Errorf("vectors: %s / %s / %s", v1, b0, b1)
	}
	for _, tt := range []struct {
		method, body string
		status       int
	}{
		{"embedContent", `{"content":{"parts":[{"text":"x"}]},"output_dimensionality":3}`, 200},
		{"embedContent", `{"taskType":"RETRIEVAL_QUERY"}`, 400},
		{"embedContent", `{"content":{"parts":[{"text":"x"}]},"outputDimensionality":0}`, 400},
		{"batchEmbedContents", `{"requests":[]}`, 400},
		{"batchEmbedContents", `{"requests":[{"model":"models/other","content":{"parts":[{"text":"x"}]}}]}`, 400},
	} {
		resp, got := gemini(t, srv, "gemini-embedding-001", tt.method, []byte(tt.body))
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d: %s", tt.method, tt.body, resp.StatusCode, got)
		}
		if tt.status == 200 && len(field(t, got, "embedding.values").([]any)) != 3 {
			t.Errorf("dimensions: %s", got)
		}
	}
}

func TestGeminiPredict(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: geminiModels})
	resp, got := gemini(t, srv, "imagen-4.0-generate-001", "predict", []byte(`{"instances":[{"prompt":"a lighthouse"}],"parameters":{"aspectRatio":"16:9"}}`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	var out struct {
		Predictions []struct {
			BytesBase64Encoded string `json:"bytesBase64Encoded"`
			MimeType           string `json:"mimeType"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(got, &out); err != nil || len(out.Predictions) != 4 {
		t.Fatalf("%v: %s", err, got)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Predictions[0].BytesBase64Encoded)
	if err != nil || out.Predictions[0].MimeType != "image/png" {
		t.Fatalf("prediction %+v: %v", out.Predictions[0], err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
	_, got = gemini(t, srv, "imagen-4.0-generate-001", "predict", []byte(`{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":2}}`))
	if n := len(field(t, got, "predictions").([]any)); n != 2 {
		t.Errorf("%d predictions for sampleCount 2", n)
	}
	for _, tt := range []struct {
		model, body string
		status      int
	}{
		{"imagen-4.0-generate-001", `{"instances":[{"prompt":"x"}],"parameters":{"sampleCount":5}}`, 400},
		{"imagen-4.0-generate-001", `{"instances":[{"prompt":"x"}],"parameters":{"aspectRatio":"2:1"}}`, 400},
		{"imagen-4.0-generate-001", `{"instances":[]}`, 400},
		{"gemini-2.5-flash", `{"instances":[{"prompt":"x"}]}`, 404},
	} {
		resp, got := gemini(t, srv, tt.model, "predict", []byte(tt.body))
		if resp.StatusCode != tt.status || num(t, got, "error.code") != tt.status {
			t.Errorf("%s %s: status %d: %s", tt.model, tt.body, resp.StatusCode, got)
		}
	}
}

func TestGeminiCountTokens(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	_, got := gemini(t, srv, "gemini-2.5-flash", "countTokens", []byte(`{"contents":[{"parts":[{"text":"`+strings.Repeat("x", 40)+`"}]}]}`))
	if num(t, got, "totalTokens") != 10 {
		t.Errorf("countTokens: %s", got)
	}
	_, got = gemini(t, srv, "gemini-2.5-flash", "countTokens", []byte(`{"generateContentRequest":{"contents":[{"parts":[{"text":"`+strings.Repeat("x", 40)+`"}]}]}}`), emulator.HeaderCached, "5")
	if num(t, got, "totalTokens") != 15 || num(t, got, "cachedContentTokenCount") != 5 {
		t.Errorf("countTokens: %s", got)
	}
}

func TestGeminiRouting(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range []struct{ method, path string }{
		{http.MethodPost, "/v1beta/models/gemini-2.5-flash:unknownMethod"},
		{http.MethodGet, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{http.MethodPost, "/v1beta/models/gemini-2.5-flash"},
		{http.MethodPost, "/v1beta/models/a/b:generateContent"},
		{http.MethodPost, "/v1beta/other"},
	} {
		resp, got := send(t, srv, tt.method, tt.path, []byte(`{}`), geminiAuth...)
		if resp.StatusCode != 404 || str(t, got, "error.status") != "NOT_FOUND" {
			t.Errorf("%s %s: status %d: %s", tt.method, tt.path, resp.StatusCode, got)
		}
	}
	resp, got := gemini(t, srv, "gemini-2.5-flash", "generateContent", []byte(`{"contents":[]}`))
	if resp.StatusCode != 400 || str(t, got, "error.status") != "INVALID_ARGUMENT" {
		t.Errorf("empty contents: %d %s", resp.StatusCode, got)
	}
	resp, got = gemini(t, srv, "gemini-2.5-flash", "generateContent", []byte(`{"contents":[{"parts":"x"}]}`))
	if resp.StatusCode != 400 || !strings.HasPrefix(str(t, got, "error.message"), "Invalid JSON payload received.") {
		t.Errorf("bad parts: %d %s", resp.StatusCode, got)
	}
}
