package emulator_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

func TestChatNonStream(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Answer: "alpha beta gamma", Chunks: 7, Created: 1755133833})
	prompt := strings.Repeat("x", 40) // 40 bytes: 10 prompt tokens
	resp, body := chat(t, srv, userRequest("gpt-4o-mini", prompt, false))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if id := resp.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") || len(id) != 36 {
		t.Errorf("X-Request-Id = %q", id)
	}
	r := decodeJSON[chatResponse](t, body)
	if !strings.HasPrefix(r.ID, "chatcmpl-") || len(r.ID) != len("chatcmpl-")+29 {
		t.Errorf("id = %q", r.ID)
	}
	if r.Object != "chat.completion" || r.Model != "gpt-4o-mini" || r.Created != 1755133833 {
		t.Errorf("object, model, created = %q, %q, %d", r.Object, r.Model, r.Created)
	}
	if len(r.Choices) != 1 {
		t.Fatalf("%d choices", len(r.Choices))
	}
	c := r.Choices[0]
	want := "alpha beta gamma alpha beta gamma alpha"
	if c.Message.Role != "assistant" || c.Message.Content == nil || *c.Message.Content != want || c.FinishReason != "stop" {
		t.Errorf("message = %+v, finish %q; want content %q", c.Message, c.FinishReason, want)
	}
	if r.Usage != (usage{PromptTokens: 10, CompletionTokens: 7, TotalTokens: 17}) {
		t.Errorf("usage = %+v", r.Usage)
	}
}

func TestChatIsDeterministic(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Created: 1})
	req := userRequest("gpt-4o", "same question", false)
	_, a := chat(t, srv, req)
	_, b := chat(t, srv, req)
	ra, rb := decodeJSON[chatResponse](t, a), decodeJSON[chatResponse](t, b)
	if ra.ID == rb.ID {
		t.Errorf("two responses share the id %s", ra.ID)
	}
	if *ra.Choices[0].Message.Content != *rb.Choices[0].Message.Content || ra.Usage != rb.Usage {
		t.Errorf("answers differ:\n%s\n%s", a, b)
	}
}

func TestChatPromptTokensCountContentParts(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	body := `{"model":"gpt-4o","messages":[
		{"role":"system","content":"` + strings.Repeat("s", 20) + `"},
		{"role":"user","content":[{"type":"text","text":"` + strings.Repeat("u", 20) + `"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},
		{"role":"assistant","content":null,"tool_calls":[]}]}`
	_, got := chat(t, srv, body)
	if u := decodeJSON[chatResponse](t, got).Usage; u.PromptTokens != 10 {
		t.Errorf("prompt_tokens = %d, want 40 bytes / 4 = 10", u.PromptTokens)
	}
	_, got = chat(t, srv, userRequest("gpt-4o", "hi", false))
	if u := decodeJSON[chatResponse](t, got).Usage; u.PromptTokens != 1 {
		t.Errorf("prompt_tokens = %d, want the minimum 1", u.PromptTokens)
	}
}

func TestChatMaxCompletionTokensTruncates(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 10})
	_, got := chat(t, srv, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":3}`)
	r := decodeJSON[chatResponse](t, got)
	if r.Choices[0].FinishReason != "length" || r.Usage.CompletionTokens != 3 || len(strings.Fields(*r.Choices[0].Message.Content)) != 3 {
		t.Errorf("finish %q, usage %+v, content %q", r.Choices[0].FinishReason, r.Usage, *r.Choices[0].Message.Content)
	}
}

func TestChatToolCalls(t *testing.T) {
	weather := `{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city","unit"]}}}`
	lookup := `{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"n":{"type":["integer","null"]},"all":{"type":"boolean"},"tags":{"type":"array"},"opts":{"type":"object"}}}}}`
	bare := `{"type":"function","function":{"name":"ping"}}`
	user := `{"role":"user","content":"Weather in Paris?"}`
	toolResult := `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}`
	tests := []struct {
		name     string
		messages string
		tools    string
		choice   string
		wantTool string // "" for a text answer
		wantArgs string
	}{
		{"user turn calls the first tool", user, weather + "," + lookup, "", "get_weather", `{"city":"example","unit":"celsius"}`},
		{"tool_choice auto", user, weather, `"auto"`, "get_weather", `{"city":"example","unit":"celsius"}`},
		{"named tool_choice", user, weather + "," + lookup, `{"type":"function","function":{"name":"lookup"}}`, "lookup", `{"all":true,"n":1,"opts":{},"tags":[]}`},
		{"tool without parameters", user, bare, "", "ping", `{}`},
		{"tool_choice none answers in text", user, weather, `"none"`, "", ""},
		{"tool result answers in text", user + "," + toolResult, weather, "", "", ""},
		{"no tools answers in text", user, "", "", "", ""},
	}
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"gpt-4o-2024-08-06","messages":[` + tt.messages + `]`
			if tt.tools != "" {
				body += `,"tools":[` + tt.tools + `]`
			}
			if tt.choice != "" {
				body += `,"tool_choice":` + tt.choice
			}
			body += `}`
			resp, got := chat(t, srv, body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			r := decodeJSON[chatResponse](t, got)
			msg := r.Choices[0].Message
			if tt.wantTool == "" {
				if msg.Content == nil || *msg.Content == "" || len(msg.ToolCalls) != 0 || r.Choices[0].FinishReason != "stop" {
					t.Errorf("want a text answer, got:\n%s", got)
				}
				return
			}
			if msg.Content != nil || len(msg.ToolCalls) != 1 || r.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("want one tool call with content null, got:\n%s", got)
			}
			call := msg.ToolCalls[0]
			if !strings.HasPrefix(call.ID, "call_") || len(call.ID) != len("call_")+24 || call.Type != "function" {
				t.Errorf("call id %q, type %q", call.ID, call.Type)
			}
			if call.Function.Name != tt.wantTool || call.Function.Arguments != tt.wantArgs {
				t.Errorf("call %s(%s), want %s(%s)", call.Function.Name, call.Function.Arguments, tt.wantTool, tt.wantArgs)
			}
			if !json.Valid([]byte(call.Function.Arguments)) {
				t.Errorf("arguments are not JSON: %s", call.Function.Arguments)
			}
		})
	}
}

func TestChatValidation(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantParam string
		wantCode  string
	}{
		{"bad json", `{"model":`, "", ""},
		{"not an object", `[1,2]`, "", ""},
		{"wrong type", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":"yes"}`, "stream", "invalid_type"},
		{"missing model", `{"messages":[{"role":"user","content":"hi"}]}`, "", ""},
		{"missing messages", `{"model":"gpt-4o"}`, "messages", "missing_required_parameter"},
		{"empty messages", `{"model":"gpt-4o","messages":[]}`, "messages", "empty_array"},
		{"stream_options without stream", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "stream_options", ""},
		{"max_tokens below 1", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "max_tokens", "integer_below_min_value"},
		{"max_tokens on gpt-5", `{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":10}`, "max_tokens", "unsupported_parameter"},
	}
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := chat(t, srv, tt.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", resp.StatusCode, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			e := decodeJSON[apiErrorBody](t, got)
			if e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Errorf("error = %+v", e.Error)
			}
			if got := deref(e.Error.Param); got != tt.wantParam {
				t.Errorf("param = %q, want %q", got, tt.wantParam)
			}
			if got := deref(e.Error.Code); got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestUnknownModel(t *testing.T) {
	fixture := decodeJSON[apiErrorBody](t, testdata(t, "error-404-model-not-found.response.json"))
	tests := []struct {
		name  string
		opts  emulator.Options
		model string
		want  int
	}{
		{"default rejects unknown prefix", emulator.Options{}, "unknown-model-7", http.StatusNotFound},
		{"default accepts anything else", emulator.Options{}, "my-custom-model", http.StatusOK},
		{"configured list rejects others", emulator.Options{Models: []string{"gpt-4o"}}, "gpt-4o-mini", http.StatusNotFound},
		{"configured list accepts its own", emulator.Options{Models: []string{"gpt-4o"}}, "gpt-4o", http.StatusOK},
		{"model with quotes is escaped", emulator.Options{}, "unknown \"quoted\"", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			resp, got := chat(t, srv, userRequest(tt.model, "hi", false))
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, got)
			}
			if tt.want != http.StatusNotFound {
				return
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if !strings.HasPrefix(string(got), "{\n    \"error\": {\n") || !strings.HasSuffix(string(got), "}\n") {
				t.Errorf("not 4-space pretty with a trailing newline:\n%s", got)
			}
			e := decodeJSON[apiErrorBody](t, got)
			wantMsg := strings.Replace(fixture.Error.Message, "gpt-4.1-nano-wrong", tt.model, 1)
			if e.Error.Message != wantMsg || e.Error.Type != fixture.Error.Type || deref(e.Error.Code) != "model_not_found" || e.Error.Param != nil {
				t.Errorf("error = %+v, want message %q", e.Error, wantMsg)
			}
		})
	}
}

func TestInvalidURL(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/v1/chat/completions"},
		{http.MethodPost, "/v1/completions"},
		{http.MethodGet, "/"},
	} {
		resp, got := send(t, srv, tt.method, tt.path, nil)
		e := decodeJSON[apiErrorBody](t, got)
		if resp.StatusCode != http.StatusNotFound || e.Error.Message != "Invalid URL ("+tt.method+" "+tt.path+")" {
			t.Errorf("%s %s: status %d, %s", tt.method, tt.path, resp.StatusCode, got)
		}
	}
}
