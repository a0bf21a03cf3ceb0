package app_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/aignehub/hub/host/conformance"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// The AssemblyScript provider (examples/as-provider) is a third-party
// plugin written from sdk/ABI.md alone. These tests load the .wasm that
// `make examples` builds into a real hub in front of the emulator's Ollama
// API, feed it adversarial input through the runtime, and run the
// conformance kit on it.

const asDir = "../../examples/as-provider"

// asProviderWasm returns the path of bin/as-provider.wasm. Under CI=true a
// missing or stale module fails the test (the Makefile builds it before the
// tests); locally it skips with a message.
func asProviderWasm(t testing.TB) string {
	t.Helper()
	path, err := filepath.Abs("../../bin/as-provider.wasm")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: `make examples` builds it (needs Node and npm)", path)
		}
		t.Skipf("%s is missing: run `make examples` (needs Node and npm) to test the AssemblyScript provider", path)
	}
	srcs, _ := filepath.Glob(filepath.Join(asDir, "assembly", "*.ts"))
	for _, src := range srcs {
		if si, err := os.Stat(src); err == nil && si.ModTime().After(fi.ModTime()) {
			t.Fatalf("%s is older than %s: run `make examples`", path, src)
		}
	}
	return path
}

// The emulator's answer: its words, cycled, make the reply; with
// asChunks words the reply is exactly asAnswer. Quotes, a backslash,
// accents and an emoji check the JSON codec both ways.
const (
	asAnswer = "Bonjour \"à\" tous\\ 😀 fin ✓"
	asChunks = 6 // words of asAnswer
)

const asHubTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[limits]
upstream_timeout = "5s"
plugin_deadline = "1s"
plugin_memory = "16MiB"

[plugins.asollama]
source = %[3]q

[plugins.as429]
source = %[3]q
config = { headers = { "X-Emulator-Status" = "429", "X-Emulator-Retry-After" = "3" } }

[plugins.as404]
source = %[3]q
config = { headers = { "X-Emulator-Status" = "404" } }

[plugins.ascut]
source = %[3]q
config = { headers = { "X-Emulator-Fail-After" = "2" } }

[[providers]]
name = "asollama"
plugin = "asollama"
base_url = "%[2]s"
models = ["llama3.2", "qwen3:8b"]
options = { num_ctx = 4096, keep_alive = "1m" }

[[providers]]
name = "as429"
plugin = "as429"
base_url = "%[2]s"
models = ["slow-model"]

[[providers]]
name = "as404"
plugin = "as404"
base_url = "%[2]s"
models = ["gone-model"]

[[providers]]
name = "ascut"
plugin = "ascut"
base_url = "%[2]s"
models = ["cut-model"]

[[providers]]
name = "asdisc"
plugin = "asollama"
base_url = "%[2]s"
# no models: discovered through the plugin's "models" API (GET /api/tags)
`

func startASHub(t *testing.T) *testHub {
	t.Helper()
	wasm := asProviderWasm(t)
	return startHubWith(t, emulator.Options{Answer: asAnswer, Chunks: asChunks}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(asHubTOML, dataDir, emuURL, wasm)
	})
}

// asUsage is the usage object of a canonical response or chunk.
type asUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

type asToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// asHead is what a canonical response and chunk both start with.
type asHead struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
}

// asMessage is the message of a response choice or the delta of a chunk's.
type asMessage struct {
	Role             string       `json:"role"`
	Content          *string      `json:"content"`
	ReasoningContent string       `json:"reasoning_content"`
	ToolCalls        []asToolCall `json:"tool_calls"`
}

type asCompletion struct {
	asHead
	Choices []struct {
		Index        int       `json:"index"`
		Message      asMessage `json:"message"`
		FinishReason string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *asUsage `json:"usage"`
}

type asChunk struct {
	asHead
	Choices []struct {
		Index        int       `json:"index"`
		Delta        asMessage `json:"delta"`
		FinishReason *string   `json:"finish_reason"`
	} `json:"choices"`
	Usage *asUsage `json:"usage"`
}

// lastUpstream returns the emulator's last recorded request to path.
func (h *testHub) lastUpstream(path string) emulator.RecordedRequest {
	h.t.Helper()
	reqs := h.emu.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Path == path {
			return reqs[i]
		}
	}
	h.t.Fatalf("no upstream request to %s", path)
	return emulator.RecordedRequest{}
}

func TestASProviderChat(t *testing.T) {
	h := startASHub(t)

	// A developer message becomes Ollama's system message; text parts are
	// joined; the emulator counts a prompt token per 4 content bytes.
	const dev, user1, user2 = "Be brief.", "Say hello ", "in French."
	body := fmt.Sprintf(`{"model":"asollama/llama3.2","messages":[{"role":"developer","content":%q},`+
		`{"role":"user","content":[{"type":"text","text":%q},{"type":"text","text":%q}]}],"temperature":0.25,"max_tokens":100,"stop":"</s>"%%s}`,
		dev, user1, user2)
	wantPrompt := int64(len(dev+user1+user2) / 4)

	t.Run("non-stream", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(body, ""))
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
		reqID := resp.Header.Get("X-Request-Id")
		var c asCompletion
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		if c.ID != "chatcmpl-"+reqID || c.Object != "chat.completion" || c.Model != "llama3.2" || c.Created == 0 || len(c.Choices) != 1 {
			t.Fatalf("completion = %s", raw)
		}
		ch := c.Choices[0]
		if ch.Message.Role != "assistant" || ch.Message.Content == nil || *ch.Message.Content != asAnswer || ch.FinishReason != "stop" {
			t.Fatalf("choice = %s", raw)
		}
		want := asUsage{PromptTokens: wantPrompt, CompletionTokens: asChunks, TotalTokens: wantPrompt + asChunks}
		if c.Usage == nil || *c.Usage != want {
			t.Fatalf("usage = %+v, want %+v", c.Usage, want)
		}
		rec := h.call(reqID)
		if rec.Status != store.CallOK || rec.Provider != "asollama" || rec.UpstreamModel != "llama3.2" || rec.Stream ||
			rec.PromptTokens != want.PromptTokens || rec.CompletionTokens != want.CompletionTokens || rec.UsageEstimated {
			t.Fatalf("record = %+v", rec)
		}

		// What the plugin sent upstream: Ollama's native request.
		up := h.lastUpstream("/api/chat")
		if up.Method != "POST" || up.Header.Get("Content-Type") != "application/json" || up.Header.Get("Authorization") != "" {
			t.Fatalf("upstream %s, headers %v", up.Method, up.Header)
		}
		var sent struct {
			Model    string `json:"model"`
			Stream   *bool  `json:"stream"`
			Messages []struct {
				Role, Content string
			}
			Options   map[string]any `json:"options"`
			KeepAlive string         `json:"keep_alive"`
		}
		if err := json.Unmarshal(up.Body, &sent); err != nil {
			t.Fatalf("upstream body %s: %v", up.Body, err)
		}
		wantMsgs := []struct{ Role, Content string }{{"system", dev}, {"user", user1 + user2}}
		if sent.Model != "llama3.2" || sent.Stream == nil || *sent.Stream || !slices.Equal(sent.Messages, wantMsgs) {
			t.Fatalf("upstream body %s", up.Body)
		}
		// The provider's options (hub.toml) reach the plugin: num_ctx, keep_alive.
		if sent.Options["temperature"] != 0.25 || sent.Options["num_predict"] != 100.0 || fmt.Sprint(sent.Options["stop"]) != "[</s>]" ||
			sent.Options["num_ctx"] != 4096.0 || sent.KeepAlive != "1m" {
			t.Fatalf("upstream options %v", sent.Options)
		}
	})

	for _, tt := range []struct {
		name      string
		extra     string
		wantUsage bool
	}{
		{"stream", `,"stream":true`, false},
		{"stream with usage", `,"stream":true,"stream_options":{"include_usage":true}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(body, tt.extra))
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			reqID := resp.Header.Get("X-Request-Id")
			events := sse(t, resp.Body)
			if len(events) < 3 || events[len(events)-1] != "[DONE]" {
				t.Fatalf("events = %q", events)
			}
			var text strings.Builder
			var usage *asUsage
			finishes := 0
			for i, ev := range events[:len(events)-1] {
				var c asChunk
				if err := json.Unmarshal([]byte(ev), &c); err != nil {
					t.Fatalf("chunk %q: %v", ev, err)
				}
				if c.ID != "chatcmpl-"+reqID || c.Object != "chat.completion.chunk" || c.Model != "llama3.2" || c.Created == 0 {
					t.Fatalf("chunk %d = %s", i, ev)
				}
				if i == 0 && (len(c.Choices) != 1 || c.Choices[0].Delta.Role != "assistant") {
					t.Fatalf("first chunk has no role: %s", ev)
				}
				if c.Usage != nil {
					if usage != nil || len(c.Choices) != 0 || i != len(events)-2 {
						t.Fatalf("the usage chunk must come last, once, without choices: %s", ev)
					}
					usage = c.Usage
				}
				for _, ch := range c.Choices {
					if ch.Delta.Content != nil {
						text.WriteString(*ch.Delta.Content)
					}
					if ch.FinishReason != nil {
						finishes++
						if *ch.FinishReason != "stop" {
							t.Fatalf("finish_reason %q", *ch.FinishReason)
						}
					}
				}
			}
			if text.String() != asAnswer || finishes != 1 {
				t.Fatalf("streamed %q with %d finish reasons, want %q and 1", text.String(), finishes, asAnswer)
			}
			want := asUsage{PromptTokens: wantPrompt, CompletionTokens: asChunks, TotalTokens: wantPrompt + asChunks}
			if tt.wantUsage != (usage != nil) || (usage != nil && *usage != want) {
				t.Fatalf("usage chunk %+v, want %v (%+v)", usage, tt.wantUsage, want)
			}
			rec := h.call(reqID)
			if rec.Status != store.CallOK || !rec.Stream || rec.PromptTokens != want.PromptTokens || rec.CompletionTokens != want.CompletionTokens || rec.UsageEstimated {
				t.Fatalf("record = %+v", rec)
			}
			var sent struct{ Stream *bool }
			if json.Unmarshal(h.lastUpstream("/api/chat").Body, &sent); sent.Stream == nil || !*sent.Stream {
				t.Fatal(`a stream call must send "stream": true upstream`)
			}
		})
	}

	t.Run("length", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":2}`)
		defer resp.Body.Close()
		var c asCompletion
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		if *c.Choices[0].Message.Content != "Bonjour \"à\"" || c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens != 2 {
			t.Fatalf("completion = %+v", c)
		}
	})

	t.Run("reasoning", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"qwen3:8b","messages":[{"role":"user","content":"Is 221 prime?"}],"reasoning_effort":"high"}`)
		defer resp.Body.Close()
		var c asCompletion
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %v", resp.StatusCode, err)
		}
		if c.Choices[0].Message.ReasoningContent == "" || c.Choices[0].Message.Content == nil || *c.Choices[0].Message.Content == "" {
			t.Fatalf("completion = %+v", c)
		}
		var sent struct{ Think string }
		if json.Unmarshal(h.lastUpstream("/api/chat").Body, &sent); sent.Think != "high" {
			t.Fatalf(`reasoning_effort "high" must send "think": "high", sent %q`, sent.Think)
		}
	})

	t.Run("tools", func(t *testing.T) {
		for _, stream := range []bool{false, true} {
			extra := ""
			if stream {
				extra = `"stream":true,`
			}
			resp := h.post(h.key, "/v1/chat/completions", strings.Replace(fmt.Sprintf(toolsBody, extra), "gpt-4o-mini", "llama3.2", 1))
			var calls []asToolCall
			var finish string
			if stream {
				events := sse(t, resp.Body)
				for _, ev := range events[:len(events)-1] {
					var c asChunk
					if err := json.Unmarshal([]byte(ev), &c); err != nil {
						t.Fatal(err)
					}
					for _, ch := range c.Choices {
						calls = append(calls, ch.Delta.ToolCalls...)
						if ch.FinishReason != nil {
							finish = *ch.FinishReason
						}
					}
				}
			} else {
				var c asCompletion
				if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
					t.Fatal(err)
				}
				calls, finish = c.Choices[0].Message.ToolCalls, c.Choices[0].FinishReason
				if c.Choices[0].Message.Content != nil {
					t.Fatalf("a tool-call answer without text has content null, got %q", *c.Choices[0].Message.Content)
				}
			}
			resp.Body.Close()
			if len(calls) != 1 || finish != "tool_calls" {
				t.Fatalf("stream=%v: calls %+v, finish %q", stream, calls, finish)
			}
			tc := calls[0]
			var args map[string]any
			if tc.Type != "function" || tc.Function.Name != "get_weather" || !strings.HasPrefix(tc.ID, "call_") ||
				json.Unmarshal([]byte(tc.Function.Arguments), &args) != nil || stream != (tc.Index != nil) {
				t.Fatalf("stream=%v: tool call %+v", stream, tc)
			}
		}
		// The tool result goes back with the function's name, which
		// Ollama wants and OpenAI's tool message does not carry.
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"llama3.2","messages":[{"role":"user","content":"Weather?"},`+
			`{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},`+
			`{"role":"tool","tool_call_id":"call_1","content":"sunny"}]}`)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var sent struct {
			Messages []struct {
				Role, Content string
				ToolName      string `json:"tool_name"`
				ToolCalls     []struct {
					Function struct {
						Name      string
						Arguments map[string]string
					}
				} `json:"tool_calls"`
			}
		}
		if err := json.Unmarshal(h.lastUpstream("/api/chat").Body, &sent); err != nil || len(sent.Messages) != 3 {
			t.Fatalf("upstream body: %v", err)
		}
		if m := sent.Messages[1]; len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Arguments["city"] != "Paris" {
			t.Fatalf("assistant tool call sent as %+v (Ollama wants arguments as an object)", m)
		}
		if m := sent.Messages[2]; m.Role != "tool" || m.ToolName != "get_weather" || m.Content != "sunny" {
			t.Fatalf("tool result sent as %+v", m)
		}
	})

	t.Run("model discovery", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.url+"/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+h.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct {
			Data []struct{ ID string }
		}
		json.NewDecoder(resp.Body).Decode(&list)
		var ids []string
		for _, m := range list.Data {
			if strings.HasPrefix(m.ID, "asdisc/") {
				ids = append(ids, m.ID)
			}
		}
		slices.Sort(ids)
		if want := []string{"asdisc/all-minilm:latest", "asdisc/llama3.2:latest", "asdisc/qwen3-vl:8b", "asdisc/qwen3:8b"}; !slices.Equal(ids, want) {
			t.Fatalf("discovered %v, want %v", ids, want)
		}
		if up := h.lastUpstream("/api/tags"); up.Method != "GET" {
			t.Fatalf("discovery sent %s /api/tags", up.Method)
		}
	})

	t.Run("anthropic surface", func(t *testing.T) {
		req, _ := http.NewRequest("POST", h.url+"/v1/messages", strings.NewReader(
			`{"model":"asollama/llama3.2","max_tokens":50,"messages":[{"role":"user","content":"Say hello in French."}]}`))
		req.Header.Set("x-api-key", h.key)
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var msg struct {
			Type    string
			Content []struct{ Type, Text string }
			Usage   struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
			}
		}
		raw, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(raw, &msg); err != nil || resp.StatusCode != 200 || len(msg.Content) != 1 ||
			msg.Content[0].Text != asAnswer || msg.Usage.OutputTokens != asChunks {
			t.Fatalf("status %d: %s", resp.StatusCode, raw)
		}
	})
}

func TestASProviderErrors(t *testing.T) {
	h := startASHub(t)
	t.Run("rate limited upstream", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"as429/slow-model","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
			t.Fatalf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		e := decodeError(t, resp)
		if e.Error.Type != "rate_limit_error" || e.Error.Message != "too many requests" {
			t.Fatalf("error = %+v", e.Error)
		}
	})
	t.Run("unknown model upstream", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"as404/gone-model","messages":[{"role":"user","content":"hi"}]}`)
		if resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if e := decodeError(t, resp); deref(e.Error.Code) != "model_not_found" || e.Error.Message != "model 'gone-model' not found" {
			t.Fatalf("error = %+v", e.Error)
		}
	})
	t.Run("unsupported content", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"llama3.2","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`)
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if e := decodeError(t, resp); e.Error.Type != "invalid_request_error" || deref(e.Error.Param) != "messages[0].content[0].image_url.url" {
			t.Fatalf("error = %+v", e.Error)
		}
	})
	t.Run("mid-stream error", func(t *testing.T) {
		resp := h.post(h.key, "/v1/chat/completions", `{"model":"ascut/cut-model","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		defer resp.Body.Close()
		events := sse(t, resp.Body)
		if len(events) < 2 || slices.Contains(events, "[DONE]") {
			t.Fatalf("events = %q", events)
		}
		var last openAIError
		if err := json.Unmarshal([]byte(events[len(events)-1]), &last); err != nil || last.Error.Message != "an error was encountered while running the model" {
			t.Fatalf("last event %q", events[len(events)-1])
		}
		var c asChunk
		if err := json.Unmarshal([]byte(events[0]), &c); err != nil || c.Choices[0].Delta.Content == nil || *c.Choices[0].Delta.Content != "Bonjour" {
			t.Fatalf("the chunks before the error must reach the client: %q", events)
		}
		if rec := h.call(resp.Header.Get("X-Request-Id")); rec.Status != store.CallError || rec.CompletionTokens == 0 {
			t.Fatalf("record = %+v", rec)
		}
	})
}

// ---- adversarial input through the runtime ----------------------------------

var (
	asOnce   sync.Once
	asPlugin *runtime.Plugin
	asErr    error
)

// loadASProvider loads the module once per test binary, untrusted, as a
// hub loads a .wasm file.
func loadASProvider(t testing.TB) *runtime.Plugin {
	t.Helper()
	path := asProviderWasm(t)
	asOnce.Do(func() {
		var wasm []byte
		if wasm, asErr = os.ReadFile(path); asErr != nil {
			return
		}
		asPlugin, asErr = runtime.Load(context.Background(), runtime.Options{Name: "as-ollama", Wasm: wasm,
			MemoryLimit: 16 << 20, Logger: slog.New(slog.DiscardHandler)})
	})
	if asErr != nil {
		t.Fatal(asErr)
	}
	return asPlugin
}

// jsonDepth returns the deepest nesting of arrays and objects in a valid
// JSON document.
func jsonDepth(b []byte) int {
	depth, most := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			most = max(most, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

// checkASRequest runs hub_request on body and checks it against Go's
// encoding/json: the plugin accepts exactly the valid JSON documents (up
// to its nesting limit of 64), never fails as a module, and its upstream
// body is valid JSON in valid UTF-8 whose messages carry the same text.
func checkASRequest(t *testing.T, p *runtime.Plugin, body []byte) {
	t.Helper()
	out, err := p.Request(context.Background(), &abi.RequestIn{API: abi.APIChatCompletions, Model: "m", RequestID: "req_fuzz",
		Body: body, Options: []byte(`{}`), UnixMS: 1700000000000})
	var ce *runtime.CallError
	if errors.As(err, &ce) {
		t.Fatalf("the plugin failed on %q: %v", body, err)
	}
	// Maps, not structs: encoding/json matches struct fields without
	// regard to case, JSON keys (and the plugin) do not.
	var in struct {
		Messages []map[string]any `json:"messages"`
	}
	goValid := json.Valid(body)
	if err != nil {
		var ae *abi.Error
		if !errors.As(err, &ae) || ae.Status != 400 || ae.Type != "invalid_request_error" {
			t.Fatalf("error for %q: %v", body, err)
		}
		if goValid && jsonDepth(body) <= 64 && ae.Message == "the request body is not a JSON object" && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
			t.Fatalf("the plugin rejects valid JSON %q", body)
		}
		return
	}
	if !goValid {
		t.Fatalf("the plugin accepted invalid JSON %q", body)
	}
	if !json.Valid(out.Body) || !utf8.Valid(out.Body) {
		t.Fatalf("upstream body is not valid JSON in UTF-8: %q (from %q)", out.Body, body)
	}
	var sent struct {
		Messages []struct {
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return // valid JSON of another shape that the plugin took: nothing to compare
	}
	if err := json.Unmarshal(out.Body, &sent); err != nil || len(sent.Messages) != len(in.Messages) {
		t.Fatalf("upstream body %q for %q: %v", out.Body, body, err)
	}
	for i, m := range in.Messages {
		if s, ok := m["content"].(string); ok && sent.Messages[i].Content != s {
			t.Fatalf("message %d: sent %q, want %q", i, sent.Messages[i].Content, s)
		}
	}
}

// asAdversarial are request bodies that a JSON reader gets wrong easily.
var asAdversarial = []string{
	``, ` `, `null`, `[]`, `"x"`, `{`, `}`, `{}`, `{"messages":[]}`, `{"messages":{}}`,
	`{"messages":[{"role":"user","content":"hi"}]}`,
	`{"messages":[{"role":"user","content":"hi"}]} `,
	`{"messages":[{"role":"user","content":"hi"}]}x`,
	`{"messages":[{"role":"user","content":"hi"},]}`,
	`{"messages":[{"role":"user","content":"hi",}]}`,
	`{"messages":[{"role":"user","content":"a\u0000b\u001fc\"d\\e\/f\b\f\n\r\t"}]}`,
	`{"messages":[{"role":"user","content":"\ud83d\ude00 \ud83d \ude00 \udbff\udfff \ud800\u0041"}]}`,
	`{"messages":[{"role":"user","content":"\u00"}]}`,
	`{"messages":[{"role":"user","content":"\x"}]}`,
	"{\"messages\":[{\"role\":\"user\",\"content\":\"raw\x01control\"}]}",
	"{\"messages\":[{\"role\":\"user\",\"content\":\"bad utf8 \xff\xfe \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82\"}]}",
	"\xef\xbb\xbf{\"messages\":[{\"role\":\"user\",\"content\":\"bom\"}]}",
	`{"messages":[{"role":"user","content":"hi"}],"temperature":01}`,
	`{"messages":[{"role":"user","content":"hi"}],"temperature":-}`,
	`{"messages":[{"role":"user","content":"hi"}],"temperature":1.}`,
	`{"messages":[{"role":"user","content":"hi"}],"temperature":.5}`,
	`{"messages":[{"role":"user","content":"hi"}],"temperature":1e}`,
	`{"messages":[{"role":"user","content":"hi"}],"temperature":-0.0e+00,"seed":123456789012345678901234567890}`,
	`{"messages":[{"role":"user","content":"hi"}],"stop":["a","b"],"tools":[{"type":"function","function":{"name":"f","parameters":{"a":[1,{"b":null}]}}}]}`,
	`{"messages":[{"role":"user","content":"first"}],"messages":[{"role":"user","content":"last wins"}]}`,
	`{"messages":[{"role":"user","ConteNt":"keys are case-sensitive"}]}`,
	`{"messages":[{"role":"user","content":"hi"}],"x":tru}`,
	`{"messages":[{"role":"user","content":"hi"}],"x":nul}`,
	`{"messages":[{"role":"user","content":"hi"}] "x":1}`,
	`{"messages" [{"role":"user","content":"hi"}]}`,
	`{'messages':[]}`,
	`{"messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`,
	`{"messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}`,
	`{"messages":[{"role":"user","content":"hi"}],"x":` + strings.Repeat(`{"a":`, 100000) + `1` + strings.Repeat("}", 100000) + `}`,
	strings.Repeat("[", 1<<20),
	`{"messages":[{"role":"user","content":"` + strings.Repeat("é\\n", 100000) + `"}]}`,
}

func TestASProviderAdversarialInput(t *testing.T) {
	p := loadASProvider(t)
	for i, body := range asAdversarial {
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkASRequest(t, p, []byte(body)) })
	}
	t.Run("random", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		base := []byte(`{"messages":[{"role":"user","content":"h\u00e9llo \"x\""},{"role":"assistant","content":[{"type":"text","text":"ok"}]}],"temperature":0.5,"stop":["\n"]}`)
		for range 2000 {
			b := slices.Clone(base)
			for range 1 + r.IntN(3) {
				switch r.IntN(3) {
				case 0:
					b[r.IntN(len(b))] = byte(r.IntN(256))
				case 1:
					i := r.IntN(len(b))
					b = append(b[:i], b[i+1:]...)
				default:
					i := r.IntN(len(b))
					b = slices.Insert(b, i, `"{}[],:\u0`[r.IntN(10)])
				}
			}
			checkASRequest(t, p, b)
		}
	})

	// Upstream bodies and stream events: whatever the provider sends, the
	// plugin answers valid canonical JSON or an error, never a trap.
	state := func(stream bool) []byte {
		var flags uint32
		if stream {
			flags = abi.FlagStream | abi.FlagIncludeUsage
		}
		out, err := p.Request(context.Background(), &abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Flags: flags, RequestID: "req_x",
			Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		return out.State
	}
	upstream := append([]string{}, asAdversarial...)
	upstream = append(upstream,
		`{"message":{"role":"assistant","content":"\ud800"},"done":true,"prompt_eval_count":1e3,"eval_count":-5}`,
		`{"message":{"role":"assistant","content":"x"},"done":true,"prompt_eval_count":99999999999999999999999,"eval_count":1.9}`,
		`{"message":{"tool_calls":[{"function":{"name":"f","arguments":{"a":"\u2028"}}},{},{"function":null}]},"done":true}`,
		`{"message":"nope","done":"yes"}`, `{"error":"boom \u0000"}`, `{"error":7}`)
	t.Run("upstream", func(t *testing.T) {
		for _, body := range upstream {
			ro, err := p.Response(context.Background(), &abi.ResponseIn{State: state(false), Status: 200, Body: []byte(body)})
			var ce *runtime.CallError
			if errors.As(err, &ce) {
				t.Fatalf("the plugin failed on response %q: %v", body, err)
			}
			if err == nil && (!json.Valid(ro.Body) || !utf8.Valid(ro.Body)) {
				t.Fatalf("response body %q for %q", ro.Body, body)
			}
			so, err := p.StreamEvent(context.Background(), &abi.StreamIn{State: state(true), Events: []abi.Event{{Data: []byte(body)}, {Data: []byte(body)}}})
			if err != nil {
				t.Fatalf("stream event %q: %v (an upstream's bad event belongs in StreamOut.error)", body, err)
			}
			for _, c := range so.Chunks {
				if !json.Valid(c) || !utf8.Valid(c) {
					t.Fatalf("chunk %q for %q", c, body)
				}
			}
			if so.Error != nil && so.Error.Message == "" {
				t.Fatalf("empty stream error for %q", body)
			}
			if so.Error == nil && so.Flags&abi.StreamDone == 0 && len(body) > 0 && json.Valid([]byte(body)) && strings.Contains(body, `"done":true`) {
				t.Fatalf("a done line must end the stream: %q", body)
			}
		}
		for _, status := range []uint32{400, 401, 403, 404, 408, 429, 500, 502, 503, 504, 302, 0} {
			for _, body := range []string{`{"error":"bad \"thing\""}`, ``, `<html>`, "\xff"} {
				_, err := p.Response(context.Background(), &abi.ResponseIn{State: state(false), Status: status, Body: []byte(body),
					Headers: []abi.Header{{Name: "Retry-After", Value: "2"}}})
				var ae *abi.Error
				if !errors.As(err, &ae) || ae.Message == "" || ae.Status < 400 || !utf8.ValidString(ae.Message) {
					t.Fatalf("HTTP %d %q: %v", status, body, err)
				}
				if (status == 401 || status == 403) && (ae.Status != 502 || strings.Contains(ae.Message, "bad")) {
					t.Fatalf("an auth failure must be a 502 without the provider's text: %+v", ae)
				}
				if status == 429 && (ae.Status != 429 || !ae.Retryable || ae.RetryAfterMS != 2000) {
					t.Fatalf("429: %+v", ae)
				}
			}
		}
	})

	// Malformed records are the host's bug, not the provider's: an error
	// result, and the instance keeps serving.
	t.Run("records", func(t *testing.T) {
		for _, export := range []string{abi.ExportRequest, abi.ExportResponse, abi.ExportStreamEvent} {
			for _, rec := range [][]byte{{1}, {1, 2, 3}, {0xff, 0xff, 0xff, 0x7f, 'x'}, binary.LittleEndian.AppendUint32(nil, 10), slices.Repeat([]byte{0xff}, 64)} {
				_, err := p.Call(context.Background(), export, rec)
				var ae *abi.Error
				if !errors.As(err, &ae) {
					t.Fatalf("%s(%x): %v", export, rec, err)
				}
			}
		}
		if _, err := p.Request(context.Background(), &abi.RequestIn{API: "embeddings", Body: []byte(`{}`)}); err == nil || !strings.Contains(err.Error(), "unsupported_api") && !strings.Contains(err.Error(), "does not support") {
			t.Fatalf("embeddings: %v", err)
		}
	})
}

// FuzzASProviderRequest checks the plugin's JSON reader against Go's
// encoding/json on the request path (see checkASRequest).
func FuzzASProviderRequest(f *testing.F) {
	for _, s := range asAdversarial {
		if len(s) < 4096 {
			f.Add([]byte(s))
		}
	}
	p := loadASProvider(f)
	f.Fuzz(func(t *testing.T, body []byte) { checkASRequest(t, p, body) })
}

// FuzzASProviderUpstream feeds arbitrary upstream bytes to hub_response
// and, as NDJSON events, to hub_stream_event: the plugin answers valid
// JSON in valid UTF-8 or an error, and never fails as a module.
func FuzzASProviderUpstream(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","message":{"role":"assistant","content":"hi","thinking":"t"},"done":true,"done_reason":"length","prompt_eval_count":3,"eval_count":2}`,
		`{"message":{"tool_calls":[{"id":"c","function":{"index":0,"name":"f","arguments":{"a":[1,"\u00e9"]}}}]},"done":false}`,
		`{"error":"boom"}`, `{"models":[{"name":"a"},{"name":1},{}]}`, `{"done":true}`, "ÿ", `[`, ``,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	p := loadASProvider(f)
	states := map[bool][]byte{}
	for _, models := range []bool{false, true} {
		in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "m", Flags: abi.FlagStream | abi.FlagIncludeUsage, RequestID: "r",
			Body: []byte(`{"messages":[{"role":"user","content":"hi"}]}`)}
		if models {
			in = &abi.RequestIn{API: abi.APIModels}
		}
		out, err := p.Request(context.Background(), in)
		if err != nil {
			f.Fatal(err)
		}
		states[models] = out.State
	}
	f.Fuzz(func(t *testing.T, body []byte, models bool) {
		ro, err := p.Response(context.Background(), &abi.ResponseIn{State: states[models], Status: 200, Body: body})
		var ce *runtime.CallError
		if errors.As(err, &ce) {
			t.Fatalf("response %q: %v", body, err)
		}
		if err == nil && (!json.Valid(ro.Body) || !utf8.Valid(ro.Body)) {
			t.Fatalf("response body %q for %q", ro.Body, body)
		}
		if models {
			return
		}
		so, err := p.StreamEvent(context.Background(), &abi.StreamIn{State: states[false], Events: []abi.Event{{Data: body}, {Data: body}}})
		if err != nil {
			t.Fatalf("stream %q: %v", body, err)
		}
		for _, c := range so.Chunks {
			if !json.Valid(c) || !utf8.Valid(c) {
				t.Fatalf("chunk %q for %q", c, body)
			}
		}
	})
}

// TestASProviderConformance runs the conformance kit (`hub plugin test`) on
// the module with its fixtures in examples/as-provider/testdata/conformance.
func TestASProviderConformance(t *testing.T) {
	path := asProviderWasm(t)
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := conformance.Run(context.Background(), conformance.Options{Wasm: wasm, Name: "as-ollama",
		Fixtures: filepath.Join(asDir, "testdata", "conformance")})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		t.Logf("%-28s %s %s", r.Name, r.Status, r.Detail)
		if r.Status == conformance.Fail {
			t.Errorf("check %s failed: %s", r.Name, r.Detail)
		}
	}
}
