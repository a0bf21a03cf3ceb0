package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

// The OpenAI-compatible flavours of the chat endpoint: DeepSeek's and
// OpenRouter's reasoning text, DeepSeek's cache counts, cached tokens.

func reasoningRequest(model string, stream bool, extra string) string {
	s := `{"model":"` + model + `","messages":[{"role":"user","content":"` + strings.Repeat("x", 40) + `"}]`
	if stream {
		s += `,"stream":true,"stream_options":{"include_usage":true}`
	}
	return s + extra + "}"
}

func TestDeepSeekReasoner(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 3})
	_, got := chat(t, srv, reasoningRequest("deepseek-reasoner", false, ""), emulator.HeaderCached, "4")
	m := "choices.0.message."
	if str(t, got, m+"reasoning_content") != "The user asks" || str(t, got, m+"content") != "Hello from the" || field(t, got, m+"reasoning") != nil {
		t.Errorf("message %s", got)
	}
	u := "usage."
	if num(t, got, u+"completion_tokens") != 6 || num(t, got, u+"completion_tokens_details.reasoning_tokens") != 3 ||
		num(t, got, u+"prompt_tokens") != 14 || num(t, got, u+"prompt_tokens_details.cached_tokens") != 4 ||
		num(t, got, u+"prompt_cache_hit_tokens") != 4 || num(t, got, u+"prompt_cache_miss_tokens") != 10 || num(t, got, u+"total_tokens") != 20 {
		t.Errorf("usage %s", got)
	}

	_, stream := chat(t, srv, reasoningRequest("deepseek-reasoner", true, ""))
	events := sseEvents(t, stream)
	if len(events) != 9 { // role, 3 reasoning, 3 content, finish, usage
		t.Fatalf("%d events:\n%s", len(events), stream)
	}
	var reasoning, content strings.Builder
	for i, ev := range events[1:7] {
		d := decodeJSON[map[string]any](t, []byte(ev))["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)
		if i < 3 {
			if _, ok := d["content"]; !ok || d["content"] != nil {
				t.Errorf("reasoning delta %s", ev)
			}
			reasoning.WriteString(d["reasoning_content"].(string))
		} else {
			content.WriteString(d["content"].(string))
		}
	}
	if reasoning.String() != "The user asks" || content.String() != "Hello from the" {
		t.Errorf("reasoning %q, content %q", reasoning.String(), content.String())
	}
	last := []byte(events[8])
	if num(t, last, "usage.completion_tokens_details.reasoning_tokens") != 3 || num(t, last, "usage.prompt_cache_miss_tokens") != 10 {
		t.Errorf("usage chunk %s", last)
	}
}

func TestOpenRouterReasoning(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 2, ReasoningField: "reasoning"})
	_, got := chat(t, srv, reasoningRequest("deepseek/deepseek-r1", false, `,"reasoning_effort":"high"`))
	if str(t, got, "choices.0.message.reasoning") != "The user" || field(t, got, "choices.0.message.reasoning_content") != nil || field(t, got, "usage.prompt_cache_hit_tokens") != nil {
		t.Errorf("message %s", got)
	}
	_, stream := chat(t, srv, reasoningRequest("qwen/qwen3-32b", true, `,"reasoning_effort":"low"`))
	if !strings.Contains(string(stream), `"delta":{"role":"assistant","content":"","reasoning":"The"}`) {
		t.Errorf("stream:\n%s", stream)
	}
	// The header overrides the option.
	_, got = chat(t, srv, reasoningRequest("deepseek-reasoner", false, ""), emulator.HeaderReasoningField, "reasoning_content")
	if str(t, got, "choices.0.message.reasoning_content") != "The user" {
		t.Errorf("header override: %s", got)
	}
}

func TestReasoningEffortWithoutText(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range []struct{ model, extra string }{
		{"gpt-5-mini", `,"reasoning_effort":"low"`}, // OpenAI keeps its reasoning hidden
		{"o3", `,"reasoning_effort":"high"`},
		{"qwen/qwen3-32b", `,"reasoning_effort":"none"`},
		{"gpt-4o", ``},
	} {
		_, got := chat(t, srv, reasoningRequest(tt.model, false, tt.extra))
		if field(t, got, "choices.0.message.reasoning_content") != nil || num(t, got, "usage.completion_tokens_details.reasoning_tokens") != 0 {
			t.Errorf("%s %s: %s", tt.model, tt.extra, got)
		}
	}
}

func TestReasoningWithToolCall(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 2})
	body := reasoningRequest("deepseek-reasoner", false, `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]`)
	_, got := chat(t, srv, body)
	var r chatResponse
	if err := json.Unmarshal(got, &r); err != nil {
		t.Fatal(err)
	}
	if str(t, got, "choices.0.message.reasoning_content") != "The user" || r.Choices[0].Message.Content != nil || len(r.Choices[0].Message.ToolCalls) != 1 || r.Usage.CompletionTokens != 4 {
		t.Errorf("answer %s", got)
	}
}

func TestOpenAICached(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Cached: 30})
	_, got := chat(t, srv, reasoningRequest("gpt-4o", false, ""))
	if num(t, got, "usage.prompt_tokens") != 40 || num(t, got, "usage.prompt_tokens_details.cached_tokens") != 30 || field(t, got, "usage.prompt_cache_hit_tokens") != nil {
		t.Errorf("usage %s", got)
	}
	_, stream := chat(t, srv, reasoningRequest("gpt-4o", true, ""), emulator.HeaderCached, "0")
	events := sseEvents(t, stream)
	last := []byte(events[len(events)-1])
	if num(t, last, "usage.prompt_tokens") != 10 || num(t, last, "usage.prompt_tokens_details.cached_tokens") != 0 {
		t.Errorf("usage chunk %s", last)
	}
}

func TestOpenAICompatibleBasePaths(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range []struct {
		method, path string
		body         string
		status       int
	}{
		{"POST", "/api/v1/chat/completions", userRequest("openai/gpt-4o", "hi", false), 200},
		{"POST", "/api/v3/chat/completions", userRequest("doubao-seed-1-6", "hi", false), 200},
		{"POST", "/api/v3/embeddings", `{"model":"doubao-embedding","input":"x"}`, 200},
		{"POST", "/api/v3/images/generations", `{"model":"doubao-seedream-4-0","prompt":"x"}`, 200},
		{"GET", "/api/v1/models", "", 200},
		{"GET", "/api/v1/models/gpt-4o", "", 200},
		{"POST", "/chat/completions", userRequest("deepseek-chat", "hi", false), 200},
		{"POST", "/api/v1/nothing", "{}", 404},
	} {
		var body []byte
		if tt.body != "" {
			body = []byte(tt.body)
		}
		resp, got := send(t, srv, tt.method, tt.path, body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, got)
		}
	}
	_, got := send(t, srv, "GET", "/api/v1/models/gpt-4o", nil)
	if str(t, got, "id") != "gpt-4o" {
		t.Errorf("model: %s", got)
	}
	// The aliases are OpenAI endpoints: a bearer key is required.
	resp, _ := send(t, srv, "POST", "/api/v3/chat/completions", []byte(userRequest("m", "hi", false)), "Authorization", "")
	if resp.StatusCode != 401 {
		t.Errorf("no key: %d", resp.StatusCode)
	}
}
