package aigne

import (
	"reflect"
	"strings"
	"testing"
)

// The canonical answers under testdata/fixtures/openai are copies of
// shared/fixtures/openai; the AIGNE answers under testdata/expected are
// written by hand from what the client reads (see each case).
func TestChatOutputGolden(t *testing.T) {
	for _, tt := range []struct{ fixture, want string }{
		// ChatModelOutput (chat-model.js, lines 411–419): text, usage as
		// @aigne/openai fills it (inputTokens = prompt_tokens,
		// cacheReadInputTokens = cached_tokens: openai-chat-model.js,
		// lines 287–301), model.
		{"chat-completions.text.response.json", "chat-completions.text.aigne.json"},
		// toolCalls with arguments as objects (chatModelOutputToolCallSchema,
		// chat-model.js lines 394–402: arguments z.record); no text.
		{"chat-completions.tool-calls.response.json", "chat-completions.tool-calls.aigne.json"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ChatOutput(read(t, "fixtures/openai/"+tt.fixture), OutputOptions{})
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, tt.want, got, read(t, "expected/"+tt.want))
		})
	}
}

func TestLegacyOutputGolden(t *testing.T) {
	// processChatCompletion's JSON answer (ai-routes.ts): role, text,
	// content, toolCalls with string arguments.
	for _, tt := range []struct{ fixture, want string }{
		{"chat-completions.text.response.json", "chat-completions.text.legacy.json"},
		{"chat-completions.tool-calls.response.json", "chat-completions.tool-calls.legacy.json"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := LegacyOutput(read(t, "fixtures/openai/"+tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, tt.want, got, read(t, "expected/"+tt.want))
		})
	}
}

func TestChatOutputOptions(t *testing.T) {
	completion := func(content string) []byte {
		return []byte(`{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":` +
			content + `,"reasoning_content":"thinking"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":4,"cache_write_tokens":2}}}`)
	}
	credits := int64(1_234_500)
	for _, tt := range []struct {
		name    string
		content string
		opts    OutputOptions
		want    string
	}{
		{"json mode parses an object", `"{\"a\": \"b\"}"`, OutputOptions{JSON: true},
			`{"thoughts":"thinking","json":{"a":"b"},"usage":{"inputTokens":10,"outputTokens":3,"cacheCreationInputTokens":2,"cacheReadInputTokens":4},"model":"m"}`},
		{"json mode keeps non-objects as text", `"[1,2]"`, OutputOptions{JSON: true},
			`{"text":"[1,2]","thoughts":"thinking","usage":{"inputTokens":10,"outputTokens":3,"cacheCreationInputTokens":2,"cacheReadInputTokens":4},"model":"m"}`},
		{"credits in credits", `"hi"`, OutputOptions{Credits: &credits},
			`{"text":"hi","thoughts":"thinking","usage":{"inputTokens":10,"outputTokens":3,"cacheCreationInputTokens":2,"cacheReadInputTokens":4,"aigneHubCredits":1.2345},"model":"m"}`},
		{"null content", `null`, OutputOptions{},
			`{"thoughts":"thinking","usage":{"inputTokens":10,"outputTokens":3,"cacheCreationInputTokens":2,"cacheReadInputTokens":4},"model":"m"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChatOutput(completion(tt.content), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, tt.name, got, []byte(tt.want))
		})
	}
	if _, err := ChatOutput([]byte(`[]`), OutputOptions{}); err == nil {
		t.Fatal("a non-object answer converted")
	}
	// No usage reported: no usage member (the client's postprocess
	// skips it).
	got, err := ChatOutput([]byte(`{"model":"m","choices":[{"index":0,"message":{"content":"x"}}]}`), OutputOptions{})
	if err != nil || strings.Contains(string(got), "usage") {
		t.Fatalf("%v %s", err, got)
	}
}

func TestToolArguments(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{``, `{}`},
		{`  `, `{}`},
		{`{"a": 1, "b": [true, null]}`, `{"a":1,"b":[true,null]}`},
		{`{"a":`, `{"_raw":"{\"a\":"}`},
		{`[1]`, `{"_raw":"[1]"}`},
		{`"x"`, `{"_raw":"\"x\""}`},
	} {
		if got := string(ToolArguments(tt.in)); got != tt.want {
			t.Errorf("ToolArguments(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDecimal(t *testing.T) {
	for _, tt := range []struct {
		v     int64
		scale int
		want  string
	}{
		{0, 6, "0"},
		{1, 6, "0.000001"},
		{2500, 6, "0.0025"},
		{1_000_000, 6, "1"},
		{12_345_678, 6, "12.345678"},
		{-1_500_000, 6, "-1.5"},
		{1_000_000, 12, "0.000001"}, // 1 credit per 1M tokens is 0.000001 credit per token
		{150_000, 12, "0.00000015"}, // gpt-4o-mini's $0.15 per 1M
		{10_000_000, 12, "0.00001"}, // 10 credits per 1M
		{-9223372036854775808, 6, "-9223372036854.775808"},
	} {
		if got := Decimal(tt.v, tt.scale); got != tt.want {
			t.Errorf("Decimal(%d, %d) = %q, want %q", tt.v, tt.scale, got, tt.want)
		}
	}
}

func TestOutputUsageFields(t *testing.T) {
	// The usage keys are chatModelOutputUsageSchema's (chat-model.js,
	// lines 403–410); a renamed Go field would silently drop usage.
	want := []string{"inputTokens", "outputTokens", "cacheCreationInputTokens", "cacheReadInputTokens", "aigneHubCredits"}
	var got []string
	typ := reflect.TypeOf(outputUsage{})
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		got = append(got, name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("usage keys %v, want %v", got, want)
	}
}
