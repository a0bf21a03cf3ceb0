package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
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
