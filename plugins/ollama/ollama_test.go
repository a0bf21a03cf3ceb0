package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/aignehub/hub/sdk/provider"
)

const (
	reqID  = "req-1"
	unixMS = 1700000000999 // the host clock: created falls back to 1700000000
)

var testConfig = []byte(`{"keep_alive":"5m","num_ctx":8192}`)

func headerMap(t testing.TB, hs []abi.Header) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, h := range hs {
		m[h.Name] = h.Value
	}
	if _, ok := m["Authorization"]; ok {
		t.Fatal("the plugin must never set credentials")
	}
	return m
}

// stateFor runs a minimal request of api through the plugin and returns
// the state the host would hand back.
func stateFor(t testing.TB, tg plugintest.Target, api string, flags uint32) []byte {
	t.Helper()
	body := `{"messages":[{"role":"user","content":"hi"}]}`
	switch api {
	case abi.APIEmbeddings:
		body = `{"input":"hi"}`
	case abi.APIModels:
		body = ""
	}
	return stateForBody(t, tg, api, flags, body)
}

func stateForBody(t testing.TB, tg plugintest.Target, api string, flags uint32, body string) []byte {
	t.Helper()
	out, err := tg.Request(&abi.RequestIn{API: api, Model: "m", Flags: flags, RequestID: reqID, Body: []byte(body), UnixMS: unixMS})
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	return out.State
}

func TestManifest(t *testing.T) {
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		m := tg.Manifest()
		if m.Name != "ollama" || m.ABI != 1 || m.Kind != abi.KindProvider || m.Auth != abi.AuthBearer || m.StreamFraming != abi.FramingNDJSON ||
			strings.Join(m.APIs, ",") != "chat.completions,embeddings,models" {
			t.Fatalf("manifest %+v", m)
		}
	})
}

// TestRequestGolden translates the OpenAI fixtures (and OpenAI-side twins
// of the Ollama fixtures) and compares the upstream requests with golden
// files written from MAPPING.md, or with the Ollama fixture itself.
func TestRequestGolden(t *testing.T) {
	tests := []struct {
		in, want  string
		api       string
		model     string
		flags     uint32
		path      string
		stateBits byte
	}{
		// ⇄ ollama/chat-tool-result.request.json: tool results with tool_name.
		{"openai.chat-completions.tool-result.request.json", "golden/tool-result.request.json", abi.APIChatCompletions, "llama3.2", abi.FlagStream, "/api/chat", kindChat | stStream},
		// image data URL, tools, json_schema, max_completion_tokens, temperature.
		{"openai.chat-completions.stream-tools.request.json", "golden/stream-tools.request.json", abi.APIChatCompletions, "qwen3-vl:8b", abi.FlagStream | abi.FlagIncludeUsage, "/api/chat", kindChat | stStream | stWantUsage},
		// developer role, reasoning_effort "low".
		{"openai.chat-completions.text.request.json", "golden/text.request.json", abi.APIChatCompletions, "gpt-oss:20b", 0, "/api/chat", kindChat},
		{"openai.chat-completions.stream-text.request.json", "golden/stream-text.request.json", abi.APIChatCompletions, "llama3.2", abi.FlagStream, "/api/chat", kindChat | stStream},
		// The Ollama fixture is the expected request (+ "stream":true where
		// the fixture relies on Ollama's default).
		{"openai.chat-tools.request.json", "chat-tools.request.json", abi.APIChatCompletions, "llama3.2", 0, "/api/chat", kindChat},
		{"openai.chat-tool-result.request.json", "chat-tool-result.request.json", abi.APIChatCompletions, "llama3.2", abi.FlagStream, "/api/chat", kindChat | stStream},
		{"openai.chat-stream.request.json", "chat-stream.request.json", abi.APIChatCompletions, "llama3.2", abi.FlagStream, "/api/chat", kindChat | stStream},
		{"openai.chat-stream-thinking.request.json", "chat-stream-thinking.request.json", abi.APIChatCompletions, "qwen3:8b", abi.FlagStream, "/api/chat", kindChat | stStream},
		{"openai.embed.request.json", "embed.request.json", abi.APIEmbeddings, "all-minilm", 0, "/api/embed", kindEmbed},
		{"openai.embeddings-float.request.json", "golden/embeddings-float.request.json", abi.APIEmbeddings, "all-minilm", 0, "/api/embed", kindEmbed},
		{"openai.embeddings-base64.request.json", "golden/embeddings-base64.request.json", abi.APIEmbeddings, "all-minilm", 0, "/api/embed", kindEmbed | stBase64},
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.in, func(t *testing.T) {
				out, err := tg.Request(&abi.RequestIn{API: tt.api, Model: tt.model, Flags: tt.flags, RequestID: reqID,
					Body: plugintest.Fixture(t, tt.in), Options: []byte("{}"), UnixMS: unixMS})
				if err != nil {
					t.Fatal(err)
				}
				if out.Method != "POST" || out.Path != tt.path {
					t.Fatalf("%s %s", out.Method, out.Path)
				}
				if h := headerMap(t, out.Headers); h["Content-Type"] != "application/json" || len(h) != 1 {
					t.Fatalf("headers %v", h)
				}
				want := plugintest.Fixture(t, tt.want)
				if tt.api == abi.APIChatCompletions && !bytes.Contains(want, []byte(`"stream"`)) {
					var m map[string]any
					json.Unmarshal(want, &m)
					m["stream"] = true // explicit: Ollama streams by default
					want, _ = json.Marshal(m)
				}
				plugintest.JSONEqual(t, "upstream body", out.Body, want)
				st := readState(out.State)
				if st.flags != tt.stateBits || st.created != unixMS/1000 || st.id != "chatcmpl-"+reqID || st.tools != 0 {
					t.Fatalf("state %+v", st)
				}
			})
		}
	})
}

// TestRequestConfig checks keep_alive, num_ctx and extra options from the
// plugin config and the provider's options table.
func TestRequestConfig(t *testing.T) {
	plugintest.Both(t, newPlugin(testConfig), "ollama", testConfig, func(t *testing.T, tg plugintest.Target) {
		t.Run("chat.request.json", func(t *testing.T) {
			// Text parts around an image, max_tokens, stop as a string,
			// reasoning_effort "none": exactly ollama/chat.request.json.
			out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: "qwen3-vl:8b", RequestID: reqID,
				Body: plugintest.Fixture(t, "openai.chat-vision.request.json")})
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "upstream body", out.Body, plugintest.Fixture(t, "chat.request.json"))
		})
		t.Run("provider options", func(t *testing.T) {
			out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: "llama3.2",
				Body:    []byte(`{"messages":[{"role":"user","content":"hi"}],"temperature":0.5}`),
				Options: []byte(`{"keep_alive":-1,"options":{"num_ctx":1,"repeat_penalty":1.1,"temperature":9,"num_gpu":0}}`)})
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "upstream body", out.Body, []byte(`{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],
				"options":{"temperature":0.5,"num_ctx":8192,"repeat_penalty":1.1,"num_gpu":0},"stream":false,"keep_alive":-1}`))
			out, err = tg.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "all-minilm", Body: []byte(`{"input":"a"}`),
				Options: []byte(`{"num_ctx":512,"keep_alive":"1h"}`)})
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "embed body", out.Body, []byte(`{"model":"all-minilm","input":"a","options":{"num_ctx":512},"keep_alive":"1h"}`))
		})
		t.Run("models", func(t *testing.T) {
			out, err := tg.Request(&abi.RequestIn{API: abi.APIModels, RequestID: reqID})
			if err != nil {
				t.Fatal(err)
			}
			if out.Method != "GET" || out.Path != "/api/tags" || len(out.Body) != 0 || len(headerMap(t, out.Headers)) != 0 {
				t.Fatalf("%+v", out)
			}
			if st := readState(out.State); st.flags != kindModels {
				t.Fatalf("state %+v", st)
			}
		})
	})
}

// TestRequestMapping covers the request rules the fixtures do not show.
func TestRequestMapping(t *testing.T) {
	tools := `[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}},{"type":"function","function":{"name":"g"}}]`
	tests := []struct {
		name, body string
		flags      uint32
		want       string
	}{
		{"everything", `{"model":"x","messages":[
			{"role":"developer","content":[{"type":"text","text":"be "},{"type":"text","text":"brief"}]},
			{"role":"user","content":"q","name":"bob"},
			{"role":"assistant","content":null,"reasoning_content":"hmm","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":""}},{"type":"function","function":{"name":"g","arguments":" {\"a\": [1, 2]} "}}]},
			{"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"r1"}]},
			{"role":"tool","tool_call_id":"unknown","name":"g","content":"r2"},
			{"role":"function","name":"f","content":"r3"},
			{"role":"assistant","content":[{"type":"refusal","refusal":"no"}]}],
			"max_tokens":10,"max_completion_tokens":20,"stop":["a","","b"],"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,"top_k":40,"top_p":null,
			"response_format":{"type":"json_object"},"n":1,"user":"u","parallel_tool_calls":false,"stream":true,"stream_options":{"include_usage":true}}`,
			abi.FlagStream | abi.FlagIncludeUsage,
			`{"model":"m","messages":[
			{"role":"system","content":"be brief"},
			{"role":"user","content":"q"},
			{"role":"assistant","content":"","thinking":"hmm","tool_calls":[{"id":"c1","function":{"index":0,"name":"f","arguments":{}}},{"function":{"index":1,"name":"g","arguments":{"a":[1,2]}}}]},
			{"role":"tool","content":"r1","tool_name":"f","tool_call_id":"c1"},
			{"role":"tool","content":"r2","tool_name":"g","tool_call_id":"unknown"},
			{"role":"tool","content":"r3","tool_name":"f"},
			{"role":"assistant","content":"no"}],
			"format":"json","options":{"num_predict":20,"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,"top_k":40,"stop":["a","b"]},"stream":true}`},
		{"a result before its call, and the body's model", `{"model":"from-body","messages":[
			{"role":"tool","tool_call_id":"c9","content":"early"},
			{"role":"assistant","tool_calls":[{"id":"c9","type":"function","function":{"name":"late","arguments":"{}"}}]}]}`, 0,
			`{"model":"from-body","messages":[{"role":"tool","content":"early","tool_name":"late","tool_call_id":"c9"},
			{"role":"assistant","content":"","tool_calls":[{"id":"c9","function":{"index":0,"name":"late","arguments":{}}}]}],"stream":false}`},
		{"tool_choice none omits tools", `{"messages":[{"role":"user","content":"q"}],"tools":` + tools + `,"tool_choice":"none"}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":false}`},
		{"named tool_choice keeps that tool", `{"messages":[{"role":"user","content":"q"}],"tools":` + tools + `,"tool_choice":{"type":"function","function":{"name":"g"}}}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"g"}}],"stream":false}`},
		{"required sends the tools", `{"messages":[{"role":"user","content":"q"}],"tools":` + tools + `,"tool_choice":"required"}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"tools":` + tools + `,"stream":false}`},
		{"empty tools", `{"messages":[{"role":"user","content":"q"}],"tools":[]}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":false}`},
		{"json_schema without schema", `{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"format":"json","stream":false}`},
		{"response_format text", `{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"text"}}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":false}`},
		{"non-standard think passes through", `{"messages":[{"role":"user","content":"q"}],"think":true}`, abi.FlagStream,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":true,"think":true}`},
		{"reasoning_effort wins over think", `{"messages":[{"role":"user","content":"q"}],"think":true,"reasoning_effort":"none"}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":false,"think":false}`},
	}
	for effort, think := range map[string]string{"minimal": `"low"`, "low": `"low"`, "medium": `"medium"`, "high": `"high"`, "xhigh": `"high"`} {
		tests = append(tests, struct {
			name, body string
			flags      uint32
			want       string
		}{"reasoning_effort " + effort, `{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"` + effort + `"}`, 0,
			`{"model":"m","messages":[{"role":"user","content":"q"}],"stream":false,"think":` + think + `}`})
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				model := "m"
				if strings.Contains(tt.body, "from-body") {
					model = "" // a host that resolved no model
				}
				out, err := tg.Request(&abi.RequestIn{API: abi.APIChatCompletions, Model: model, Flags: tt.flags, Body: []byte(tt.body)})
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "upstream body", out.Body, []byte(tt.want))
			})
		}
	})
}

func TestRequestErrors(t *testing.T) {
	user := `{"role":"user","content":"q"}`
	tests := []struct {
		name, api, body string
		param, contains string
	}{
		{"https image", abi.APIChatCompletions, `{"messages":[` + user + `,{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`,
			"messages[1].content", "cannot fetch image URLs"},
		{"non-base64 data URL", abi.APIChatCompletions, `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,AAA"}}]}]}`,
			"messages[0].content", "base64 data URL"},
		{"audio part", abi.APIChatCompletions, `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]}`,
			"messages[0].content", `"input_audio"`},
		{"invalid tool arguments", abi.APIChatCompletions, `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]}]}`,
			"messages[1].tool_calls[0].function.arguments", "JSON object"},
		{"array tool arguments", abi.APIChatCompletions, `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}},{"id":"d","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[0].tool_calls[1].function.arguments", "JSON object"},
		{"n > 1", abi.APIChatCompletions, `{"messages":[` + user + `],"n":2}`, "n", "one choice"},
		{"no messages", abi.APIChatCompletions, `{"messages":[]}`, "messages", "non-empty"},
		{"messages missing", abi.APIChatCompletions, `{}`, "messages", "non-empty"},
		{"unknown role", abi.APIChatCompletions, `{"messages":[{"role":"narrator","content":"q"}]}`, "messages[0].role", "narrator"},
		{"bad content", abi.APIChatCompletions, `{"messages":[{"role":"user","content":5}]}`, "messages[0].content", "string or an array"},
		{"bad reasoning_effort", abi.APIChatCompletions, `{"messages":[` + user + `],"reasoning_effort":"max"}`, "reasoning_effort", "one of"},
		{"named tool missing", abi.APIChatCompletions, `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`,
			"tool_choice", `"g"`},
		{"custom tool", abi.APIChatCompletions, `{"messages":[` + user + `],"tools":[{"type":"custom","custom":{"name":"f"}}]}`, "tools", "only function tools"},
		{"bad response_format", abi.APIChatCompletions, `{"messages":[` + user + `],"response_format":{"type":"grammar"}}`, "response_format", "grammar"},
		{"not an object", abi.APIChatCompletions, `[1]`, "", "not a JSON object"},
		{"token input", abi.APIEmbeddings, `{"input":[1,2,3]}`, "input", "not tokens"},
		{"empty input", abi.APIEmbeddings, `{"input":[]}`, "input", "non-empty"},
		{"bad encoding_format", abi.APIEmbeddings, `{"input":"a","encoding_format":"hex"}`, "encoding_format", "base64"},
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tg.Request(&abi.RequestIn{API: tt.api, Model: "m", Body: []byte(tt.body)})
				if err == nil {
					t.Fatal("want a 400")
				}
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != 400 || ae.Type != "invalid_request_error" || ae.Param != tt.param || !strings.Contains(ae.Message, tt.contains) || ae.Retryable {
					t.Fatalf("got %+v", ae)
				}
			})
		}
		_, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Code != "unsupported_api" {
			t.Fatalf("images: %+v", ae)
		}
	})
}

// TestResponseGolden converts the Ollama response fixtures and compares
// them with golden canonical responses written from MAPPING.md §6.
func TestResponseGolden(t *testing.T) {
	tests := []struct {
		api, in, want string
		flags         uint32
		encoding      string
		usage         abi.Usage
	}{
		{abi.APIChatCompletions, "chat.response.json", "golden/chat.completion.json", 0, "", abi.Usage{InputTokens: 38, OutputTokens: 7}},
		{abi.APIChatCompletions, "chat-length.response.json", "golden/chat-length.completion.json", 0, "", abi.Usage{InputTokens: 38, OutputTokens: 2}},
		{abi.APIChatCompletions, "chat-tools.response.json", "golden/chat-tools.completion.json", 0, "", abi.Usage{InputTokens: 169, OutputTokens: 41}},
		{abi.APIEmbeddings, "embed.response.json", "golden/embed.float.json", 0, "float", abi.Usage{InputTokens: 16}},
		{abi.APIEmbeddings, "embed.response.json", "golden/embed.base64.json", 0, "base64", abi.Usage{InputTokens: 16}},
		{abi.APIModels, "tags.response.json", "golden/models.json", 0, "", abi.Usage{}},
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.want, func(t *testing.T) {
				state := stateFor(t, tg, tt.api, tt.flags)
				if tt.encoding != "" {
					state = stateForBody(t, tg, tt.api, 0, `{"input":"x","encoding_format":"`+tt.encoding+`"}`)
				}
				out, err := tg.Response(&abi.ResponseIn{State: state, Status: 200, Body: plugintest.Fixture(t, tt.in),
					Headers: []abi.Header{{Name: "Content-Type", Value: "application/json; charset=utf-8"}}})
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "canonical response", out.Body, plugintest.Fixture(t, tt.want))
				if tt.api == abi.APIModels {
					if out.Usage != nil {
						t.Fatalf("models usage %+v", out.Usage)
					}
					return
				}
				if out.Usage == nil || *out.Usage != tt.usage {
					t.Fatalf("usage %+v, want %+v", out.Usage, tt.usage)
				}
			})
		}
	})
}

// TestResponseMapping: thinking, tool calls without ids (older servers),
// an unparsable created_at, and Ollama's usage (no cached or reasoning
// counts; a missing prompt_eval_count is 0).
func TestResponseMapping(t *testing.T) {
	body := `{"model":"qwen3:8b","created_at":"yesterday","message":{"role":"assistant","content":"","thinking":"Let me see.",
		"tool_calls":[{"function":{"name":"f","arguments":{"x": 1}}},{"function":{"name":"g","arguments":{}}}]},"done":true,"done_reason":"stop","eval_count":30}`
	want := fmt.Sprintf(`{"id":"chatcmpl-req-1","object":"chat.completion","created":1700000000,"model":"qwen3:8b","choices":[{"index":0,
		"message":{"role":"assistant","content":null,"reasoning_content":"Let me see.","tool_calls":[
		{"id":%q,"type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},
		{"id":%q,"type":"function","function":{"name":"g","arguments":"{}"}}],"refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":0,"completion_tokens":30,"total_tokens":30,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`,
		oai.ToolCallID(reqID, 0), oai.ToolCallID(reqID, 1))
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Response(&abi.ResponseIn{State: stateFor(t, tg, abi.APIChatCompletions, 0), Status: 200, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, "canonical response", out.Body, []byte(want))
		if *out.Usage != (abi.Usage{OutputTokens: 30}) {
			t.Fatalf("usage %+v", *out.Usage)
		}
		// A thinking answer: reasoning is part of eval_count, not split out.
		body := `{"model":"qwen3:8b","created_at":"2025-10-26T17:30:01.149118Z","message":{"role":"assistant","content":"No.","thinking":"221 = 13 × 17"},"done":true,"done_reason":"length","prompt_eval_count":14,"prompt_eval_duration":5,"eval_count":22}`
		out, err = tg.Response(&abi.ResponseIn{State: stateFor(t, tg, abi.APIChatCompletions, 0), Status: 200, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, "canonical response", out.Body, []byte(`{"id":"chatcmpl-req-1","object":"chat.completion","created":1761499801,"model":"qwen3:8b",
			"choices":[{"index":0,"message":{"role":"assistant","content":"No.","reasoning_content":"221 = 13 × 17","refusal":null},"logprobs":null,"finish_reason":"length"}],
			"usage":{"prompt_tokens":14,"completion_tokens":22,"total_tokens":36,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`))
		if *out.Usage != (abi.Usage{InputTokens: 14, OutputTokens: 22}) {
			t.Fatalf("usage %+v", *out.Usage)
		}
	})
}

func TestUpstreamErrors(t *testing.T) {
	type want struct {
		status          int
		typ, code       string
		param, message  string
		retryable       bool
		retryAfterMS    int64
		messageContains string
	}
	tests := []struct {
		name    string
		status  uint32
		headers []abi.Header
		body    string // a fixture file, or a literal body when it starts with '{' or a space
		want    want
	}{
		{"error-404-model-not-found.response.json", 404, nil, "error-404-model-not-found.response.json",
			want{status: 404, typ: "invalid_request_error", code: "model_not_found", message: "model 'llama9' not found"}},
		{"error-400-model-required.response.json", 400, nil, "error-400-model-required.response.json",
			want{status: 400, typ: "invalid_request_error", param: "model", message: "model is required"}},
		{"error-400-no-tools.response.json", 400, nil, "error-400-no-tools.response.json",
			want{status: 400, typ: "invalid_request_error", param: "tools", message: "registry.ollama.ai/library/gemma:2b does not support tools"}},
		{"older not-found wording", 404, nil, `{"error":"model \"llama9\" not found, try pulling it first"}`,
			want{status: 404, typ: "invalid_request_error", code: "model_not_found", message: `model "llama9" not found, try pulling it first`}},
		{"thinking unsupported", 400, nil, `{"error":"\"gemma3\" does not support thinking"}`,
			want{status: 400, typ: "invalid_request_error", param: "reasoning_effort", message: `"gemma3" does not support thinking`}},
		{"cloud rate limit", 429, []abi.Header{{Name: "Retry-After", Value: "3"}}, `{"error":"too many requests"}`,
			want{status: 429, typ: "rate_limit_error", message: "too many requests", retryable: true, retryAfterMS: 3000}},
		{"runner crashed", 500, nil, `{"error":"llama runner process has terminated: exit status 2"}`,
			want{status: 502, typ: "upstream_error", message: "llama runner process has terminated: exit status 2", retryable: true}},
		{"overloaded", 503, []abi.Header{{Name: "Retry-After", Value: "1"}}, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`,
			want{status: 502, typ: "upstream_error", retryable: true, retryAfterMS: 1000, messageContains: "server busy"}},
		{"cloud key rejected", 401, nil, `{"error":"unauthorized: key sk-secret"}`,
			want{status: 502, typ: "upstream_error", code: "upstream_auth_failed", retryable: true, messageContains: "rejected"}},
		{"timeout", 504, nil, ` gateway timeout`, want{status: 504, typ: "upstream_timeout", retryable: true, message: "gateway timeout"}},
		{"plain-text 404 (base_url ends in /api)", 404, nil, ` 404 page not found`,
			want{status: 404, typ: "invalid_request_error", message: "404 page not found"}},
		{"/v1-shaped error", 404, nil, `{"error":{"message":"model \"x\" not found","type":"not_found_error","param":null,"code":null}}`,
			want{status: 404, typ: "invalid_request_error", code: "model_not_found", message: `model "x" not found`}},
		{"error in a 200 body", 200, nil, `{"error":"an error was encountered while running the model"}`,
			want{status: 502, typ: "upstream_error", message: "an error was encountered while running the model"}},
		{"200 body not JSON", 200, nil, ` <html>`, want{status: 502, typ: "upstream_error", retryable: true, messageContains: "not a JSON object"}},
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			for _, flags := range []uint32{0, abi.FlagStream | abi.FlagIncludeUsage} { // a stream call's error status comes here too
				t.Run(fmt.Sprintf("%s/%d", tt.name, flags), func(t *testing.T) {
					body := []byte(tt.body)
					if !strings.HasPrefix(tt.body, "{") && !strings.HasPrefix(tt.body, " ") {
						body = plugintest.Fixture(t, tt.body)
					}
					_, err := tg.Response(&abi.ResponseIn{State: stateFor(t, tg, abi.APIChatCompletions, flags), Status: tt.status, Headers: tt.headers, Body: body})
					if err == nil {
						t.Fatal("want an error")
					}
					ae, w := plugintest.ErrorOf(t, err), tt.want
					if ae.Status != w.status || ae.Type != w.typ || ae.Code != w.code || ae.Param != w.param || ae.Retryable != w.retryable || ae.RetryAfterMS != w.retryAfterMS ||
						(w.message != "" && ae.Message != w.message) || !strings.Contains(ae.Message, w.messageContains) || ae.Message == "" {
						t.Fatalf("got  %+v\nwant %+v", *ae, w)
					}
					if strings.Contains(ae.Message, "sk-secret") {
						t.Fatal("a key fragment leaked")
					}
				})
			}
		}
		// An embeddings model that is not there.
		_, err := tg.Response(&abi.ResponseIn{State: stateFor(t, tg, abi.APIEmbeddings, 0), Status: 404, Body: plugintest.Fixture(t, "error-404-model-not-found.response.json")})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 404 || ae.Code != "model_not_found" {
			t.Fatalf("embed: %+v", ae)
		}
	})
}

func readChunks(t testing.TB, file string) []string {
	t.Helper()
	return strings.Split(strings.TrimSpace(string(plugintest.Fixture(t, file))), "\n")
}

func compareChunks(t testing.TB, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range got {
		plugintest.JSONEqual(t, fmt.Sprintf("chunk %d", i), []byte(got[i]), []byte(want[i]))
	}
}

// TestStreamGolden feeds the NDJSON fixtures through the host's framer,
// split every way plugintest knows, and compares the canonical chunks with
// golden files written from MAPPING.md §7.
func TestStreamGolden(t *testing.T) {
	tests := []struct {
		in, want string
		usage    abi.Usage
	}{
		{"chat-stream.response.ndjson", "golden/chat-stream.chunks.jsonl", abi.Usage{InputTokens: 36, OutputTokens: 5}},
		{"chat-stream-tools.response.ndjson", "golden/chat-stream-tools.chunks.jsonl", abi.Usage{InputTokens: 169, OutputTokens: 41}},
		{"chat-stream-thinking.response.ndjson", "golden/chat-stream-thinking.chunks.jsonl", abi.Usage{InputTokens: 14, OutputTokens: 22}},
	}
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.in, func(t *testing.T) {
				want := readChunks(t, tt.want)
				for _, withUsage := range []bool{true, false} {
					flags := abi.FlagStream
					w := want
					if withUsage {
						flags |= abi.FlagIncludeUsage
					} else {
						w = want[:len(want)-1] // the usage chunk only when asked
					}
					res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, flags), plugintest.Fixture(t, tt.in))
					if !res.Done || res.Err != nil || res.FramingErr != nil {
						t.Fatalf("result %s", res)
					}
					if res.Usage == nil || *res.Usage != tt.usage {
						t.Fatalf("usage %+v, want %+v (reported to the host either way)", res.Usage, tt.usage)
					}
					compareChunks(t, res.Chunks, w)
				}
			})
		}
		t.Run("chat-stream-error.response.ndjson", func(t *testing.T) {
			res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, abi.FlagStream|abi.FlagIncludeUsage), plugintest.Fixture(t, "chat-stream-error.response.ndjson"))
			if res.Done || res.Err == nil || res.Usage != nil {
				t.Fatalf("result %s", res)
			}
			if e := res.Err; e.Status != 502 || e.Type != "upstream_error" || e.Message != "an error was encountered while running the model" || e.Retryable {
				t.Fatalf("error %+v", *e)
			}
			compareChunks(t, res.Chunks, readChunks(t, "golden/chat-stream-error.chunks.jsonl"))
		})
	})
}

// TestStreamMapping: tool calls without ids numbered across lines, several
// calls in one line, content and tool calls in the done line, length with
// tool calls, a missing created_at, an error first, a line that is not JSON.
func TestStreamMapping(t *testing.T) {
	plugintest.Both(t, newPlugin(nil), "ollama", nil, func(t *testing.T, tg plugintest.Target) {
		t.Run("tool ids and done line", func(t *testing.T) {
			body := `{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a","arguments":{"k":"v"}}},{"function":{"name":"b","arguments":{}}}]},"done":false}` + "\n" +
				`{"model":"m","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"c","arguments":{"n":[1, 2]}}}]},"done":false}` + "\r\n\n" +
				`{"model":"m","message":{"role":"assistant","content":"tail"},"done":true,"done_reason":"length","eval_count":3}` + "\n"
			res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, abi.FlagStream), []byte(body))
			h := `{"id":"chatcmpl-req-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":`
			call := func(i int, name, args string) string {
				return fmt.Sprintf(`%s{"tool_calls":[{"index":%d,"id":%q,"type":"function","function":{"name":%q,"arguments":%q}}]},"finish_reason":null}]}`,
					h, i, oai.ToolCallID(reqID, i), name, args)
			}
			compareChunks(t, res.Chunks, []string{
				h + `{"role":"assistant","content":""},"finish_reason":null}]}`,
				call(0, "a", `{"k":"v"}`), call(1, "b", `{}`), call(2, "c", `{"n":[1,2]}`),
				h + `{"content":"tail"},"finish_reason":null}]}`,
				h + `{},"finish_reason":"length"}]}`,
			})
			if !res.Done || res.Usage == nil || *res.Usage != (abi.Usage{OutputTokens: 3}) {
				t.Fatalf("result %s", res)
			}
		})
		t.Run("error first", func(t *testing.T) {
			res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, abi.FlagStream), []byte(`{"error":{"message":"boom"}}`+"\n"))
			if len(res.Chunks) != 0 || res.Err == nil || res.Err.Message != "boom" || res.Err.Status != 502 {
				t.Fatalf("result %s", res)
			}
		})
		t.Run("not JSON", func(t *testing.T) {
			res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, abi.FlagStream), []byte("data: {}\n"))
			if res.Err == nil || res.Err.Status != 502 {
				t.Fatalf("result %s", res)
			}
		})
		t.Run("blank lines are skipped", func(t *testing.T) {
			res := plugintest.Stream(t, tg, stateFor(t, tg, abi.APIChatCompletions, abi.FlagStream),
				[]byte("\n  \n"+`{"model":"m","message":{"content":"x"},"done":true}`+"\n"))
			if !res.Done || len(res.Chunks) != 3 {
				t.Fatalf("result %s", res)
			}
		})
	})
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2025-10-26T17:21:21.196249Z", "2025-05-04T17:37:44.706015396-07:00", "2025-07-07T20:22:19.19314Z", "1970-01-01T00:00:00Z",
		"2000-02-29T23:59:59+14:00", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-03-01T00:00:00.5+05:30",
		"2100-02-28T12:00:00Z", "1600-03-01T00:00:00-00:00",
	} {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := parseTime(s); !ok || got != want.Unix() {
			t.Errorf("%s: %d %v, want %d", s, got, ok, want.Unix())
		}
	}
	for _, bad := range []string{"", "yesterday", "2025-10-26", "2025-10-26T17:21:21", "2025-10-26T17:21:21.Z", "2025-13-26T17:21:21Z",
		"2025-10-26T17:21:21+0700", "2025-10-26T17:21:21Zjunk", "2025-1a-26T17:21:21Z", "0000-01-01T00:00:00Z"} {
		if _, ok := parseTime(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	f.Add("2025-10-26T17:21:21.196249Z")
	f.Add("2025-05-04T17:37:44.706015396-07:00")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err == nil && want.Unix() != got {
			t.Fatalf("%q: %d, want %d", s, got, want.Unix())
		}
	})
}

func FuzzRequest(f *testing.F) {
	for _, file := range []string{"openai.chat-completions.tool-result.request.json", "openai.chat-completions.stream-tools.request.json",
		"openai.chat-vision.request.json", "openai.embed.request.json"} {
		f.Add(plugintest.Fixture(f, file), uint32(abi.FlagStream), false, []byte(`{"options":{"a":1}}`))
	}
	f.Add([]byte(`{"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]}],"tool_choice":"none"}`), uint32(0), false, []byte(nil))
	f.Add([]byte(`{"input":["a"],"encoding_format":"base64"}`), uint32(0), true, []byte(`{"num_ctx":5}`))
	p := newPlugin(testConfig)
	f.Fuzz(func(t *testing.T, body []byte, flags uint32, embed bool, options []byte) {
		if !json.Valid(body) {
			return // the host validates bodies before the plugin sees them
		}
		api := abi.APIChatCompletions
		if embed {
			api = abi.APIEmbeddings
		}
		res := provider.Invoke(p, abi.ExportRequest, (&abi.RequestIn{API: api, Model: "m", Flags: flags, RequestID: "r", Body: body, Options: options}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if st != abi.StatusOK {
			var f [1][]byte
			abi.Fields(rec, f[:])
			var ae abi.Error
			if err := json.Unmarshal(f[0], &ae); err != nil || ae.Status == 502 {
				t.Fatalf("error result %s (a panic?)", f[0])
			}
			return
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(out.Body, &v); err != nil {
			t.Fatalf("upstream body is not JSON: %v\n%s\n%s", err, body, out.Body)
		}
		if _, ok := v["stream"].(bool); !embed && !ok {
			t.Fatalf("stream not sent: %s", out.Body)
		}
	})
}

func FuzzStreamEvent(f *testing.F) {
	for _, file := range []string{"chat-stream.response.ndjson", "chat-stream-tools.response.ndjson", "chat-stream-thinking.response.ndjson", "chat-stream-error.response.ndjson"} {
		for _, line := range bytes.Split(plugintest.Fixture(f, file), []byte("\n")) {
			f.Add(line, newState(kindChat|stStream|stWantUsage, 5, "r"))
		}
	}
	f.Add([]byte(`{"message":{"tool_calls":"x"},"done":true}`), []byte{0xff})
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, data, state []byte) {
		res := provider.Invoke(p, abi.ExportStreamEvent, (&abi.StreamIn{State: state, Events: []abi.Event{{Data: data}, {Data: data}}}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil || st != abi.StatusOK {
			t.Fatalf("status %d %v %s", st, err, rec)
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			t.Fatalf("plugin produced a malformed record: %v", err)
		}
		if out.Error != nil && out.Error.Type == "plugin_error" {
			t.Fatalf("panic: %+v", out.Error)
		}
		for _, c := range out.Chunks {
			if !json.Valid(c) {
				t.Fatalf("chunk is not JSON: %s (from %q)", c, data)
			}
		}
	})
}

// typicalEvent is one text-delta line of a running stream.
var typicalEvent = []byte(`{"model":"llama3.2","created_at":"2025-10-26T17:15:24.109172Z","message":{"role":"assistant","content":"jour"},"done":false}`)

func benchRequest(b *testing.B, tg plugintest.Target, file string) {
	in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "llama3.2", Flags: abi.FlagStream | abi.FlagIncludeUsage, RequestID: "0193b0e2-6f9e-7c1a-9d4b-3c2e1f0a9b8c",
		Body: plugintest.Fixture(b, file), Options: []byte("{}"), UnixMS: unixMS}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func benchStreamEvent(b *testing.B, tg plugintest.Target) {
	state := newState(kindChat|stStream|stStarted, 1761498924, "0193b0e2-6f9e-7c1a-9d4b-3c2e1f0a9b8c")
	in := &abi.StreamIn{State: state, Events: []abi.Event{{Data: typicalEvent}}}
	b.ReportAllocs()
	for b.Loop() {
		if out, err := tg.StreamEvent(in); err != nil || len(out.Chunks) != 1 {
			b.Fatal(err)
		}
	}
}

// BenchmarkWasmRequest: a typical chat request (system + user, streamed)
// and a multi-turn tool conversation with a JSON schema, through the real
// ollama.wasm.
func BenchmarkWasmRequest(b *testing.B) {
	tg := plugintest.Wasm(b, "ollama", nil)
	b.Run("text", func(b *testing.B) { benchRequest(b, tg, "openai.chat-completions.stream-text.request.json") })
	b.Run("tools", func(b *testing.B) { benchRequest(b, tg, "openai.chat-completions.tool-result.request.json") })
}

// BenchmarkWasmStreamEvent: one text-delta line through the real
// ollama.wasm.
func BenchmarkWasmStreamEvent(b *testing.B) {
	benchStreamEvent(b, plugintest.Wasm(b, "ollama", nil))
}

func BenchmarkNativeRequest(b *testing.B) {
	b.Run("text", func(b *testing.B) {
		benchRequest(b, plugintest.Native(newPlugin(nil)), "openai.chat-completions.stream-text.request.json")
	})
	b.Run("tools", func(b *testing.B) {
		benchRequest(b, plugintest.Native(newPlugin(nil)), "openai.chat-completions.tool-result.request.json")
	})
}

func BenchmarkNativeStreamEvent(b *testing.B) {
	benchStreamEvent(b, plugintest.Native(newPlugin(nil)))
}
