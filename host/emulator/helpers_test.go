package emulator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

// testKey is the bearer token the helpers send.
const testKey = "sk-test-key"

// newServer serves a new emulator over loopback for the duration of t.
func newServer(t testing.TB, opts emulator.Options) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	return emu, srv
}

// testdata reads a file of testdata/, the copies of the shared fixtures.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// send makes a request with the test key and the given header pairs; a
// pair ("Authorization", "") drops the key. It returns the response with
// its body read.
func send(t testing.TB, srv *httptest.Server, method, path string, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	resp, err := sendRaw(srv, method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// sendRaw makes a request like send but leaves reading the body, and
// handling errors, to the caller.
func sendRaw(srv *httptest.Server, method, path string, body []byte, headers ...string) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return srv.Client().Do(req)
}

// chat posts a chat completion request.
func chat(t testing.TB, srv *httptest.Server, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, srv, http.MethodPost, "/v1/chat/completions", []byte(body), headers...)
}

// shape renders the structure of a JSON document: object keys in their
// order, value kinds instead of values, and each array as the distinct
// shapes of its elements. Two bodies with the same shape differ only in
// values.
func shape(t testing.TB, data []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	s, err := shapeValue(dec)
	if err != nil {
		t.Fatalf("shape of %s: %v", data, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("shape of %s: trailing data", data)
	}
	return s
}

func shapeValue(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch v := tok.(type) {
	case json.Delim:
		var parts []string
		switch v {
		case '{':
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return "", err
				}
				vs, err := shapeValue(dec)
				if err != nil {
					return "", err
				}
				parts = append(parts, k.(string)+":"+vs)
			}
			_, err = dec.Token()
			return "{" + strings.Join(parts, ",") + "}", err
		case '[':
			for dec.More() {
				vs, err := shapeValue(dec)
				if err != nil {
					return "", err
				}
				if !slices.Contains(parts, vs) {
					parts = append(parts, vs)
				}
			}
			_, err = dec.Token()
			return "[" + strings.Join(parts, "|") + "]", err
		}
	case string:
		return "string", nil
	case json.Number:
		return "number", nil
	case bool:
		return "bool", nil
	case nil:
		return "null", nil
	}
	return "", errors.New("unexpected token")
}

// sseEvents checks the SSE framing of a complete OpenAI stream body (only
// "data: " lines, events separated by a blank line, "[DONE]" last) and
// returns the data payloads without the [DONE].
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	events := sseData(t, body)
	if len(events) == 0 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("stream does not end with data: [DONE]:\n%s", body)
	}
	events = events[:len(events)-1]
	for _, ev := range events {
		if !json.Valid([]byte(ev)) {
			t.Fatalf("event is not JSON: %s", ev)
		}
	}
	return events
}

// sseData splits a (possibly truncated) stream body into its complete
// events' data payloads, checking the framing.
func sseData(t testing.TB, body []byte) []string {
	t.Helper()
	s := string(body)
	if s == "" {
		return nil
	}
	complete := strings.HasSuffix(s, "\n\n")
	parts := strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n")
	if !complete {
		parts = parts[:len(parts)-1] // a cut may leave half an event
	}
	var out []string
	for _, p := range parts {
		data, ok := strings.CutPrefix(p, "data: ")
		if !ok || strings.Contains(data, "\n") {
			t.Fatalf("malformed SSE event %q", p)
		}
		out = append(out, data)
	}
	return out
}

// shapeSet returns the distinct shapes of events, sorted.
func shapeSet(t testing.TB, events []string) []string {
	t.Helper()
	var set []string
	for _, ev := range events {
		s := shape(t, []byte(ev))
		if !slices.Contains(set, s) {
			set = append(set, s)
		}
	}
	slices.Sort(set)
	return set
}

// decodeJSON unmarshals data into a fresh T.
func decodeJSON[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

// chatResponse is the part of a chat.completion the tests read.
type chatResponse struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index   int `json:"index"`
		Message struct {
			Role      string  `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// chunk is the part of a chat.completion.chunk the tests read.
type chunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Model   string `json:"model"`
	Choices []struct {
		Delta struct {
			Role      *string `json:"role"`
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int    `json:"index"`
				ID       string `json:"id"`
				Type     string `json:"type"`
				Function struct {
					Name      string  `json:"name"`
					Arguments *string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// apiErrorBody is the OpenAI error shape.
type apiErrorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// userRequest is a minimal chat request body.
func userRequest(model, text string, stream bool) string {
	b, _ := json.Marshal(map[string]any{
		"model":    model,
		"messages": []map[string]any{{"role": "user", "content": text}},
		"stream":   stream,
	})
	return string(b)
}
