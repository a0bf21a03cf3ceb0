package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

func ollama(t testing.TB, srv *httptest.Server, path string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	return send(t, srv, method, path, body, append([]string{"Authorization", ""}, headers...)...)
}

// ollamaModels are the fixtures' models; llama9 is not one.
var ollamaModels = []string{"llama3.2:latest", "qwen3-vl:8b", "qwen3:8b", "all-minilm:latest", "gemma:2b"}

func TestOllamaChat(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: ollamaModels})
	t.Run("non-stream", func(t *testing.T) {
		resp, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat.request.json"))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), got)
		}
		if bytes.HasSuffix(got, []byte("\n")) || bytes.Contains(got, []byte(": ")) {
			t.Errorf("not compact JSON without a trailing newline: %q", got)
		}
		comparePaths(t, "chat", got, testdata(t, "ollama/chat.response.json"))
		if str(t, got, "message.content") != "Hello from the AIGNE Hub" || str(t, got, "done_reason") != "stop" || num(t, got, "eval_count") != 5 || str(t, got, "model") != "qwen3-vl:8b" {
			t.Errorf("answer %s", got)
		}
		if _, err := time.Parse(time.RFC3339Nano, str(t, got, "created_at")); err != nil {
			t.Errorf("created_at: %v", err)
		}
	})
	t.Run("length", func(t *testing.T) {
		body := editJSON(t, testdata(t, "ollama/chat.request.json"), func(m map[string]any) { m["options"].(map[string]any)["num_predict"] = 2 })
		_, got := ollama(t, srv, "/api/chat", body)
		comparePaths(t, "chat-length", got, testdata(t, "ollama/chat-length.response.json"))
		if str(t, got, "done_reason") != "length" || str(t, got, "message.content") != "Hello from" || num(t, got, "eval_count") != 2 {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("tools", func(t *testing.T) {
		_, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-tools.request.json"))
		comparePaths(t, "chat-tools", got, testdata(t, "ollama/chat-tools.response.json"))
		args, _ := json.Marshal(field(t, got, "message.tool_calls.0.function.arguments"))
		id := str(t, got, "message.tool_calls.0.id")
		if string(args) != `{"city":"example","unit":"celsius"}` || len(id) != 13 || !strings.HasPrefix(id, "call_") || str(t, got, "done_reason") != "stop" || str(t, got, "message.content") != "" {
			t.Errorf("answer %s", got)
		}
	})
	t.Run("stream", func(t *testing.T) {
		resp, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-stream.request.json"), emulator.HeaderChunks, "4")
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type = %q", ct)
		}
		lines, want := ndjsonLines(t, got), fixtureLines(t, "ollama/chat-stream.response.ndjson")
		if len(lines) != len(want) {
			t.Fatalf("%d lines, fixture %d", len(lines), len(want))
		}
		var text strings.Builder
		for i := range lines {
			comparePaths(t, "line "+strconv.Itoa(i), lines[i], want[i])
			text.WriteString(str(t, lines[i], "message.content"))
		}
		if text.String() != "Hello from the AIGNE" || field(t, lines[4], "done") != true || num(t, lines[4], "eval_count") != 4 {
			t.Errorf("text %q, last %s", text.String(), lines[4])
		}
	})
	t.Run("stream thinking", func(t *testing.T) {
		_, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-stream-thinking.request.json"), emulator.HeaderChunks, "2")
		lines, want := ndjsonLines(t, got), fixtureLines(t, "ollama/chat-stream-thinking.response.ndjson")
		if len(lines) != len(want) {
			t.Fatalf("%d lines, fixture %d:\n%s", len(lines), len(want), got)
		}
		for i := range lines {
			comparePaths(t, "line "+strconv.Itoa(i), lines[i], want[i])
		}
		if str(t, lines[0], "message.thinking") != "The" || str(t, lines[2], "message.content") != "Hello" {
			t.Errorf("lines:\n%s", got)
		}
	})
	t.Run("stream tools", func(t *testing.T) {
		body := editJSON(t, testdata(t, "ollama/chat-tools.request.json"), func(m map[string]any) { delete(m, "stream") })
		_, got := ollama(t, srv, "/api/chat", body)
		lines, want := ndjsonLines(t, got), fixtureLines(t, "ollama/chat-stream-tools.response.ndjson")
		if len(lines) != 2 {
			t.Fatalf("%d lines:\n%s", len(lines), got)
		}
		comparePaths(t, "tool line", lines[0], want[0])
		comparePaths(t, "final line", lines[1], want[2])
	})
	t.Run("tool result", func(t *testing.T) {
		_, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-tool-result.request.json"))
		lines := ndjsonLines(t, got)
		comparePaths(t, "text line", lines[0], fixtureLines(t, "ollama/chat-stream.response.ndjson")[0])
		if len(lines) != 6 {
			t.Errorf("%d lines after a tool result", len(lines))
		}
	})
	t.Run("stream error", func(t *testing.T) {
		resp, err := sendRaw(srv, http.MethodPost, "/api/chat", testdata(t, "ollama/chat-stream.request.json"), emulator.HeaderFailAfter, "2")
		if err != nil {
			t.Fatal(err)
		}
		lines, want := ndjsonLines(t, readAll(t, resp)), fixtureLines(t, "ollama/chat-stream-error.response.ndjson")
		if len(lines) != len(want) {
			t.Fatalf("%d lines, fixture %d", len(lines), len(want))
		}
		if !jsonEqual(t, lines[2], want[2]) {
			t.Errorf("error line %s, fixture %s", lines[2], want[2])
		}
	})
	t.Run("load", func(t *testing.T) {
		_, got := ollama(t, srv, "/api/chat", []byte(`{"model":"llama3.2","messages":[],"stream":false}`))
		if str(t, got, "done_reason") != "load" || field(t, got, "done") != true {
			t.Errorf("load: %s", got)
		}
	})
	t.Run("tag", func(t *testing.T) {
		// llama3.2 is llama3.2:latest.
		resp, got := ollama(t, srv, "/api/chat", []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}`))
		if resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, got)
		}
	})
}

func TestOllamaErrorFixtures(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: ollamaModels})
	for _, tt := range []struct {
		fixture string
		status  int
		body    []byte
	}{
		{"error-404-model-not-found", 404, editJSON(t, testdata(t, "ollama/chat-stream.request.json"), func(m map[string]any) { m["model"] = "llama9" })},
		{"error-400-model-required", 400, []byte{}},
		{"error-400-no-tools", 400, editJSON(t, testdata(t, "ollama/chat-tools.request.json"), func(m map[string]any) { m["model"] = "gemma:2b" })},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			resp, got := ollama(t, srv, "/api/chat", tt.body)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Errorf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !bytes.Equal(got, testdata(t, "ollama/"+tt.fixture+".response.json")) {
				t.Errorf("body %s", got)
			}
		})
	}
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"model":`, 400},
		{`{"model":"llama3.2","messages":[{"role":"user","content":["x"]}]}`, 400},
		{`{"model":"llama3.2","think":"very","messages":[{"role":"user","content":"x"}]}`, 400},
	} {
		resp, got := ollama(t, srv, "/api/chat", []byte(tt.body))
		if resp.StatusCode != tt.status || str(t, got, "error") == "" {
			t.Errorf("%s: status %d: %s", tt.body, resp.StatusCode, got)
		}
	}
	resp, got := ollama(t, srv, "/api/generate-nothing", []byte(`{}`))
	if resp.StatusCode != 404 || string(got) != "404 page not found" {
		t.Errorf("unknown path: %d %q", resp.StatusCode, got)
	}
}

func TestOllamaForcedStatus(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, status := range []int{400, 401, 404, 429, 500, 502, 503} {
		resp, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-stream.request.json"), emulator.HeaderStatus, strconv.Itoa(status), emulator.HeaderRetryAfter, "3")
		if resp.StatusCode != status || resp.Header.Get("Retry-After") != "3" || !slices.Equal(sortedKeys(t, got), []string{"error"}) || str(t, got, "error") == "" {
			t.Errorf("%d: status %d, Retry-After %q: %s", status, resp.StatusCode, resp.Header.Get("Retry-After"), got)
		}
	}
	_, got := ollama(t, srv, "/api/chat", testdata(t, "ollama/chat-stream.request.json"), emulator.HeaderStatus, "404")
	if str(t, got, "error") != "model 'llama3.2' not found" {
		t.Errorf("404: %s", got)
	}
}

func TestOllamaTagsEmbed(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	resp, got := ollama(t, srv, "/api/tags", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	comparePaths(t, "tags", got, testdata(t, "ollama/tags.response.json"))
	if n := len(field(t, got, "models").([]any)); n != 4 || str(t, got, "models.0.name") != "llama3.2:latest" || str(t, got, "models.0.details.family") != "llama" {
		t.Errorf("%d models: %s", n, got)
	}
	_, got = ollama(t, srv, "/api/embed", testdata(t, "ollama/embed.request.json"))
	comparePaths(t, "embed", got, testdata(t, "ollama/embed.response.json"))
	if n := len(field(t, got, "embeddings").([]any)); n != 2 || len(field(t, got, "embeddings.0").([]any)) != 8 {
		t.Errorf("embeddings: %s", got)
	}
	_, got = ollama(t, srv, "/api/embed", []byte(`{"model":"all-minilm","input":"one","dimensions":3}`))
	if len(field(t, got, "embeddings.0").([]any)) != 3 {
		t.Errorf("embed one: %s", got)
	}
	_, got = ollama(t, srv, "/api/version", nil)
	if str(t, got, "version") == "" {
		t.Errorf("version: %s", got)
	}
	for _, body := range []string{`{"input":"x"}`, `{"model":"m","input":5}`, `{"model":"unknown-m","input":"x"}`} {
		resp, got := ollama(t, srv, "/api/embed", []byte(body))
		if resp.StatusCode < 400 || str(t, got, "error") == "" {
			t.Errorf("%s: %d %s", body, resp.StatusCode, got)
		}
	}
}

func TestOllamaNeedsNoAuth(t *testing.T) {
	_, srv := newServer(t, emulator.Options{APIKey: "sk-only"})
	for _, auth := range []string{"", "Bearer anything"} {
		resp, got := ollama(t, srv, "/api/chat", []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false}`), "Authorization", auth)
		if resp.StatusCode != 200 {
			t.Errorf("Authorization %q: status %d: %s", auth, resp.StatusCode, got)
		}
	}
}
