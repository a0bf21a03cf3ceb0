package aigne

import (
	"encoding/json"
	"strings"
	"testing"
)

// The request fixtures under testdata/requests are the bodies the official
// client posts (captured from @aigne/aigne-hub 0.10.16 and @aigne/core
// 1.72.0 against a recording server; see testdata/README.md), the legacy
// ones written from AIGNE Hub's completionsRequestSchema. The expected
// canonical requests under testdata/canonical are written by hand.
func TestChatToCanonicalGolden(t *testing.T) {
	for _, tt := range []struct {
		name         string
		model        string
		stream, json bool
	}{
		// BaseClient.__invoke (base-client.js, lines 39–48) with the
		// modelOptions ChatModel.getModelOptions adds (chat-model.js,
		// lines 84–96: cacheConfig.autoBreakpoints.lastMessage, dropped).
		{"chat-text", "openai/gpt-4o-mini", false, false},
		// options.streaming (base-client.js line 47); agent → assistant
		// (role-utils.js STANDARD_ROLE_MAP); file parts as @aigne/openai's
		// contentsFromInputMessages (openai-chat-model.js, lines 377–410);
		// reasoningEffort 2000 → medium (lines 98–110); parallelToolCalls
		// only with tools (lines 179–185).
		{"chat-stream-tools", "openai/gpt-4o-mini", true, false},
		// responseFormat json_schema (chat-model.js, lines 298–309) →
		// response_format; the answer is parsed into "json".
		{"chat-json-schema", "openai/gpt-4o-mini", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, aerr := ChatToCanonical(read(t, "requests/"+tt.name+".json"))
			if aerr != nil {
				t.Fatal(aerr)
			}
			if got.Model != tt.model || got.Stream != tt.stream || got.JSON != tt.json {
				t.Fatalf("got model %q stream %v json %v", got.Model, got.Stream, got.JSON)
			}
			sameJSON(t, tt.name, got.Body, read(t, "canonical/"+tt.name+".json"))
		})
	}
}

func TestLegacyToCanonicalGolden(t *testing.T) {
	for _, tt := range []struct {
		name   string
		events bool
		mode   LegacyMode
	}{
		// completionsRequestSchema (ai-routes.ts): camelCase members,
		// imageUrl parts, string tool-call arguments, toolCallId.
		{"legacy-tools", false, LegacyText},
		// prompt → one user message; json_object kept.
		{"legacy-prompt", false, LegacyJSON},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, aerr := LegacyToCanonical(read(t, "requests/"+tt.name+".json"), tt.events)
			if aerr != nil {
				t.Fatal(aerr)
			}
			if got.Mode != tt.mode {
				t.Fatalf("mode %v, want %v", got.Mode, tt.mode)
			}
			sameJSON(t, tt.name, got.Body, read(t, "canonical/"+tt.name+".json"))
		})
	}
	// Accept: text/event-stream streams whatever "stream" says
	// (processChatCompletion: isEventStream).
	got, aerr := LegacyToCanonical(read(t, "requests/legacy-prompt.json"), true)
	if aerr != nil || got.Mode != LegacyEvents || !strings.Contains(string(got.Body), `"stream":true,"stream_options":{"include_usage":true}`) {
		t.Fatalf("events: %+v %v %s", got, aerr, got.Body)
	}
}

func TestChatToCanonicalCases(t *testing.T) {
	wrap := func(input string) string {
		return `{"agent":"$CHAT_MODEL","input":` + input + `}`
	}
	for _, tt := range []struct {
		name, body string
		want       string // a fragment of the canonical body
	}{
		{"model in body (old clients)", `{"model":"m","input":{"messages":[{"role":"user","content":"x"}]}}`, `"model":"m"`},
		{"no agent", `{"input":{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m"}}}`, `"model":"m"`},
		{"null content with tool calls", wrap(`{"messages":[{"role":"agent","toolCalls":[{"id":"c","type":"function","function":{"name":"f","arguments":{}}}]}],"modelOptions":{"model":"m"}}`),
			`"content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]`},
		{"string arguments kept", wrap(`{"messages":[{"role":"agent","toolCalls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}],"modelOptions":{"model":"m"}}`),
			`"arguments":"{\"a\":1}"`},
		{"file without mime is a png", wrap(`{"messages":[{"role":"user","content":[{"type":"file","data":"AAAA"}]}],"modelOptions":{"model":"m"}}`),
			`"url":"data:image/png;base64,AAAA"`},
		{"message cacheControl on the last part", wrap(`{"messages":[{"role":"user","cacheControl":{"type":"ephemeral","ttl":"1h"},"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"modelOptions":{"model":"m"}}`),
			`{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"1h"}}`},
		{"tool choice by tool", wrap(`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"toolChoice":{"type":"function","function":{"name":"f","parameters":{}}},"modelOptions":{"model":"m"}}`),
			`"tool_choice":{"function":{"name":"f"},"type":"function"}`},
		{"tool choice without tools dropped", wrap(`{"messages":[{"role":"user","content":"x"}],"toolChoice":"required","modelOptions":{"model":"m","parallelToolCalls":true}}`),
			`"messages":[{"role":"user","content":"x"}]}`},
		{"tool without parameters", wrap(`{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"modelOptions":{"model":"m"}}`),
			`"parameters":{"type":"object","properties":{}}`},
		{"reasoning level", wrap(`{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m","reasoningEffort":"low"}}`), `"reasoning_effort":"low"`},
		{"reasoning budget 0", wrap(`{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m","reasoningEffort":0}}`), `"messages":[{"role":"user","content":"x"}]}`},
		{"reasoning budget 501", wrap(`{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m","reasoningEffort":501}}`), `"reasoning_effort":"low"`},
		{"reasoning budget 6000", wrap(`{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m","reasoningEffort":6000}}`), `"reasoning_effort":"high"`},
		{"topK", wrap(`{"messages":[{"role":"user","content":"x"}],"modelOptions":{"model":"m","topK":40}}`), `"top_k":40`},
		{"html kept", wrap(`{"messages":[{"role":"user","content":"<b>&</b>"}],"modelOptions":{"model":"m"}}`), `"content":"<b>&</b>"`},
		{"tool name dropped from tool message", wrap(`{"messages":[{"role":"tool","name":"f","toolCallId":"c","content":"r"}],"modelOptions":{"model":"m"}}`),
			`{"role":"tool","content":"r","tool_call_id":"c"}`},
		{"user name kept", wrap(`{"messages":[{"role":"user","name":"bob","content":"r"}],"modelOptions":{"model":"m"}}`), `"name":"bob"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, aerr := ChatToCanonical([]byte(tt.body))
			if aerr != nil {
				t.Fatal(aerr)
			}
			if !strings.Contains(string(got.Body), tt.want) {
				t.Fatalf("%s\ndoes not contain %s", got.Body, tt.want)
			}
		})
	}
}

func TestChatToCanonicalErrors(t *testing.T) {
	wrap := func(input string) string { return `{"agent":"$CHAT_MODEL","input":` + input + `}` }
	msgs := `"messages":[{"role":"user","content":"x"}]`
	for _, tt := range []struct {
		name, body string
		status     int
		param      string
	}{
		{"not JSON", `{"input"`, 400, ""},
		{"array", `[]`, 400, ""},
		{"other agent", `{"agent":"writer","input":{` + msgs + `,"modelOptions":{"model":"m"}}}`, 404, "agent"},
		{"no input", `{"agent":"$CHAT_MODEL"}`, 400, "input"},
		{"no model", wrap(`{` + msgs + `}`), 400, "input.modelOptions.model"},
		{"no messages", wrap(`{"modelOptions":{"model":"m"}}`), 400, "input.messages"},
		{"messages object", wrap(`{"messages":{},"modelOptions":{"model":"m"}}`), 400, "input.messages"},
		{"bad role", wrap(`{"messages":[{"role":"bot","content":"x"}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].role"},
		{"no role", wrap(`{"messages":[{"role":"user","content":"x"},{"content":"x"}],"modelOptions":{"model":"m"}}`), 400, "input.messages[1].role"},
		{"content number", wrap(`{"messages":[{"role":"user","content":5}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].content"},
		{"local file", wrap(`{"messages":[{"role":"user","content":[{"type":"local","path":"/etc/passwd"}]}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].content[0].type"},
		{"unknown part", wrap(`{"messages":[{"role":"user","content":[{"type":"audio"}]}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].content[0].type"},
		{"text part without text", wrap(`{"messages":[{"role":"user","content":[{"type":"text"}]}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].content[0].text"},
		{"tool without id", wrap(`{"messages":[{"role":"tool","content":"x"}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].toolCallId"},
		{"tool call without name", wrap(`{"messages":[{"role":"agent","toolCalls":[{"id":"c","function":{}}]}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].toolCalls[0].function.name"},
		{"tool without name", wrap(`{` + msgs + `,"tools":[{"type":"function","function":{}}],"modelOptions":{"model":"m"}}`), 400, "input.tools[0].function.name"},
		{"bad tool choice", wrap(`{` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}],"toolChoice":"any","modelOptions":{"model":"m"}}`), 400, "input.toolChoice"},
		{"schema without name", wrap(`{` + msgs + `,"responseFormat":{"type":"json_schema","jsonSchema":{"schema":{}}},"modelOptions":{"model":"m"}}`), 400, "input.responseFormat.jsonSchema.name"},
		{"json_object", wrap(`{` + msgs + `,"responseFormat":{"type":"json_object"},"modelOptions":{"model":"m"}}`), 400, "input.responseFormat.type"},
		{"temperature string", wrap(`{` + msgs + `,"modelOptions":{"model":"m","temperature":"hot"}}`), 400, "input.modelOptions.temperature"},
		{"maxTokens float", wrap(`{` + msgs + `,"modelOptions":{"model":"m","maxTokens":1.5}}`), 400, "input.modelOptions.maxTokens"},
		{"reasoning object", wrap(`{` + msgs + `,"modelOptions":{"model":"m","reasoningEffort":{}}}`), 400, "input.modelOptions.reasoningEffort"},
		{"cacheControl string", wrap(`{"messages":[{"role":"user","content":"x","cacheControl":"yes"}],"modelOptions":{"model":"m"}}`), 400, "input.messages[0].cacheControl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, aerr := ChatToCanonical([]byte(tt.body))
			if aerr == nil {
				t.Fatal("want an error")
			}
			if aerr.Status != tt.status || aerr.Param != tt.param || aerr.Message == "" {
				t.Fatalf("got %+v", aerr)
			}
		})
	}
}

func TestLegacyToCanonicalErrors(t *testing.T) {
	for _, tt := range []struct{ name, body, param string }{
		{"no model", `{"messages":[{"role":"user","content":"x"}]}`, "model"},
		{"neither", `{"model":"m"}`, "messages"},
		{"both", `{"model":"m","prompt":"x","messages":[{"role":"user","content":"x"}]}`, "prompt"},
		{"empty", `{"model":"m","messages":[]}`, "messages"},
		{"agent role", `{"model":"m","messages":[{"role":"agent","content":"x"}]}`, "messages[0].role"},
		{"temperature above 2", `{"model":"m","prompt":"x","temperature":2.5}`, "temperature"},
		{"topP below 0.1", `{"model":"m","prompt":"x","topP":0.05}`, "topP"},
		{"maxTokens 0", `{"model":"m","prompt":"x","maxTokens":0}`, "maxTokens"},
		{"image part without url", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, "messages[0].content[0].imageUrl.url"},
		{"system parts", `{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"x"}]}]}`, "messages[0].content"},
		{"tool without id", `{"model":"m","messages":[{"role":"tool","content":"x"}]}`, "messages[0].toolCallId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, aerr := LegacyToCanonical([]byte(tt.body), false)
			if aerr == nil || aerr.Status != 400 || aerr.Param != tt.param {
				t.Fatalf("got %+v", aerr)
			}
		})
	}
	// image_url (snake case) is accepted too.
	got, aerr := LegacyToCanonical([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}`), false)
	if aerr != nil || !strings.Contains(string(got.Body), `"image_url":{"url":"u"}`) {
		t.Fatalf("%v %s", aerr, got.Body)
	}
}

// The canonical bodies are what the OpenAI surface accepts: every member
// the hub writes has the type OpenAI documents.
func TestCanonicalIsJSON(t *testing.T) {
	for _, name := range []string{"chat-text", "chat-stream-tools", "chat-json-schema"} {
		got, aerr := ChatToCanonical(read(t, "requests/"+name+".json"))
		if aerr != nil {
			t.Fatal(aerr)
		}
		var v struct {
			Model    string            `json:"model"`
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(got.Body, &v); err != nil || v.Model == "" || len(v.Messages) == 0 {
			t.Fatalf("%s: %v %s", name, err, got.Body)
		}
	}
}
