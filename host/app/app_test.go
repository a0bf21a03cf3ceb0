package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// The end-to-end tests run a real hub on a loopback listener, with the real
// openai.wasm built from plugins/openai, in front of the provider emulator.

var (
	wasmMu  sync.Mutex
	wasmDir string
	wasmErr error
	wasmHad = map[string]bool{}
)

// builtin builds the named plugin from source (plugins/NAME, or the
// runtime's hostile test guest) once per test binary.
func builtin(name string) ([]byte, error) {
	wasmMu.Lock()
	defer wasmMu.Unlock()
	if wasmDir == "" && wasmErr == nil {
		wasmDir, wasmErr = os.MkdirTemp("", "hub-e2e-wasm")
	}
	if wasmErr != nil {
		return nil, wasmErr
	}
	out := filepath.Join(wasmDir, name+".wasm")
	if !wasmHad[name] {
		pkg := "./plugins/" + name
		if name == "hostile" {
			pkg = "./runtime/testdata/behaviour"
		}
		cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %v\n%s", pkg, err, msg)
		}
		wasmHad[name] = true
	}
	return os.ReadFile(out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if wasmDir != "" {
		os.RemoveAll(wasmDir)
	}
	os.Exit(code)
}

// testHub is a running hub and its emulator.
type testHub struct {
	t       *testing.T
	hub     *app.Hub
	url     string
	emu     *emulator.Emulator
	key     string // a user key
	keyID   int64
	dataDir string
}

// scenario providers: each points at the same emulator with its switches
// set through the plugin's "headers" config, so one hub covers every case.
const hubTOML = `
listen = "127.0.0.1:0"
data_dir = %q

[limits]
upstream_timeout = "2s"
max_request_body = "64KiB"
plugin_deadline = "300ms"
plugin_memory = "32MiB"
plugin_max_output = "1MiB"
shutdown_grace = "5s"

[plugins.openai]
source = "builtin:openai"

[plugins.e429]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "429", "X-Emulator-Retry-After" = "3" } }

[plugins.e500]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "500" } }

[plugins.eslow]
source = "builtin:openai"
config = { headers = { "X-Emulator-Chunks" = "40", "X-Emulator-Pace" = "25ms" } }

[plugins.ecut]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "3", "X-Emulator-Chunks" = "10" } }

[plugins.hostile]
source = %[3]q
trusted = false

[plugins.ehang]
source = "builtin:openai"
config = { headers = { "X-Emulator-Hang" = "1" } }

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini", "gpt-4o"]

[[providers]]
name = "e429"
plugin = "e429"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "e500"
plugin = "e500"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "eslow"
plugin = "eslow"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ecut"
plugin = "ecut"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "hostile"
plugin = "hostile"
base_url = "%[2]s/v1"
models = ["loop", "panic", "bomb", "badresult"]

[[providers]]
name = "ehang"
plugin = "ehang"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

func startHub(t *testing.T) *testHub {
	t.Helper()
	if _, err := builtin("hostile"); err != nil { // sets wasmDir
		t.Fatal(err)
	}
	return startHubWith(t, emulator.Options{}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(hubTOML, dataDir, emuURL, filepath.Join(wasmDir, "hostile.wasm"))
	})
}

// startHubWith runs a hub on loopback in front of a recording emulator made
// with eo; toml returns the hub's config for its data dir and the
// emulator's URL. The hub has a user key.
func startHubWith(t *testing.T, eo emulator.Options, toml func(dataDir, emuURL string) string) *testHub {
	t.Helper()
	if _, err := builtin("openai"); err != nil { // sets wasmDir
		t.Fatal(err)
	}
	eo.Record = true
	emu := emulator.New(eo)
	es := httptest.NewServer(emu)
	t.Cleanup(es.Close)
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(toml(filepath.Join(dir, "data"), es.URL)), filepath.Join(dir, "hub.toml"))
	if err != nil {
		t.Fatal(err)
	}
	hub, addr := serveHub(t, app.Options{Config: cfg})
	h := &testHub{t: t, hub: hub, url: "http://" + addr, emu: emu, dataDir: cfg.DataDir}
	h.key, h.keyID = h.newKey("user")
	return h
}

func (h *testHub) newKey(role string) (string, int64) {
	h.t.Helper()
	ctx := context.Background()
	acct, err := h.hub.Store().EnsureAccount(ctx, "default")
	if err != nil {
		h.t.Fatal(err)
	}
	key, hash, prefix := auth.Generate()
	k, err := h.hub.Store().CreateAPIKey(ctx, store.APIKey{AccountID: acct.ID, Hash: hash, Prefix: prefix, Name: "test-" + role, Role: role})
	if err != nil {
		h.t.Fatal(err)
	}
	return key, k.ID
}

func (h *testHub) post(key, path, body string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// call returns the recorded call for a request id, flushing the recorder.
func (h *testHub) call(reqID string) store.Call {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := h.hub.Recorder().Flush(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		calls, err := h.hub.Store().Calls(context.Background(), store.CallFilter{RequestID: reqID})
		if err != nil {
			h.t.Fatal(err)
		}
		if len(calls) == 1 {
			return calls[0]
		}
		if len(calls) > 1 {
			h.t.Fatalf("%d records for one request", len(calls))
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("call %s was not recorded", reqID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func decodeError(t *testing.T, resp *http.Response) openAIError {
	t.Helper()
	defer resp.Body.Close()
	var e openAIError
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("not an OpenAI error body (%v): %s", err, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type = %q", ct)
	}
	return e
}

// sse reads an SSE body into its data payloads.
func sse(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	sawBlank := true
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			sawBlank = true
		case strings.HasPrefix(line, "data: "):
			if !sawBlank {
				t.Fatalf("two data lines in one event: %q", line)
			}
			sawBlank = false
			out = append(out, strings.TrimPrefix(line, "data: "))
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	return out
}

const chatBody = `{"model":%q,"messages":[{"role":"user","content":"Say hello in French."}]%s}`

func TestChatNonStream(t *testing.T) {
	h := startHub(t)
	for _, model := range []string{"gpt-4o-mini", "openai/gpt-4o-mini"} {
		t.Run(model, func(t *testing.T) {
			resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, model, ""))
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d: %s", resp.StatusCode, b)
			}
			reqID := resp.Header.Get("X-Request-Id")
			if !strings.HasPrefix(reqID, "req_") {
				t.Fatalf("X-Request-Id = %q", reqID)
			}
			var body struct {
				Object  string `json:"object"`
				Choices []struct {
					Message struct {
						Role, Content string
					}
					FinishReason string `json:"finish_reason"`
				}
				Usage struct {
					PromptTokens     int64 `json:"prompt_tokens"`
					CompletionTokens int64 `json:"completion_tokens"`
				}
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Object != "chat.completion" || len(body.Choices) != 1 || body.Choices[0].Message.Content == "" || body.Choices[0].FinishReason != "stop" {
				t.Fatalf("body = %+v", body)
			}
			c := h.call(reqID)
			if c.Status != store.CallOK || c.HTTPStatus != 200 || c.CredentialID == 0 || c.Provider != "openai" || c.UpstreamModel != "gpt-4o-mini" || c.Model != model || c.KeyID != h.keyID || c.Stream {
				t.Fatalf("record = %+v", c)
			}
			if c.PromptTokens != body.Usage.PromptTokens || c.CompletionTokens != body.Usage.CompletionTokens || c.PromptTokens == 0 || c.UsageEstimated {
				t.Fatalf("recorded usage %d/%d, response usage %+v", c.PromptTokens, c.CompletionTokens, body.Usage)
			}
			if c.TTFB <= 0 || c.Duration < c.TTFB {
				t.Fatalf("timings ttfb=%v duration=%v", c.TTFB, c.Duration)
			}
		})
	}
	// The host injected the provider credential; the plugin never saw it.
	reqs := h.emu.Requests()
	if len(reqs) == 0 || reqs[len(reqs)-1].Header.Get("Authorization") != "Bearer sk-upstream-secret-1234" {
		t.Fatalf("upstream did not get the provider credential")
	}
}

func TestChatStream(t *testing.T) {
	h := startHub(t)
	for _, tt := range []struct {
		name      string
		extra     string
		wantUsage bool
	}{
		{"without usage", `,"stream":true`, false},
		{"with usage", `,"stream":true,"stream_options":{"include_usage":true}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "gpt-4o-mini", tt.extra))
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			events := sse(t, resp.Body)
			if len(events) < 3 || events[len(events)-1] != "[DONE]" {
				t.Fatalf("stream must end with [DONE]: %v", events)
			}
			var text strings.Builder
			var usage *struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			}
			for _, ev := range events[:len(events)-1] {
				var chunk struct {
					Object  string `json:"object"`
					Choices []struct {
						Delta struct{ Content string }
					}
					Usage *struct {
						PromptTokens     int64 `json:"prompt_tokens"`
						CompletionTokens int64 `json:"completion_tokens"`
					}
				}
				if err := json.Unmarshal([]byte(ev), &chunk); err != nil || chunk.Object != "chat.completion.chunk" {
					t.Fatalf("bad chunk %q: %v", ev, err)
				}
				if strings.Contains(ev, `"usage"`) && !tt.wantUsage {
					t.Fatalf("usage sent to a client that did not ask: %s", ev)
				}
				if chunk.Usage != nil {
					usage = chunk.Usage
				}
				for _, c := range chunk.Choices {
					text.WriteString(c.Delta.Content)
				}
			}
			if text.Len() == 0 {
				t.Fatal("no content streamed")
			}
			if tt.wantUsage && usage == nil {
				t.Fatal("usage chunk missing")
			}
			c := h.call(resp.Header.Get("X-Request-Id"))
			if c.Status != store.CallOK || !c.Stream || c.PromptTokens == 0 || c.CompletionTokens == 0 || c.UsageEstimated {
				t.Fatalf("record = %+v", c)
			}
			if usage != nil && (usage.PromptTokens != c.PromptTokens || usage.CompletionTokens != c.CompletionTokens) {
				t.Fatalf("recorded %d/%d, streamed usage %+v", c.PromptTokens, c.CompletionTokens, usage)
			}
		})
	}
}

const toolsBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Weather in Paris?"}],%s"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]}`

func TestToolCalls(t *testing.T) {
	h := startHub(t)
	t.Run("non-stream", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(toolsBody, ""))
		defer resp.Body.Close()
		var body struct {
			Choices []struct {
				Message struct {
					ToolCalls []struct {
						ID       string
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				}
				FinishReason string `json:"finish_reason"`
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		tc := body.Choices[0].Message.ToolCalls
		if body.Choices[0].FinishReason != "tool_calls" || len(tc) == 0 || tc[0].Function.Name != "get_weather" || !json.Valid([]byte(tc[0].Function.Arguments)) {
			t.Fatalf("tool calls = %+v", body)
		}
	})
	t.Run("stream", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(toolsBody, `"stream":true,`))
		defer resp.Body.Close()
		events := sse(t, resp.Body)
		args := map[int]string{}
		name := ""
		for _, ev := range events[:len(events)-1] {
			var chunk struct {
				Choices []struct {
					Delta struct {
						ToolCalls []struct {
							Index    int
							Function struct{ Name, Arguments string }
						} `json:"tool_calls"`
					}
				}
			}
			json.Unmarshal([]byte(ev), &chunk)
			for _, c := range chunk.Choices {
				for _, tc := range c.Delta.ToolCalls {
					args[tc.Index] += tc.Function.Arguments
					if tc.Function.Name != "" {
						name = tc.Function.Name
					}
				}
			}
		}
		if name != "get_weather" || !json.Valid([]byte(args[0])) || events[len(events)-1] != "[DONE]" {
			t.Fatalf("name %q args %q last %q", name, args[0], events[len(events)-1])
		}
	})
}

func TestErrors(t *testing.T) {
	h := startHub(t)
	revoked, revokedID := h.newKey("user")
	if err := h.hub.Store().RevokeAPIKey(context.Background(), revokedID); err != nil {
		t.Fatal(err)
	}
	big := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"` + strings.Repeat("x", 70<<10) + `"}]}`
	for _, tt := range []struct {
		name, key, body string
		status          int
		typ, code       string
		param           string
		retryAfter      string
	}{
		{"missing key", "", fmt.Sprintf(chatBody, "gpt-4o-mini", ""), 401, "invalid_request_error", "invalid_api_key", "", ""},
		{"bad key", "sk-hub-nope-nope-nope-nope", fmt.Sprintf(chatBody, "gpt-4o-mini", ""), 401, "invalid_request_error", "invalid_api_key", "", ""},
		{"revoked key", revoked, fmt.Sprintf(chatBody, "gpt-4o-mini", ""), 401, "invalid_request_error", "invalid_api_key", "", ""},
		{"unknown model", h.key, fmt.Sprintf(chatBody, "no-such-model", ""), 404, "invalid_request_error", "model_not_found", "model", ""},
		{"unknown provider model", h.key, fmt.Sprintf(chatBody, "openai/no-such-model", ""), 404, "invalid_request_error", "model_not_found", "model", ""},
		{"oversized body", h.key, big, 413, "invalid_request_error", "request_too_large", "", ""},
		{"invalid JSON", h.key, `{"model":`, 400, "invalid_request_error", "", "", ""},
		{"not an object", h.key, `[1,2]`, 400, "invalid_request_error", "", "", ""},
		{"missing messages", h.key, `{"model":"gpt-4o-mini"}`, 400, "invalid_request_error", "", "messages", ""},
		{"model not a string", h.key, `{"model":5,"messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "", "model", ""},
		{"temperature not a number", h.key, fmt.Sprintf(chatBody, "gpt-4o-mini", `,"temperature":"hot"`), 400, "invalid_request_error", "", "temperature", ""},
		{"stream not a bool", h.key, fmt.Sprintf(chatBody, "gpt-4o-mini", `,"stream":"yes"`), 400, "invalid_request_error", "", "stream", ""},
		{"max_tokens not an integer", h.key, fmt.Sprintf(chatBody, "gpt-4o-mini", `,"max_tokens":1.5`), 400, "invalid_request_error", "", "max_tokens", ""},
		{"bad role", h.key, `{"model":"gpt-4o-mini","messages":[{"role":"robot","content":"x"}]}`, 400, "invalid_request_error", "", "messages[0].role", ""},
		{"upstream 429", h.key, fmt.Sprintf(chatBody, "e429/gpt-4o-mini", ""), 429, "tokens", "rate_limit_exceeded", "", "3"},
		{"upstream 500", h.key, fmt.Sprintf(chatBody, "e500/gpt-4o-mini", ""), 502, "upstream_error", "", "", ""},
		// The 429 above cooled e429's only credential down for its
		// Retry-After: the next call is refused by the hub itself.
		{"credential cooling down after a 429", h.key, fmt.Sprintf(chatBody, "e429/gpt-4o-mini", `,"stream":true`), 429, "rate_limit_error", "provider_cooling_down", "", "3"},
		{"upstream timeout", h.key, fmt.Sprintf(chatBody, "ehang/gpt-4o-mini", ""), 504, "upstream_timeout", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.post(tt.key, "/v1/chat/completions", tt.body)
			if resp.StatusCode != tt.status {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Fatal("X-Request-Id missing on an error")
			}
			if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			e := decodeError(t, resp)
			if e.Error.Type != tt.typ {
				t.Fatalf("type = %q, want %q (%s)", e.Error.Type, tt.typ, e.Error.Message)
			}
			if got := deref(e.Error.Code); got != tt.code {
				t.Fatalf("code = %q, want %q", got, tt.code)
			}
			if got := deref(e.Error.Param); got != tt.param {
				t.Fatalf("param = %q, want %q", got, tt.param)
			}
			if strings.Contains(e.Error.Message, "sk-upstream-secret") {
				t.Fatal("provider secret leaked to the client")
			}
			if tt.status >= 429 { // reached a provider: recorded with its status
				c := h.call(resp.Header.Get("X-Request-Id"))
				if c.Status != store.CallError || c.HTTPStatus != tt.status || c.ErrorType != tt.typ {
					t.Fatalf("record = %+v", c)
				}
			}
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		resp := h.post(h.key, "/v1/nope", "{}")
		if resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		decodeError(t, resp)
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestMidStreamFailure(t *testing.T) {
	h := startHub(t)
	resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "ecut/gpt-4o-mini", `,"stream":true`))
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	events := sse(t, resp.Body)
	last := events[len(events)-1]
	if last == "[DONE]" || !strings.Contains(last, `"error"`) {
		t.Fatalf("a broken upstream stream must end with an error event and no [DONE]: %v", events)
	}
	c := h.call(resp.Header.Get("X-Request-Id"))
	if c.Status != store.CallError || !c.UsageEstimated || c.CompletionTokens == 0 {
		t.Fatalf("record = %+v", c)
	}
}

func TestClientAbortMidStream(t *testing.T) {
	h := startHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/v1/chat/completions", strings.NewReader(fmt.Sprintf(chatBody, "eslow/gpt-4o-mini", `,"stream":true`)))
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reqID := resp.Header.Get("X-Request-Id")
	br := bufio.NewReader(resp.Body)
	for events := 0; events < 4; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			events++
		}
	}
	cancel()
	resp.Body.Close()
	c := h.call(reqID)
	if c.Status != store.CallAborted || !c.UsageEstimated || c.CompletionTokens == 0 || c.PromptTokens == 0 {
		t.Fatalf("record = %+v", c)
	}
}

func TestModelsAndHealth(t *testing.T) {
	h := startHub(t)
	req, _ := http.NewRequest("GET", h.url+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Object string
		Data   []struct{ ID, Object, OwnedBy string }
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	ids := map[string]bool{}
	for _, m := range list.Data {
		ids[m.ID] = true
	}
	if list.Object != "list" || !ids["openai/gpt-4o-mini"] || !ids["openai/gpt-4o"] {
		t.Fatalf("models = %+v", list)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp.StatusCode)
		}
		resp.Body.Close()
	}
	resp, _ = http.Get(h.url + "/v1/models")
	if resp.StatusCode != 401 {
		t.Fatalf("models without a key: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestGracefulShutdownFinishesStreams(t *testing.T) {
	h := startHub(t)
	resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "eslow/gpt-4o-mini", `,"stream":true`))
	defer resp.Body.Close()
	reqID := resp.Header.Get("X-Request-Id")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.hub.Shutdown(ctx)
	}()
	body, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.HasSuffix(body, []byte("data: [DONE]\n\n")) {
		t.Fatalf("the stream did not finish during shutdown: %v\n%s", err, body)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The recorder flushed the stream's record before the store closed.
	st, err := store.Open(context.Background(), filepath.Join(h.dataDir, app.DBFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	calls, err := st.Calls(context.Background(), store.CallFilter{RequestID: reqID})
	if err != nil || len(calls) != 1 || calls[0].Status != store.CallOK {
		t.Fatalf("after shutdown: %v %+v", err, calls)
	}
}

// A hostile plugin (an untrusted .wasm built from runtime/testdata) fails
// each call cleanly, with an OpenAI error, while the hub keeps serving other
// calls, on other providers and on the same plugin.
func TestHostilePluginThroughTheHub(t *testing.T) {
	h := startHub(t)
	for _, tt := range []struct {
		model  string
		status int
		code   string
	}{
		{"hostile/loop", 504, "plugin_timeout"},
		{"hostile/panic", 502, "plugin_failed"},
		{"hostile/bomb", 0, ""}, // out of memory, or past the deadline first under -race
		{"hostile/badresult", 502, "plugin_failed"},
	} {
		t.Run(tt.model, func(t *testing.T) {
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // other calls keep working meanwhile
				defer wg.Done()
				resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "openai/gpt-4o-mini", ""))
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("a healthy provider failed with %d during a hostile call", resp.StatusCode)
				}
			}()
			resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, tt.model, ""))
			if tt.status == 0 && (resp.StatusCode == 502 || resp.StatusCode == 504) {
				tt.status = resp.StatusCode
				tt.code = map[int]string{502: "plugin_failed", 504: "plugin_timeout"}[tt.status]
			}
			if resp.StatusCode != tt.status {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			e := decodeError(t, resp)
			if e.Error.Type != "plugin_error" || deref(e.Error.Code) != tt.code || strings.Contains(e.Error.Message, "fatal error") {
				t.Fatalf("error = %+v", e.Error)
			}
			wg.Wait()
			c := h.call(resp.Header.Get("X-Request-Id"))
			if c.Status != store.CallError || c.HTTPStatus != tt.status || c.Provider != "hostile" {
				t.Fatalf("record = %+v", c)
			}
		})
	}
	if st := h.hub.Plugins()["hostile"].Stats(); st.Discarded < 3 {
		t.Fatalf("failed instances must be discarded: %+v", st)
	}
}
