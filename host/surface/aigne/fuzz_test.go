package aigne

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aignehub/hub/host/apierr"
)

// seedRequests adds every request fixture as a fuzz seed.
func seedRequests(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "requests", "*.json"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"input":{"messages":[{"role":"agent","toolCalls":[{"id":"c","function":{"name":"f","arguments":[1]}}]}],"modelOptions":{"model":"m"}}}`))
	f.Add([]byte(`{"model":"m","input":{"messages":[{"role":"user","content":[{"type":"file","data":"x","mimeType":"text/plain"}]}]}}`))
	f.Add([]byte(`[{"model":1}]`))
}

// checkError: a refusal is a client error with a message.
func checkError(t *testing.T, aerr *apierr.Error) {
	if aerr.Status != 400 && aerr.Status != 404 || aerr.Message == "" {
		t.Fatalf("bad error %+v", aerr)
	}
}

// checkCanonical: what is accepted is one JSON object naming the model.
func checkCanonical(t *testing.T, body []byte, model string) map[string]any {
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("invalid canonical JSON %v: %s", err, body)
	}
	if m, _ := v["model"].(string); m != model || m == "" {
		t.Fatalf("model %q vs %v", model, v["model"])
	}
	return v
}

func FuzzChatToCanonical(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		got, aerr := ChatToCanonical(body)
		if aerr != nil {
			checkError(t, aerr)
			return
		}
		v := checkCanonical(t, got.Body, got.Model)
		msgs, _ := v["messages"].([]any)
		if len(msgs) == 0 {
			t.Fatalf("no messages: %s", got.Body)
		}
		for _, m := range msgs {
			role, _ := m.(map[string]any)["role"].(string)
			if role != "system" && role != "user" && role != "assistant" && role != "tool" {
				t.Fatalf("role %q", role)
			}
		}
		if got.Stream != (v["stream"] == true) {
			t.Fatalf("stream %v vs %s", got.Stream, got.Body)
		}
	})
}

func FuzzLegacyToCanonical(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, events := range []bool{false, true} {
			got, aerr := LegacyToCanonical(body, events)
			if aerr != nil {
				checkError(t, aerr)
				continue
			}
			v := checkCanonical(t, got.Body, got.Model)
			if (got.Mode != LegacyJSON) != (v["stream"] == true) {
				t.Fatalf("mode %v vs %s", got.Mode, got.Body)
			}
		}
	})
}

func FuzzMediaToCanonical(f *testing.F) {
	seedRequests(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if img, aerr := ImageToCanonical(body); aerr != nil {
			checkError(t, aerr)
		} else {
			checkCanonical(t, img.Body, img.Model)
		}
		if img, aerr := ImageGenerationsToCanonical(body); aerr != nil {
			checkError(t, aerr)
		} else {
			checkCanonical(t, img.Body, img.Model)
		}
		if out, model, aerr := EmbeddingsToCanonical(body); aerr != nil {
			checkError(t, aerr)
		} else {
			checkCanonical(t, out, model)
		}
	})
}

// Whatever chunks the engine hands over, the stream the client reads is
// well formed: every event parses, and the encoders never panic.
func FuzzStreamEncoder(f *testing.F) {
	for _, name := range []string{"chat-completions.stream-text.response.sse", "chat-completions.stream-tools.response.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fixtures", "openai", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range canonicalChunks(f, b) {
			f.Add(c, false)
		}
	}
	f.Add([]byte(`{"model":"m\n","choices":[{"index":0,"delta":{"content":"a\nb","tool_calls":[{"index":-1}]}}],"usage":{"prompt_tokens":"x"}}`), true)
	f.Fuzz(func(t *testing.T, chunk []byte, jsonMode bool) {
		stream := encodeStream(NewStreamEncoder(jsonMode), [][]byte{chunk, chunk})
		if _, err := clientRead(t, stream); err != nil {
			t.Fatalf("%v in %q", err, stream)
		}
		legacy := encodeStream(NewLegacyStreamEncoder(LegacyEvents), [][]byte{chunk, chunk})
		for _, ev := range parseSSE(string(legacy)) {
			if !json.Valid([]byte(ev.data)) {
				t.Fatalf("invalid event %q", ev.data)
			}
		}
		if out, err := ChatOutput(chunk, OutputOptions{JSON: jsonMode}); err == nil && !json.Valid(out) {
			t.Fatalf("invalid output %s", out)
		}
		if out, err := LegacyOutput(chunk); err == nil && !json.Valid(out) {
			t.Fatalf("invalid output %s", out)
		}
	})
}
