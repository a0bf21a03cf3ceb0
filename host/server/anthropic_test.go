package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// The Anthropic surface end to end: a real hub on loopback, with the real
// openai and anthropic plugins built from source, in front of the provider
// emulator. Clients speak Anthropic's Messages API; the models are served
// by OpenAI (through the canonical form) and by Anthropic (a round trip).

const anHubTOML = `
listen = "127.0.0.1:0"
data_dir = %q

[limits]
upstream_timeout = "5s"
max_request_body = "64KiB"

[plugins.openai]
source = "builtin:openai"

[plugins.anthropic]
source = "builtin:anthropic"

[plugins.e429]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "429", "X-Emulator-Retry-After" = "3" } }

[plugins.ecut]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "3", "X-Emulator-Chunks" = "10" } }

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini", "deepseek-reasoner"]

[[providers]]
name = "anthropic"
plugin = "anthropic"
base_url = "%[2]s"
credentials = ["sk-ant-upstream-secret-1234"]
models = ["claude-sonnet-4-20250514"]

[[providers]]
name = "e429"
plugin = "e429"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "ecut"
plugin = "ecut"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

// anHub is a running hub, its emulator and a user key.
type anHub struct {
	*testHub
	emu *emulator.Emulator
	key string
}

// anStartHub builds the plugins into a temporary directory and starts the
// hub.
func anStartHub(t *testing.T) *anHub {
	t.Helper()
	emu := emulator.New(emulator.Options{Record: true})
	h := &anHub{testHub: startHub(t, anHubTOML, emu), emu: emu}
	h.key, _ = h.newKey("default", "anthropic-test")
	return h
}

// post sends an Anthropic request the way Anthropic's SDKs do: x-api-key
// and anthropic-version (bearer when bearer is set).
func (h *anHub) post(key, path, body string, bearer bool) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("anthropic-version", "2023-06-01")
	if key != "" {
		if bearer {
			req.Header.Set("Authorization", "Bearer "+key)
		} else {
			req.Header.Set("x-api-key", key)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// anEvent is one SSE event.
type anEvent struct {
	name string
	data map[string]any
	raw  string
}

// anSSE reads an Anthropic stream: every event has an event: line and one
// data: line whose type equals the event name.
func anSSE(t *testing.T, r io.Reader) []anEvent {
	t.Helper()
	var out []anEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			name = ""
		case strings.HasPrefix(line, "event: "):
			if name != "" {
				t.Fatalf("two event lines: %q", line)
			}
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if name == "" {
				t.Fatalf("data without an event line: %q", line)
			}
			raw := strings.TrimPrefix(line, "data: ")
			var data map[string]any
			if err := json.Unmarshal([]byte(raw), &data); err != nil {
				t.Fatalf("event %s: %v: %s", name, err, raw)
			}
			if data["type"] != name {
				t.Fatalf("event %s has data.type %v", name, data["type"])
			}
			out = append(out, anEvent{name: name, data: data, raw: raw})
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	return out
}

func anNames(events []anEvent) string {
	var names []string
	for _, e := range events {
		names = append(names, e.name)
	}
	return strings.Join(names, " ")
}

// anCollapse shortens an event sequence: runs of content_block_delta
// become one "delta*".
func anCollapse(events []anEvent) string {
	var names []string
	for _, e := range events {
		n := e.name
		if n == "content_block_delta" {
			n = "delta*"
		}
		if len(names) > 0 && names[len(names)-1] == n && n == "delta*" {
			continue
		}
		names = append(names, n)
	}
	return strings.Join(names, " ")
}

type anMessage struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Role         string `json:"role"`
	Model        string `json:"model"`
	StopReason   string `json:"stop_reason"`
	StopSequence *string
	Content      []struct {
		Type     string          `json:"type"`
		Text     string          `json:"text"`
		Thinking string          `json:"thinking"`
		ID       string          `json:"id"`
		Name     string          `json:"name"`
		Input    json.RawMessage `json:"input"`
	} `json:"content"`
	Usage struct {
		InputTokens              int64 `json:"input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	} `json:"usage"`
}

type anError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

const anText = `{"model":%q,"max_tokens":256,"system":"You are a helpful assistant.","messages":[{"role":"user","content":"Say hello in French."}]%s}`

const anThink = `{"model":%q,"max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"Say hello in French."}],"stream":true}`

const anTools = `{"model":%q,"max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]}],"tools":[{"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],"tool_choice":{"type":"auto"}%s}`

func TestAnthropicSurface(t *testing.T) {
	h := anStartHub(t)

	t.Run("non-stream, OpenAI-served", func(t *testing.T) {
		for _, bearer := range []bool{false, true} {
			resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anText, "openai/gpt-4o-mini", ""), bearer)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d (%s): %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
			}
			reqID := resp.Header.Get("X-Request-Id")
			if resp.Header.Get("Request-Id") != reqID || reqID == "" {
				t.Fatalf("request-id %q, X-Request-Id %q", resp.Header.Get("Request-Id"), reqID)
			}
			var m anMessage
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.Type != "message" || m.Role != "assistant" || !strings.HasPrefix(m.ID, "msg_") || m.StopReason != "end_turn" ||
				len(m.Content) != 1 || m.Content[0].Type != "text" || m.Content[0].Text == "" || !strings.HasPrefix(m.Model, "gpt-4o-mini") {
				t.Fatalf("message = %s", b)
			}
			c := h.call(reqID)
			if c.Status != store.CallOK || c.Provider != "openai" || c.Model != "openai/gpt-4o-mini" || c.Stream || c.UsageEstimated ||
				c.PromptTokens == 0 || c.CompletionTokens == 0 {
				t.Fatalf("record = %+v", c)
			}
			if m.Usage.InputTokens != c.PromptTokens || m.Usage.OutputTokens != c.CompletionTokens {
				t.Fatalf("usage %+v, recorded %d/%d", m.Usage, c.PromptTokens, c.CompletionTokens)
			}
		}
		// The upstream got a canonical OpenAI request with the hub's
		// credential, not the client's key.
		reqs := h.emu.Requests()
		last := reqs[len(reqs)-1]
		if last.Path != "/v1/chat/completions" || last.Header.Get("Authorization") != "Bearer sk-upstream-secret-1234" {
			t.Fatalf("upstream request %s %v", last.Path, last.Header)
		}
		var up map[string]any
		json.Unmarshal(last.Body, &up)
		if up["max_completion_tokens"] != float64(256) || up["messages"].([]any)[0].(map[string]any)["role"] != "system" {
			t.Fatalf("upstream body %s", last.Body)
		}
	})

	t.Run("stream, OpenAI-served", func(t *testing.T) {
		resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anText, "openai/gpt-4o-mini", `,"stream":true`), false)
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
			t.Fatalf("status %d, %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := anSSE(t, resp.Body)
		if got, want := anCollapse(events), "message_start content_block_start ping delta* content_block_stop message_delta message_stop"; got != want {
			t.Fatalf("events:\n%s\nwant\n%s", got, want)
		}
		var text strings.Builder
		for _, e := range events {
			if e.name == "content_block_delta" {
				d := e.data["delta"].(map[string]any)
				if d["type"] != "text_delta" || e.data["index"] != float64(0) {
					t.Fatalf("delta %s", e.raw)
				}
				text.WriteString(d["text"].(string))
			}
		}
		md := events[len(events)-2].data
		usage := md["usage"].(map[string]any)
		if md["delta"].(map[string]any)["stop_reason"] != "end_turn" || text.Len() == 0 {
			t.Fatalf("message_delta %s, text %q", events[len(events)-2].raw, text.String())
		}
		c := h.call(resp.Header.Get("X-Request-Id"))
		if c.Status != store.CallOK || !c.Stream || c.UsageEstimated || c.PromptTokens == 0 || c.CompletionTokens == 0 {
			t.Fatalf("record = %+v", c)
		}
		if usage["input_tokens"] != float64(c.PromptTokens) || usage["output_tokens"] != float64(c.CompletionTokens) {
			t.Fatalf("streamed usage %v, recorded %d/%d", usage, c.PromptTokens, c.CompletionTokens)
		}
		start := events[0].data["message"].(map[string]any)
		if !strings.HasPrefix(start["id"].(string), "msg_") || start["usage"].(map[string]any)["input_tokens"].(float64) <= 0 {
			t.Fatalf("message_start %s", events[0].raw)
		}
	})

	t.Run("tool use", func(t *testing.T) {
		resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anTools, "openai/gpt-4o-mini", ""), false)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m anMessage
		if err := json.Unmarshal(b, &m); err != nil || len(m.Content) == 0 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		last := m.Content[len(m.Content)-1]
		var input map[string]any
		if m.StopReason != "tool_use" || last.Type != "tool_use" || last.Name != "get_weather" || last.ID == "" ||
			json.Unmarshal(last.Input, &input) != nil || input["city"] == nil {
			t.Fatalf("message = %+v", m)
		}

		resp = h.post(h.key, "/v1/messages", fmt.Sprintf(anTools, "openai/gpt-4o-mini", `,"stream":true`), false)
		events := anSSE(t, resp.Body)
		resp.Body.Close()
		var partial strings.Builder
		var block map[string]any
		for _, e := range events {
			switch e.name {
			case "content_block_start":
				block = e.data["content_block"].(map[string]any)
			case "content_block_delta":
				if d := e.data["delta"].(map[string]any); d["type"] == "input_json_delta" {
					partial.WriteString(d["partial_json"].(string))
				}
			}
		}
		if block["type"] != "tool_use" || block["name"] != "get_weather" || !json.Valid([]byte(partial.String())) {
			t.Fatalf("tool block %v, input %q\n%s", block, partial.String(), anNames(events))
		}
		if md := events[len(events)-2]; md.data["delta"].(map[string]any)["stop_reason"] != "tool_use" {
			t.Fatalf("message_delta %s", md.raw)
		}

		// The result goes back as a tool_result; the upstream sees an
		// OpenAI tool message.
		follow := `{"model":"openai/gpt-4o-mini","max_tokens":100,"messages":[
			{"role":"user","content":"Weather in Paris?"},
			{"role":"assistant","content":[{"type":"tool_use","id":"` + last.ID + `","name":"get_weather","input":{"city":"Paris"}}]},
			{"role":"user","content":[{"type":"tool_result","tool_use_id":"` + last.ID + `","content":"18C, rain"},{"type":"text","text":"Summarize."}]}]}`
		resp = h.post(h.key, "/v1/messages", follow, false)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		reqs := h.emu.Requests()
		var up struct {
			Messages []struct {
				Role       string                `json:"role"`
				ToolCallID string                `json:"tool_call_id"`
				ToolCalls  []struct{ ID string } `json:"tool_calls"`
			}
		}
		json.Unmarshal(reqs[len(reqs)-1].Body, &up)
		if len(up.Messages) != 4 || up.Messages[1].ToolCalls[0].ID != last.ID || up.Messages[2].Role != "tool" ||
			up.Messages[2].ToolCallID != last.ID || up.Messages[3].Role != "user" {
			t.Fatalf("upstream messages %s", reqs[len(reqs)-1].Body)
		}
	})

	t.Run("thinking", func(t *testing.T) {
		// The emulator answers reasoning_content for a "reasoner" model;
		// Anthropic's thinking parameter becomes reasoning_effort.
		resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anThink, "openai/deepseek-reasoner"), false)
		events := anSSE(t, resp.Body)
		resp.Body.Close()
		want := "message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop"
		if got := anCollapse(events); got != want {
			t.Fatalf("events:\n%s\nwant\n%s", got, want)
		}
		if events[1].data["content_block"].(map[string]any)["type"] != "thinking" || events[3].data["delta"].(map[string]any)["type"] != "thinking_delta" {
			t.Fatalf("first block: %s / %s", events[1].raw, events[3].raw)
		}
		reqs := h.emu.Requests()
		var up map[string]any
		json.Unmarshal(reqs[len(reqs)-1].Body, &up)
		if up["reasoning_effort"] != "low" {
			t.Fatalf("upstream body %s", reqs[len(reqs)-1].Body)
		}
	})

	t.Run("Anthropic-served round trip", func(t *testing.T) {
		resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anTools, "anthropic/claude-sonnet-4-20250514", ""), false)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m anMessage
		if err := json.Unmarshal(b, &m); err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		if m.StopReason != "tool_use" || m.Content[len(m.Content)-1].Type != "tool_use" || !strings.HasPrefix(m.ID, "msg_") {
			t.Fatalf("message %s", b)
		}
		reqs := h.emu.Requests()
		last := reqs[len(reqs)-1]
		if last.Path != "/v1/messages" || last.Header.Get("X-Api-Key") != "sk-ant-upstream-secret-1234" {
			t.Fatalf("upstream %s %v", last.Path, last.Header)
		}
		c := h.call(resp.Header.Get("X-Request-Id"))
		if c.Provider != "anthropic" || c.PromptTokens != m.Usage.InputTokens+m.Usage.CacheReadInputTokens+m.Usage.CacheCreationInputTokens || c.CompletionTokens != m.Usage.OutputTokens {
			t.Fatalf("record %+v, usage %+v", c, m.Usage)
		}

		resp = h.post(h.key, "/v1/messages", fmt.Sprintf(anThink, "anthropic/claude-sonnet-4-20250514"), false)
		events := anSSE(t, resp.Body)
		resp.Body.Close()
		if got := anCollapse(events); got != "message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop" {
			t.Fatalf("events %s", got)
		}
		if events[1].data["content_block"].(map[string]any)["type"] != "thinking" {
			t.Fatalf("first block %s", events[1].raw)
		}
	})

	t.Run("count_tokens", func(t *testing.T) {
		resp := h.post(h.key, "/v1/messages/count_tokens", `{"model":"openai/gpt-4o-mini","system":"You are a scientist","messages":[{"role":"user","content":"Hello, Claude"}]}`, false)
		var out struct {
			InputTokens int64 `json:"input_tokens"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out.InputTokens < 8 || out.InputTokens > 20 {
			t.Fatalf("status %d, %+v", resp.StatusCode, out)
		}
		resp = h.post(h.key, "/v1/messages/count_tokens", `{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}`, false)
		e := anDecodeError(t, resp)
		if resp.StatusCode != 404 || e.Error.Type != "not_found_error" {
			t.Fatalf("status %d %+v", resp.StatusCode, e)
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tt := range []struct {
			name, key, body string
			status          int
			typ, retryAfter string
			message         string
		}{
			{"missing key", "", fmt.Sprintf(anText, "openai/gpt-4o-mini", ""), 401, "authentication_error", "", "x-api-key"},
			{"bad key", "sk-hub-not-a-real-key-at-all", fmt.Sprintf(anText, "openai/gpt-4o-mini", ""), 401, "authentication_error", "", ""},
			{"unknown model", h.key, fmt.Sprintf(anText, "no-such-model", ""), 404, "not_found_error", "", "no-such-model"},
			{"unknown model, stream", h.key, fmt.Sprintf(anText, "no-such-model", `,"stream":true`), 404, "not_found_error", "", "no-such-model"},
			{"missing max_tokens", h.key, `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_request_error", "", "max_tokens: Field required"},
			{"bad role", h.key, `{"model":"openai/gpt-4o-mini","max_tokens":5,"messages":[{"role":"system","content":"x"}]}`, 400, "invalid_request_error", "", "messages.0.role"},
			{"invalid JSON", h.key, `{"model":`, 400, "invalid_request_error", "", "JSON"},
			{"too large", h.key, fmt.Sprintf(anText, "openai/gpt-4o-mini", `,"metadata":{"user_id":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "request_too_large", "", ""},
			{"upstream 429", h.key, fmt.Sprintf(anText, "e429/gpt-4o-mini", ""), 429, "rate_limit_error", "3", ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp := h.post(tt.key, "/v1/messages", tt.body, false)
				e := anDecodeError(t, resp)
				if resp.StatusCode != tt.status || e.Error.Type != tt.typ || !strings.Contains(e.Error.Message, tt.message) {
					t.Fatalf("status %d, error %+v; want %d %s %q", resp.StatusCode, e, tt.status, tt.typ, tt.message)
				}
				if got := resp.Header.Get("Retry-After"); got != tt.retryAfter {
					t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
				}
				if e.RequestID == "" || e.RequestID != resp.Header.Get("Request-Id") {
					t.Fatalf("request_id %q, header %q", e.RequestID, resp.Header.Get("Request-Id"))
				}
				if strings.Contains(e.Error.Message, "sk-upstream-secret") {
					t.Fatal("provider secret leaked")
				}
			})
		}
	})

	t.Run("mid-stream failure", func(t *testing.T) {
		resp := h.post(h.key, "/v1/messages", fmt.Sprintf(anText, "ecut/gpt-4o-mini", `,"stream":true`), false)
		events := anSSE(t, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(events) < 3 {
			t.Fatalf("status %d, events %s", resp.StatusCode, anNames(events))
		}
		last := events[len(events)-1]
		if last.name != "error" || events[0].name != "message_start" {
			t.Fatalf("events %s", anNames(events))
		}
		for _, e := range events {
			if e.name == "message_stop" || e.name == "message_delta" {
				t.Fatalf("a failed stream must not end normally: %s", anNames(events))
			}
		}
		if typ := last.data["error"].(map[string]any)["type"]; typ != "api_error" {
			t.Fatalf("error event %s", last.raw)
		}
		c := h.call(resp.Header.Get("X-Request-Id"))
		if c.Status != store.CallError || c.CompletionTokens == 0 {
			t.Fatalf("record %+v", c)
		}
	})
}

func anDecodeError(t *testing.T, resp *http.Response) anError {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e anError
	if err := json.Unmarshal(b, &e); err != nil || e.Type != "error" || e.Error.Type == "" || e.Error.Message == "" {
		t.Fatalf("not an Anthropic error body (%v): %s", err, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return e
}
