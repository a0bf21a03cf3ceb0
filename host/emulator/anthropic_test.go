package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

// anthropicAuth are the headers of an authorized Anthropic request, without
// the bearer token the helpers send by default.
var anthropicAuth = []string{"Authorization", "", "X-Api-Key", testKey, "Anthropic-Version", "2023-06-01"}

func anthropic(t testing.TB, srv *httptest.Server, body []byte, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, srv, http.MethodPost, "/v1/messages", body, append(slices.Clone(anthropicAuth), headers...)...)
}

// editJSON decodes a fixture request, applies edit and encodes it again.
func editJSON(t testing.TB, data []byte, edit func(map[string]any)) []byte {
	t.Helper()
	m := decodeJSON[map[string]any](t, data)
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnthropicMessages(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	t.Run("tool use", func(t *testing.T) {
		resp, got := anthropic(t, srv, testdata(t, "anthropic/messages.request.json"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		for _, h := range []string{"Request-Id", "Anthropic-Organization-Id", "Anthropic-Ratelimit-Requests-Limit", "Anthropic-Ratelimit-Input-Tokens-Remaining", "Anthropic-Ratelimit-Output-Tokens-Reset"} {
			if resp.Header.Get(h) == "" {
				t.Errorf("header %s missing", h)
			}
		}
		comparePaths(t, "messages-tool-use", got, testdata(t, "anthropic/messages-tool-use.response.json"), "usage.inference_geo")
		if id := str(t, got, "id"); !strings.HasPrefix(id, "msg_01") || len(id) != 28 {
			t.Errorf("id = %q", id)
		}
		if str(t, got, "content.0.type") != "text" || str(t, got, "content.1.type") != "tool_use" || str(t, got, "stop_reason") != "tool_use" {
			t.Errorf("content/stop_reason: %s", got)
		}
		if id := str(t, got, "content.1.id"); !strings.HasPrefix(id, "toolu_01") || len(id) != 30 {
			t.Errorf("tool_use id = %q", id)
		}
		input, _ := json.Marshal(field(t, got, "content.1.input"))
		if string(input) != `{"city":"example","unit":"celsius"}` || str(t, got, "content.1.name") != "get_weather" {
			t.Errorf("tool_use = %s", got)
		}
		if field(t, got, "stop_sequence") != nil || str(t, got, "model") != "claude-sonnet-4-20250514" {
			t.Errorf("stop_sequence/model: %s", got)
		}
		// 5 preamble words and 5 argument fragments.
		if num(t, got, "usage.output_tokens") != 10 {
			t.Errorf("output_tokens = %d", num(t, got, "usage.output_tokens"))
		}
	})
	t.Run("tool result", func(t *testing.T) {
		resp, got := anthropic(t, srv, testdata(t, "anthropic/messages-tool-result.request.json"))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		comparePaths(t, "messages-text", got, testdata(t, "anthropic/messages-text.response.json"))
		if str(t, got, "stop_reason") != "end_turn" || str(t, got, "content.0.text") != "Hello from the AIGNE Hub" || len(field(t, got, "content").([]any)) != 1 {
			t.Errorf("answer: %s", got)
		}
		if num(t, got, "usage.output_tokens") != 5 || num(t, got, "usage.cache_read_input_tokens") != 0 {
			t.Errorf("usage: %s", got)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		body := editJSON(t, testdata(t, "anthropic/messages-stop-sequence.request.json"), func(m map[string]any) { m["max_tokens"] = 2 })
		_, got := anthropic(t, srv, body)
		comparePaths(t, "messages-max-tokens", got, testdata(t, "anthropic/messages-max-tokens.response.json"), "usage.cache_creation")
		if str(t, got, "stop_reason") != "max_tokens" || str(t, got, "content.0.text") != "Hello from" || num(t, got, "usage.output_tokens") != 2 {
			t.Errorf("answer: %s", got)
		}
	})
	t.Run("prompt tokens", func(t *testing.T) {
		body := `{"model":"m","max_tokens":10,"system":[{"type":"text","text":"` + strings.Repeat("s", 40) + `"}],"messages":[{"role":"user","content":"` + strings.Repeat("u", 40) + `"}]}`
		_, got := anthropic(t, srv, []byte(body))
		if n := num(t, got, "usage.input_tokens"); n != 20 {
			t.Errorf("input_tokens = %d, want 20", n)
		}
	})
}

func TestAnthropicStopSequence(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Answer: "<answer>51</answer> because 17 times 3 is 51"})
	_, got := anthropic(t, srv, testdata(t, "anthropic/messages-stop-sequence.request.json"))
	want := testdata(t, "anthropic/messages-stop-sequence.response.json")
	comparePaths(t, "messages-stop-sequence", got, want, "usage.cache_creation")
	for _, f := range []string{"stop_reason", "stop_sequence", "content.0.text", "type", "role"} {
		if str(t, got, f) != str(t, want, f) {
			t.Errorf("%s = %q, fixture %q", f, str(t, got, f), str(t, want, f))
		}
	}
	// The stream stops at the same place.
	body := editJSON(t, testdata(t, "anthropic/messages-stop-sequence.request.json"), func(m map[string]any) { m["stream"] = true })
	_, stream := anthropic(t, srv, body)
	var text strings.Builder
	for _, ev := range anthropicEvents(t, stream) {
		text.WriteString(str(t, ev.data, "delta.text"))
		if ev.name == "message_delta" && (str(t, ev.data, "delta.stop_reason") != "stop_sequence" || str(t, ev.data, "delta.stop_sequence") != "</answer>") {
			t.Errorf("message_delta = %s", ev.data)
		}
	}
	if text.String() != "<answer>51" {
		t.Errorf("streamed text %q", text.String())
	}
}

func TestAnthropicStreamText(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	resp, got := anthropic(t, srv, testdata(t, "anthropic/messages-stream-text.request.json"), emulator.HeaderChunks, "3")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("Content-Type %q, Cache-Control %q", ct, resp.Header.Get("Cache-Control"))
	}
	evs, want := anthropicEvents(t, got), fixtureEvents(t, "anthropic/messages-stream-text.response.sse")
	if !slices.Equal(eventNames(evs), eventNames(want)) {
		t.Fatalf("events\n%v\nfixture\n%v", eventNames(evs), eventNames(want))
	}
	var text strings.Builder
	for i := range evs {
		// Older streams, as this fixture, send only output_tokens in
		// message_delta; current ones repeat the input counts.
		comparePaths(t, "event "+strconv.Itoa(i)+" "+evs[i].name, evs[i].data, want[i].data, "message.usage.cache_creation", "usage.input_tokens", "usage.cache_")
		text.WriteString(str(t, evs[i].data, "delta.text"))
	}
	if text.String() != "Hello from the" {
		t.Errorf("text %q", text.String())
	}
	if string(evs[2].data) != `{"type": "ping"}` {
		t.Errorf("ping = %s", evs[2].data)
	}
	last := evs[len(evs)-2].data
	if str(t, last, "delta.stop_reason") != "end_turn" || num(t, last, "usage.output_tokens") != 3 || num(t, evs[0].data, "message.usage.output_tokens") != 1 {
		t.Errorf("message_delta %s", last)
	}
}

func TestAnthropicStreamToolUse(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	_, got := anthropic(t, srv, testdata(t, "anthropic/messages-stream-tool-use.request.json"), emulator.HeaderChunks, "2")
	evs := anthropicEvents(t, got)
	wantNames := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_stop",
		"content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if !slices.Equal(eventNames(evs), wantNames) {
		t.Fatalf("events %v", eventNames(evs))
	}
	// Every event has the structure of the fixture's event of its kind.
	fixture := fixtureEvents(t, "anthropic/messages-stream-tool-use.response.sse")
	kind := func(ev sseEvent) string {
		return ev.name + "/" + str(t, ev.data, "content_block.type") + str(t, ev.data, "delta.type")
	}
	for i, ev := range evs {
		j := slices.IndexFunc(fixture, func(f sseEvent) bool { return kind(f) == kind(ev) })
		if j < 0 {
			t.Errorf("event %d %s has no counterpart in the fixture", i, kind(ev))
			continue
		}
		comparePaths(t, "event "+strconv.Itoa(i)+" "+kind(ev), ev.data, fixture[j].data, "message.usage.inference_geo")
	}
	var args strings.Builder
	for _, ev := range evs[7:10] {
		if num(t, ev.data, "index") != 1 {
			t.Errorf("tool delta index: %s", ev.data)
		}
		args.WriteString(str(t, ev.data, "delta.partial_json"))
	}
	if str(t, evs[7].data, "delta.partial_json") != "" || args.String() != `{"city":"example","unit":"celsius"}` {
		t.Errorf("partial_json fragments make %q", args.String())
	}
	if str(t, evs[6].data, "content_block.name") != "get_weather" || !strings.HasPrefix(str(t, evs[6].data, "content_block.id"), "toolu_01") {
		t.Errorf("tool block start %s", evs[6].data)
	}
	if md := evs[11].data; str(t, md, "delta.stop_reason") != "tool_use" || num(t, md, "usage.output_tokens") != 4 {
		t.Errorf("message_delta %s", md)
	}
}

func TestAnthropicStreamFailAfter(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	body := testdata(t, "anthropic/messages-stream-text.request.json")
	fixture := fixtureEvents(t, "anthropic/messages-stream-error.response.sse")
	for _, tt := range []struct {
		failAfter string
		want      []string
	}{
		{"4", eventNames(fixture)},
		{"0", []string{"error"}},
		{"100", []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "error"}},
	} {
		t.Run(tt.failAfter, func(t *testing.T) {
			resp, err := sendRaw(srv, http.MethodPost, "/v1/messages", body, append(slices.Clone(anthropicAuth), emulator.HeaderChunks, "3", emulator.HeaderFailAfter, tt.failAfter)...)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(t, resp) // the body ends cleanly after the error
			evs := anthropicEvents(t, got)
			if !slices.Equal(eventNames(evs), tt.want) {
				t.Fatalf("events %v, want %v", eventNames(evs), tt.want)
			}
			last, want := evs[len(evs)-1].data, fixture[len(fixture)-1].data
			comparePaths(t, "error event", last, want)
			if str(t, last, "error.type") != "overloaded_error" || str(t, last, "error.message") != "Overloaded" || field(t, last, "error.details") != nil {
				t.Errorf("error event %s", last)
			}
			if !strings.HasPrefix(str(t, last, "request_id"), "req_011C") {
				t.Errorf("request_id in %s", last)
			}
		})
	}
}

// anthropicErrorCheck checks an Anthropic error response: status, shape,
// type, request id in body and header, x-should-retry.
func anthropicErrorCheck(t testing.TB, resp *http.Response, got []byte, status int, typ string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, got)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	comparePaths(t, "error", got, testdata(t, "anthropic/error-500-api-error.response.json"))
	if str(t, got, "type") != "error" || str(t, got, "error.type") != typ {
		t.Errorf("error = %s, want type %s", got, typ)
	}
	id := str(t, got, "request_id")
	if !strings.HasPrefix(id, "req_011C") || resp.Header.Get("Request-Id") != id {
		t.Errorf("request_id %q, header %q", id, resp.Header.Get("Request-Id"))
	}
	retry := "false"
	if status == 429 || status >= 500 {
		retry = "true"
	}
	if resp.Header.Get("X-Should-Retry") != retry {
		t.Errorf("X-Should-Retry = %q", resp.Header.Get("X-Should-Retry"))
	}
	if resp.Header.Get("X-Request-Id") != "" {
		t.Errorf("an Anthropic error carries OpenAI's X-Request-Id")
	}
}

func TestAnthropicErrorFixtures(t *testing.T) {
	_, srv := newServer(t, emulator.Options{APIKey: testKey, Models: []string{"claude-sonnet-4-20250514"}})
	req := testdata(t, "anthropic/messages-stop-sequence.request.json")
	for _, tt := range []struct {
		fixture    string
		status     int
		body       []byte
		headers    []string
		retryAfter string
	}{
		{"error-400-invalid-request", 400, editJSON(t, req, func(m map[string]any) { delete(m, "max_tokens") }), nil, ""},
		{"error-401-authentication", 401, req, []string{"X-Api-Key", "sk-ant-wrong"}, ""},
		{"error-403-permission", 403, req, []string{emulator.HeaderStatus, "403"}, ""},
		{"error-404-not-found", 404, editJSON(t, req, func(m map[string]any) { m["model"] = "claude-sonnet-9" }), nil, ""},
		{"error-429-rate-limit", 429, req, []string{emulator.HeaderStatus, "429", emulator.HeaderRetryAfter, "15"}, "15"},
		{"error-500-api-error", 500, req, []string{emulator.HeaderStatus, "500"}, ""},
		{"error-529-overloaded", 529, req, []string{emulator.HeaderStatus, "529"}, ""},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			resp, got := anthropic(t, srv, tt.body, tt.headers...)
			want := testdata(t, "anthropic/"+tt.fixture+".response.json")
			anthropicErrorCheck(t, resp, got, tt.status, str(t, want, "error.type"))
			if str(t, got, "error.message") != str(t, want, "error.message") {
				t.Errorf("message %q, fixture %q", str(t, got, "error.message"), str(t, want, "error.message"))
			}
			if ra := resp.Header.Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", ra, tt.retryAfter)
			}
		})
	}
}

func TestAnthropicForcedStatus(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	req := testdata(t, "anthropic/messages-stop-sequence.request.json")
	for _, tt := range []struct {
		status  int
		typ     string
		headers []string
		message string
	}{
		{400, "invalid_request_error", nil, "prompt is too long"},
		{401, "authentication_error", nil, "invalid x-api-key"},
		{402, "billing_error", nil, "credit balance"},
		{404, "not_found_error", nil, "model: claude-sonnet-4-20250514"},
		{413, "request_too_large", nil, ""},
		{418, "invalid_request_error", nil, "HTTP 418"},
		{429, "rate_limit_error", []string{emulator.HeaderQuota, "1"}, "usage limits"},
		{503, "api_error", nil, ""},
		{504, "timeout_error", nil, ""},
	} {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			resp, got := anthropic(t, srv, req, append([]string{emulator.HeaderStatus, strconv.Itoa(tt.status)}, tt.headers...)...)
			anthropicErrorCheck(t, resp, got, tt.status, tt.typ)
			if !strings.Contains(str(t, got, "error.message"), tt.message) {
				t.Errorf("message %q lacks %q", str(t, got, "error.message"), tt.message)
			}
		})
	}
}

func TestAnthropicAuth(t *testing.T) {
	req := testdata(t, "anthropic/messages-stop-sequence.request.json")
	for _, tt := range []struct {
		name    string
		opts    emulator.Options
		headers []string
		status  int
		typ     string
		message string
	}{
		{"any key", emulator.Options{}, nil, 200, "", ""},
		{"configured key", emulator.Options{APIKey: testKey}, nil, 200, "", ""},
		{"no key", emulator.Options{}, []string{"X-Api-Key", ""}, 401, "authentication_error", "x-api-key header is required"},
		{"bearer instead", emulator.Options{}, []string{"X-Api-Key", "", "Authorization", "Bearer " + testKey}, 401, "authentication_error", "x-api-key header is required"},
		{"wrong key", emulator.Options{APIKey: "sk-right"}, nil, 401, "authentication_error", "invalid x-api-key"},
		{"no version", emulator.Options{}, []string{"Anthropic-Version", ""}, 400, "invalid_request_error", "anthropic-version: header is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			resp, got := anthropic(t, srv, req, tt.headers...)
			if tt.status == 200 {
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, got)
				}
				return
			}
			anthropicErrorCheck(t, resp, got, tt.status, tt.typ)
			if str(t, got, "error.message") != tt.message {
				t.Errorf("message %q", str(t, got, "error.message"))
			}
		})
	}
}

func TestAnthropicValidation(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range []struct{ name, body, message string }{
		{"invalid JSON", `{"model":`, "valid JSON"},
		{"no model", `{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, "model: Field required"},
		{"no messages", `{"model":"m","max_tokens":5}`, "messages: Field required"},
		{"empty messages", `{"model":"m","max_tokens":5,"messages":[]}`, "at least one message"},
		{"zero max_tokens", `{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}`, "greater than or equal to 1"},
		{"max_tokens string", `{"model":"m","max_tokens":"5","messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		{"content number", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":5}]}`, "messages"},
		{"small budget", `{"model":"m","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"hi"}]}`, "budget_tokens"},
		{"budget over max", `{"model":"m","max_tokens":1500,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"user","content":"hi"}]}`, "must be greater than `thinking.budget_tokens`"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := anthropic(t, srv, []byte(tt.body))
			anthropicErrorCheck(t, resp, got, 400, "invalid_request_error")
			if !strings.Contains(str(t, got, "error.message"), tt.message) {
				t.Errorf("message %q lacks %q", str(t, got, "error.message"), tt.message)
			}
		})
	}
	resp, got := anthropic(t, srv, []byte(`{"model":"unknown-model","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`))
	anthropicErrorCheck(t, resp, got, 404, "not_found_error")
}

func TestAnthropicThinking(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 3})
	body := `{"model":"claude-sonnet-4-5","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"hi"}]}`
	_, got := anthropic(t, srv, []byte(body))
	if str(t, got, "content.0.type") != "thinking" || str(t, got, "content.0.thinking") != "The user asks" || str(t, got, "content.0.signature") == "" ||
		str(t, got, "content.1.type") != "text" || num(t, got, "usage.output_tokens") != 6 {
		t.Errorf("answer %s", got)
	}
	_, stream := anthropic(t, srv, []byte(strings.Replace(body, `"max_tokens"`, `"stream":true,"max_tokens"`, 1)))
	evs := anthropicEvents(t, stream)
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, ev.name+":"+str(t, ev.data, "content_block.type")+str(t, ev.data, "delta.type"))
	}
	want := []string{"message_start:", "content_block_start:thinking", "ping:", "content_block_delta:thinking_delta", "content_block_delta:thinking_delta", "content_block_delta:thinking_delta",
		"content_block_delta:signature_delta", "content_block_stop:", "content_block_start:text", "content_block_delta:text_delta", "content_block_delta:text_delta", "content_block_delta:text_delta",
		"content_block_stop:", "message_delta:", "message_stop:"}
	if !slices.Equal(kinds, want) {
		t.Errorf("events\n%v\nwant\n%v", kinds, want)
	}
	if num(t, evs[8].data, "index") != 1 {
		t.Errorf("text block index: %s", evs[8].data)
	}
}

func TestAnthropicToolChoice(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	tools := `"tools":[{"name":"first","input_schema":{"type":"object"}},{"name":"second","input_schema":{"type":"object","properties":{"n":{"type":"integer"}}}}]`
	for _, tt := range []struct{ choice, wantTool string }{
		{`{"type":"auto"}`, "first"},
		{`{"type":"any"}`, "first"},
		{`{"type":"tool","name":"second"}`, "second"},
		{`{"type":"none"}`, ""},
	} {
		body := `{"model":"m","max_tokens":100,` + tools + `,"tool_choice":` + tt.choice + `,"messages":[{"role":"user","content":"hi"}]}`
		_, got := anthropic(t, srv, []byte(body))
		name := str(t, got, "content.1.name")
		if name != tt.wantTool {
			t.Errorf("tool_choice %s called %q: %s", tt.choice, name, got)
		}
		if tt.wantTool == "second" {
			if input, _ := json.Marshal(field(t, got, "content.1.input")); string(input) != `{"n":1}` {
				t.Errorf("input %s", input)
			}
		}
	}
}

func TestAnthropicCached(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Cached: 7})
	req := testdata(t, "anthropic/messages-stop-sequence.request.json")
	_, plain := anthropic(t, srv, req, emulator.HeaderCached, "0")
	_, got := anthropic(t, srv, req, emulator.HeaderCached, "100")
	if num(t, got, "usage.cache_read_input_tokens") != 100 || num(t, got, "usage.input_tokens") != num(t, plain, "usage.input_tokens") {
		t.Errorf("cached usage %s, uncached %s", got, plain)
	}
	_, opt := anthropic(t, srv, req)
	if num(t, opt, "usage.cache_read_input_tokens") != 7 {
		t.Errorf("Options.Cached: %s", opt)
	}
	_, stream := anthropic(t, srv, editJSON(t, req, func(m map[string]any) { m["stream"] = true }), emulator.HeaderCached, "100")
	evs := anthropicEvents(t, stream)
	if num(t, evs[0].data, "message.usage.cache_read_input_tokens") != 100 || num(t, evs[len(evs)-2].data, "usage.cache_read_input_tokens") != 100 {
		t.Errorf("stream usage %s / %s", evs[0].data, evs[len(evs)-2].data)
	}
}
