package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

// now is the host clock the tests pass (UnixMS); created is now/1000.
const (
	now     = 1755137923456
	created = 1755137923
)

// both runs fn natively and on the wasm module, with config cfg.
func both(t *testing.T, cfg string, fn func(t *testing.T, tg plugintest.Target)) {
	t.Helper()
	var c []byte
	if cfg != "" {
		c = []byte(cfg)
	}
	plugintest.Both(t, newPlugin(c), "anthropic", c, fn)
}

func chatIn(model string, flags uint32, body string) *abi.RequestIn {
	return &abi.RequestIn{API: abi.APIChatCompletions, Model: model, Flags: flags, RequestID: "req-1", Body: []byte(body),
		Provider: "anthropic", Options: []byte("{}"), UnixMS: now}
}

func headerMap(hs []abi.Header) map[string]string {
	m := map[string]string{}
	for _, h := range hs {
		m[strings.ToLower(h.Name)] = h.Value
	}
	return m
}

func TestManifest(t *testing.T) {
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		m := tg.Manifest()
		if m.Name != "anthropic" || m.Auth != "header:x-api-key" || m.StreamFraming != "sse" ||
			len(m.APIs) != 1 || m.APIs[0] != abi.APIChatCompletions || m.ABI != 1 || m.Kind != abi.KindProvider {
			t.Fatalf("manifest = %+v", m)
		}
	})
}

// TestGoldenRequests translates the OpenAI fixtures into Anthropic requests
// compared with hand-written goldens (the Anthropic fixtures of the same
// conversations, adjusted to exactly what the OpenAI side says).
func TestGoldenRequests(t *testing.T) {
	tests := []struct {
		oa, golden, model string
		flags             uint32
	}{
		{"chat-completions.tool-result.request.json", "tool-result.anthropic.json", "claude-sonnet-4-20250514", 0},
		{"chat-completions.stream-tools.request.json", "stream-tools.anthropic.json", "claude-sonnet-4-20250514", abi.FlagStream | abi.FlagIncludeUsage},
		{"chat-completions.text.request.json", "text.anthropic.json", "claude-sonnet-4-5", 0},
		{"chat-completions.stream-text.request.json", "stream-text.anthropic.json", "claude-sonnet-4-20250514", abi.FlagStream | abi.FlagIncludeUsage},
		{"chat-completions.tool-calls.request.json", "tool-calls.anthropic.json", "claude-sonnet-4-20250514", 0},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.oa, func(t *testing.T) {
				out, err := tg.Request(chatIn(tt.model, tt.flags, string(plugintest.Fixture(t, "openai/"+tt.oa))))
				if err != nil {
					t.Fatal(err)
				}
				if out.Method != "POST" || out.Path != "/v1/messages" {
					t.Fatalf("method/path = %s %s", out.Method, out.Path)
				}
				hs := headerMap(out.Headers)
				if hs["content-type"] != "application/json" || hs["anthropic-version"] != "2023-06-01" || len(hs) != 2 {
					t.Fatalf("headers = %v", hs)
				}
				plugintest.JSONEqual(t, "body", out.Body, plugintest.Fixture(t, "golden/"+tt.golden))
				st := parseState(out.State)
				if st.created != created || (st.flags&flagWantUsage != 0) != (tt.flags&abi.FlagIncludeUsage != 0) {
					t.Fatalf("state = %+v", st)
				}
			})
		}
	})
}

// TestRequestMapping covers the mapping rules one by one; want is the
// whole Anthropic body.
func TestRequestMapping(t *testing.T) {
	const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC"
	tests := []struct {
		name, model, body, want string
		flags                   uint32
	}{
		{"default max_tokens, string stop, developer + system joined, clamp temperature",
			"claude-sonnet-4-5",
			`{"model":"x","messages":[{"role":"developer","content":"A"},{"role":"system","content":[{"type":"text","text":"B"},{"type":"text","text":"C"}]},{"role":"user","content":"hi"}],"stop":"END","temperature":1.7,"top_p":0.9,"top_k":40,"user":"u-1","seed":7,"presence_penalty":1,"n":1}`,
			`{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"A\n\nBC","messages":[{"role":"user","content":"hi"}],"stop_sequences":["END"],"temperature":1,"top_p":0.9,"top_k":40,"metadata":{"user_id":"u-1"}}`, 0},
		{"model-limited default max_tokens, negative temperature",
			"claude-3-haiku-20240307",
			`{"messages":[{"role":"user","content":"hi"}],"temperature":-1,"safety_identifier":"s-1","stop":["a","",  "b"]}`,
			`{"model":"claude-3-haiku-20240307","max_tokens":4096,"messages":[{"role":"user","content":"hi"}],"temperature":0,"metadata":{"user_id":"s-1"},"stop_sequences":["a","b"]}`, 0},
		{"conversation starting with assistant, merged turns, empty text dropped",
			"m",
			`{"messages":[{"role":"assistant","content":"Hello!"},{"role":"assistant","content":""},{"role":"user","content":"one"},{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"two"}]},{"role":"assistant","content":null}]}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"."},{"role":"assistant","content":"Hello!"},{"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]}]}`, 0},
		{"only a system message gets a synthetic user turn",
			"m",
			`{"messages":[{"role":"system","content":"Write a haiku."}],"max_tokens":50}`,
			`{"model":"m","max_tokens":50,"system":"Write a haiku.","messages":[{"role":"user","content":"."}]}`, 0},
		{"tool results before the user's text, text before tool_use, ids sanitized, empty args",
			"m",
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"Let me look.","tool_calls":[{"id":"call.1:a","type":"function","function":{"name":"f","arguments":""}},{"id":"call_2","type":"function","function":{"name":"g","arguments":" {\"x\": 1} "}}]},{"role":"assistant","content":"more"},{"role":"tool","tool_call_id":"call.1:a","content":""},{"role":"user","content":"and?"},{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"r2"},{"type":"image_url","image_url":{"url":"https://x.test/a.png"}}]}],"max_completion_tokens":100}`,
			`{"model":"m","max_tokens":100,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"Let me look."},{"type":"text","text":"more"},{"type":"tool_use","id":"call_1_a","name":"f","input":{}},{"type":"tool_use","id":"call_2","name":"g","input":{"x": 1}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1_a"},{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"r2"},{"type":"image","source":{"type":"url","url":"https://x.test/a.png"}}]},{"type":"text","text":"and?"}]}]}`, 0},
		{"several blocks moved in front of the second group",
			"m",
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]},{"role":"assistant","content":"a"},{"role":"assistant","content":[{"type":"text","text":"b"}]},{"role":"user","content":"look:"},{"role":"tool","tool_call_id":"c1","content":"r1"},{"role":"tool","tool_call_id":"c2","content":"r2"}]}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"},{"type":"tool_use","id":"c1","name":"f","input":{}},{"type":"tool_use","id":"c2","name":"f","input":{"a":[1,2]}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"r1"},{"type":"tool_result","tool_use_id":"c2","content":"r2"},{"type":"text","text":"look:"}]}]}`, 0},
		{"images, jpg, cache_control on parts and blocks for system",
			"m",
			`{"messages":[{"role":"system","content":[{"type":"text","text":"S1","cache_control":{"type":"ephemeral"}}]},{"role":"system","content":"S2"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/jpg;base64,` + png + `","detail":"high"}},{"type":"image_url","image_url":"https://x.test/b.webp"},{"type":"text","text":"what?","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0x"}}]}]}`,
			`{"model":"m","max_tokens":4096,"system":[{"type":"text","text":"S1","cache_control":{"type":"ephemeral"}},{"type":"text","text":"S2"}],"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"` + png + `"}},{"type":"image","source":{"type":"url","url":"https://x.test/b.webp"}},{"type":"text","text":"what?","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0x"}}]}]}`, 0},
		{"tools without parameters, tool_choice required, parallel false",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"now","strict":true}}],"tool_choice":"required","parallel_tool_calls":false}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`, 0},
		{"parallel false without a choice",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"now","description":"d","parameters":{"type":"object"}}}],"parallel_tool_calls":false}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"now","description":"d","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`, 0},
		{"named function choice",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"now"}}],"tool_choice":{"type":"function","function":{"name":"now"}}}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"tool","name":"now"}}`, 0},
		{"choice none, parallel ignored",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"now"}}],"tool_choice":"none","parallel_tool_calls":true}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"none"}}`, 0},
		{"no tools: tool_choice dropped; json_object ignored",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[],"tool_choice":"auto","parallel_tool_calls":false,"response_format":{"type":"json_object"}}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}]}`, 0},
		{"reasoning high raises max_tokens and drops sampling",
			"claude-sonnet-4-5",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"high","max_tokens":8000,"temperature":0.5,"top_k":5,"top_p":0.5}`,
			`{"model":"claude-sonnet-4-5","max_tokens":24384,"thinking":{"type":"enabled","budget_tokens":16384},"messages":[{"role":"user","content":"q"}]}`, 0},
		{"reasoning medium with the default max_tokens, top_p kept ≥ 0.95",
			"claude-sonnet-4-5",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"medium","top_p":0.96}`,
			`{"model":"claude-sonnet-4-5","max_tokens":8192,"thinking":{"type":"enabled","budget_tokens":4096},"top_p":0.96,"messages":[{"role":"user","content":"q"}]}`, 0},
		{"no thinking when a tool call is forced",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"now"}}],"tool_choice":"required","reasoning_effort":"medium","temperature":0.2}`,
			`{"model":"m","max_tokens":4096,"temperature":0.2,"messages":[{"role":"user","content":"q"}],"tools":[{"name":"now","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any"}}`, 0},
		{"reasoning none",
			"m",
			`{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"none"}`,
			`{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"q"}]}`, 0},
		{"no thinking while the last assistant turn has tool calls",
			"m",
			`{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}],"reasoning_effort":"low","temperature":0.3}`,
			`{"model":"m","max_tokens":4096,"temperature":0.3,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"ok"}]}]}`, 0},
		{"stream flag and model from the body when the host gives none",
			"",
			`{"model":"claude-x","messages":[{"role":"user","content":"q"}],"stream":true}`,
			`{"model":"claude-x","max_tokens":4096,"messages":[{"role":"user","content":"q"}],"stream":true}`, abi.FlagStream},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := tg.Request(chatIn(tt.model, tt.flags, tt.body))
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "body", out.Body, []byte(tt.want))
			})
		}
	})
}

func TestRequestErrors(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"n > 1", `{"messages":[{"role":"user","content":"q"}],"n":2}`, "n"},
		{"invalid tool arguments", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"arguments not an object", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments"},
		{"tool call without id", `{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, "messages[0].tool_calls[0]"},
		{"tool message without id", `{"messages":[{"role":"user","content":"q"},{"role":"tool","content":"x"}]}`, "messages[1].tool_call_id"},
		{"bmp image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]}`, "messages[0].content[0].image_url"},
		{"ftp image", `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"ftp://x/a.png"}}]}]}`, "messages[0].content[1].image_url"},
		{"bad image in a tool result", `{"messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`, "messages[1].content[0].image_url"},
		{"audio", `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}]}]}`, "messages[0].content[0]"},
		{"file id", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content[0].file"},
		{"image from the assistant", `{"messages":[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://x/a.png"}}]}]}`, "messages[0].content[0]"},
		{"function role", `{"messages":[{"role":"function","name":"f","content":"x"}]}`, "messages[0].role"},
		{"unknown effort", `{"messages":[{"role":"user","content":"q"}],"reasoning_effort":"extreme"}`, "reasoning_effort"},
		{"json_schema without schema", `{"messages":[{"role":"user","content":"q"}],"response_format":{"type":"json_schema","json_schema":{"name":"x"}}}`, "response_format"},
		{"custom tool", `{"messages":[{"role":"user","content":"q"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}`, "tools"},
		{"messages missing", `{"model":"m"}`, "messages"},
		{"messages empty", `{"model":"m","messages":[ ]}`, "messages"},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tg.Request(chatIn("m", 0, tt.body))
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != 400 || ae.Type != "invalid_request_error" || ae.Param != tt.param || ae.Message == "" || ae.Retryable {
					t.Fatalf("got %+v, want a 400 about %s", ae, tt.param)
				}
			})
		}
		_, err := tg.Request(&abi.RequestIn{API: abi.APIEmbeddings, Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Code != "unsupported_api" {
			t.Fatalf("embeddings: %+v", ae)
		}
	})
}

func TestConfigAndOptions(t *testing.T) {
	const body = `{"messages":[{"role":"user","content":"q"}]}`
	cfg := `{"version":"2024-01-01","beta":["prompt-caching-2024-07-31"," output-128k-2025-02-19"],"default_max_tokens":1000}`
	both(t, cfg, func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Request(chatIn("claude-3-5-haiku-latest", 0, body))
		if err != nil {
			t.Fatal(err)
		}
		hs := headerMap(out.Headers)
		if hs["anthropic-version"] != "2024-01-01" || hs["anthropic-beta"] != "prompt-caching-2024-07-31,output-128k-2025-02-19" {
			t.Fatalf("headers = %v", hs)
		}
		plugintest.JSONEqual(t, "body", out.Body, []byte(`{"model":"claude-3-5-haiku-latest","max_tokens":1000,"messages":[{"role":"user","content":"q"}]}`))

		in := chatIn("claude-3-5-haiku-latest", 0, body)
		in.Options = []byte(`{"beta":"b1","default_max_tokens":20000,"version":"2023-06-01","other":1}`)
		if out, err = tg.Request(in); err != nil {
			t.Fatal(err)
		}
		hs = headerMap(out.Headers)
		if hs["anthropic-version"] != "2023-06-01" || hs["anthropic-beta"] != "b1" {
			t.Fatalf("headers with options = %v", hs)
		}
		// 20000 is above Claude 3.5 Haiku's 8192 output tokens.
		plugintest.JSONEqual(t, "body", out.Body, []byte(`{"model":"claude-3-5-haiku-latest","max_tokens":8192,"messages":[{"role":"user","content":"q"}]}`))

		in.Options = []byte(`{"flavor":"x"}`)
		if out, err = tg.Request(in); err != nil {
			t.Fatal(err)
		}
		if hs = headerMap(out.Headers); hs["anthropic-version"] != "2024-01-01" || hs["anthropic-beta"] == "" {
			t.Fatalf("unrelated options changed the headers: %v", hs)
		}
	})
}

func TestGoldenResponses(t *testing.T) {
	tests := []struct {
		file, golden string
		usage        abi.Usage
	}{
		{"messages-text.response.json", "text.openai.json", abi.Usage{InputTokens: 1946, OutputTokens: 48, CachedTokens: 1850}},
		{"messages-tool-use.response.json", "tool-use.openai.json", abi.Usage{InputTokens: 512, OutputTokens: 118}},
		{"messages-stop-sequence.response.json", "stop-sequence.openai.json", abi.Usage{InputTokens: 27, OutputTokens: 7}},
		{"messages-max-tokens.response.json", "max-tokens.openai.json", abi.Usage{InputTokens: 31, OutputTokens: 16}},
		{"messages-thinking.response.json", "thinking.openai.json", abi.Usage{InputTokens: 1820, OutputTokens: 90, CachedTokens: 300, CacheWriteTokens: 1500, ReasoningTokens: 60}},
		{"messages-tool-only.response.json", "tool-only.openai.json", abi.Usage{InputTokens: 12, OutputTokens: 5}},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		req, err := tg.Request(chatIn("claude-sonnet-4-20250514", 0, `{"messages":[{"role":"user","content":"q"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				out, err := tg.Response(&abi.ResponseIn{State: req.State, Status: 200, Body: plugintest.Fixture(t, tt.file),
					Headers: []abi.Header{{Name: "Content-Type", Value: "application/json"}}})
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "completion", out.Body, plugintest.Fixture(t, "golden/"+tt.golden))
				if out.Usage == nil || *out.Usage != tt.usage {
					t.Fatalf("usage = %+v, want %+v", out.Usage, tt.usage)
				}
			})
		}
		t.Run("refusal and unknown stop reasons", func(t *testing.T) {
			for stop, want := range map[string]string{"refusal": "content_filter", "pause_turn": "stop", "model_context_window_exceeded": "length", "something_new": "stop"} {
				out, err := tg.Response(&abi.ResponseIn{State: req.State, Status: 200, Body: []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"No."}],"stop_reason":"` + stop + `","usage":{"input_tokens":1,"output_tokens":1}}`)})
				if err != nil {
					t.Fatal(err)
				}
				var v struct {
					Choices []struct {
						FinishReason string `json:"finish_reason"`
					}
				}
				if json.Unmarshal(out.Body, &v) != nil || len(v.Choices) != 1 || v.Choices[0].FinishReason != want {
					t.Fatalf("%s: %s", stop, out.Body)
				}
			}
		})
		t.Run("broken bodies", func(t *testing.T) {
			for _, body := range []string{`{"id":`, `[1]`, `{"type":"error","error":{"type":"api_error","message":"boom"}}`} {
				_, err := tg.Response(&abi.ResponseIn{State: req.State, Status: 200, Body: []byte(body)})
				if ae := plugintest.ErrorOf(t, err); ae.Status != 502 || !ae.Retryable {
					t.Fatalf("%s: %+v", body, ae)
				}
			}
		})
	})
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		file       string
		status     uint32
		headers    []abi.Header
		wantStatus int
		wantType   string
		wantCode   string
		retryable  bool
		retryMS    int64
		hideMsg    bool
	}{
		{"error-400-invalid-request.response.json", 400, nil, 400, "invalid_request_error", "", false, 0, false},
		{"error-401-authentication.response.json", 401, nil, 502, "upstream_error", "upstream_auth_failed", true, 0, true},
		{"error-403-permission.response.json", 403, nil, 502, "upstream_error", "upstream_auth_failed", true, 0, true},
		{"error-404-not-found.response.json", 404, nil, 404, "invalid_request_error", "model_not_found", false, 0, false},
		{"error-429-rate-limit.response.json", 429, []abi.Header{{Name: "retry-after", Value: "15"}, {Name: "x-should-retry", Value: "true"}}, 429, "rate_limit_error", "rate_limit_exceeded", true, 15000, false},
		{"error-500-api-error.response.json", 500, nil, 502, "upstream_error", "", true, 0, false},
		{"error-529-overloaded.response.json", 529, []abi.Header{{Name: "Retry-After", Value: "2"}}, 503, "upstream_overloaded", "", true, 2000, false},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				body := plugintest.Fixture(t, tt.file)
				_, err := tg.Response(&abi.ResponseIn{Status: tt.status, Headers: tt.headers, Body: body})
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != tt.wantStatus || ae.Type != tt.wantType || ae.Code != tt.wantCode || ae.Retryable != tt.retryable || ae.RetryAfterMS != tt.retryMS || ae.Message == "" {
					t.Fatalf("got %+v", ae)
				}
				var e struct{ Error struct{ Message string } }
				json.Unmarshal(body, &e)
				if tt.hideMsg == (ae.Message == e.Error.Message) {
					t.Fatalf("message %q (provider's %q, hidden: %v)", ae.Message, e.Error.Message, tt.hideMsg)
				}
			})
		}
		for _, tt := range []struct {
			name       string
			status     uint32
			body       string
			wantStatus int
			wantType   string
			retryable  bool
		}{
			{"low credit", 400, `{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}}`, 429, "insufficient_quota", false},
			{"billing_error", 402, `{"type":"error","error":{"type":"billing_error","message":"billing"}}`, 429, "insufficient_quota", false},
			{"overloaded type on a 500", 500, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 503, "upstream_overloaded", true},
			{"timeout", 504, `{"type":"error","error":{"type":"timeout_error","message":"timeout"}}`, 504, "upstream_timeout", true},
			{"too large", 413, `<html>Request Entity Too Large</html>`, 413, "invalid_request_error", false},
			{"html 502", 502, `<html>bad gateway</html>`, 502, "upstream_error", true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tg.Response(&abi.ResponseIn{Status: tt.status, Body: []byte(tt.body)})
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != tt.wantStatus || ae.Type != tt.wantType || ae.Retryable != tt.retryable || ae.Message == "" {
					t.Fatalf("got %+v", ae)
				}
			})
		}
	})
}

// goldenChunks compares a stream's chunks with a golden JSON array.
func goldenChunks(t *testing.T, got []string, golden string) {
	t.Helper()
	var want []json.RawMessage
	if err := json.Unmarshal(plugintest.Fixture(t, "golden/"+golden), &want); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		plugintest.JSONEqual(t, "chunk "+strconv.Itoa(i), []byte(got[i]), want[i])
	}
}

func TestGoldenStreams(t *testing.T) {
	tests := []struct {
		file, golden string
		flags        uint32
		usage        abi.Usage
		done         bool
		errType      string
	}{
		{"messages-stream-text.response.sse", "stream-text.chunks.json", abi.FlagStream | abi.FlagIncludeUsage, abi.Usage{InputTokens: 25, OutputTokens: 9}, true, ""},
		{"messages-stream-tool-use.response.sse", "stream-tool-use.chunks.json", abi.FlagStream, abi.Usage{InputTokens: 512, OutputTokens: 118}, true, ""},
		{"messages-stream-thinking.response.sse", "stream-thinking.chunks.json", abi.FlagStream | abi.FlagIncludeUsage, abi.Usage{InputTokens: 160, OutputTokens: 42, CachedTokens: 100, CacheWriteTokens: 50, ReasoningTokens: 30}, true, ""},
		{"messages-stream-error.response.sse", "stream-error.chunks.json", abi.FlagStream | abi.FlagIncludeUsage, abi.Usage{InputTokens: 25, OutputTokens: 1}, false, "overloaded_error"},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				req, err := tg.Request(chatIn("claude-sonnet-4-20250514", tt.flags, `{"messages":[{"role":"user","content":"q"}],"stream":true}`))
				if err != nil {
					t.Fatal(err)
				}
				res := plugintest.Stream(t, tg, req.State, plugintest.Fixture(t, tt.file))
				goldenChunks(t, res.Chunks, tt.golden)
				if res.Usage == nil || *res.Usage != tt.usage || res.Done != tt.done || res.FramingErr != nil {
					t.Fatalf("result: %s", res)
				}
				if tt.errType == "" {
					if res.Err != nil {
						t.Fatalf("error: %+v", res.Err)
					}
				} else if res.Err == nil || res.Err.Type != tt.errType || res.Err.Status != 502 || !res.Err.Retryable || res.Err.Message != "Overloaded" {
					t.Fatalf("error: %+v", res.Err)
				}
			})
		}
	})
}

// TestStreamEdges feeds hand-made events: a stream without event names
// (type read from data), text in a block start, a tool block without any
// fragment, a second message_delta, and a non-retryable error.
func TestStreamEdges(t *testing.T) {
	p := newPlugin(nil)
	req, err := plugintest.Native(p).Request(chatIn("m", abi.FlagStream, `{"messages":[{"role":"user","content":"q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	evs := []abi.Event{
		{Data: []byte(`{"type":"message_start","message":{"id":"msg_e","model":"c","usage":{"input_tokens":3,"output_tokens":1}}}`)},
		{Name: []byte("content_block_start"), Data: []byte(`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}`)},
		{Name: []byte("content_block_stop"), Data: []byte(`{"type":"content_block_stop","index":0}`)},
		{Name: []byte("content_block_delta"), Data: []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{}"}}`)},
		{Name: []byte("content_block_start"), Data: []byte(`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}`)},
		{Name: []byte("content_block_stop"), Data: []byte(`{"type":"content_block_stop","index":1}`)},
		{Name: []byte("message_delta"), Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":7}}`)},
		{Name: []byte("message_delta"), Data: []byte(`{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":8}}`)},
		{Name: []byte("future_event"), Data: []byte(`{"type":"future_event"}`)},
		{Name: []byte("error"), Data: []byte(`{"type":"error","error":{"type":"invalid_request_error","message":"bad"}}`)},
	}
	res := provider.Invoke(p, abi.ExportStreamEvent, (&abi.StreamIn{State: req.State, Events: evs}).Append(nil))
	status, rec, _ := abi.SplitResult(res)
	var out abi.StreamOut
	if status != abi.StatusOK || out.Parse(rec) != nil {
		t.Fatalf("result %q", res)
	}
	want := []string{
		`{"role":"assistant","content":""}`,
		`{"content":"Hi"}`,
		`{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"f","arguments":""}}]}`,
		`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`,
		`{}`,
	}
	if len(out.Chunks) != len(want) {
		t.Fatalf("%d chunks: %q", len(out.Chunks), out.Chunks)
	}
	for i, c := range out.Chunks {
		var v struct {
			ID      string
			Choices []struct {
				Delta        json.RawMessage
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal(c, &v); err != nil || v.ID != "msg_e" || len(v.Choices) != 1 {
			t.Fatalf("chunk %d: %s", i, c)
		}
		plugintest.JSONEqual(t, "delta", v.Choices[0].Delta, []byte(want[i]))
		if (i == len(want)-1) != (v.Choices[0].FinishReason != nil) || i == len(want)-1 && *v.Choices[0].FinishReason != "length" {
			t.Fatalf("finish of chunk %d: %s", i, c)
		}
	}
	if out.Usage == nil || *out.Usage != (abi.Usage{InputTokens: 3, OutputTokens: 8}) || out.Flags != 0 {
		t.Fatalf("usage %+v flags %d", out.Usage, out.Flags)
	}
	if out.Error == nil || out.Error.Retryable || out.Error.Type != "invalid_request_error" || out.Error.Message != "bad" {
		t.Fatalf("error %+v", out.Error)
	}
}

func TestStateRoundTrip(t *testing.T) {
	s := streamState{flags: flagWantUsage | flagToolArgs, created: created, tools: 3, toolBlock: 5,
		usage: anUsage{1, 2, 3, 4, 5}, id: "msg_01", model: "claude-sonnet-4-5"}
	b := s.encode()
	if got := parseState(b); got != s {
		t.Fatalf("round trip %+v != %+v", got, s)
	}
	if len(b) > 64 {
		t.Fatalf("state is %d bytes", len(b))
	}
	for i := range b { // truncated states decode without panicking
		parseState(b[:i])
	}
}

func FuzzRequest(f *testing.F) {
	for _, name := range []string{"chat-completions.tool-result.request.json", "chat-completions.stream-tools.request.json", "chat-completions.text.request.json"} {
		f.Add(plugintest.Fixture(f, "openai/"+name), uint32(abi.FlagStream), []byte(`{}`))
	}
	f.Add([]byte(`{"messages":[{"role":"tool","tool_call_id":"x","content":[{"type":"text","text":"a"}]},{"role":"user","content":"b"},{"role":"tool","tool_call_id":"y"}]}`), uint32(0), []byte(`{"beta":["a"]}`))
	f.Add([]byte(`{"messages":[{"role":"assistant","content":"a","tool_calls":[{"id":"c","function":{"name":"f"}}]},{"role":"assistant","content":[{"type":"text","text":"b"}]}],"reasoning_effort":"high"}`), uint32(0), []byte(nil))
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, body []byte, flags uint32, options []byte) {
		if !json.Valid(body) {
			return // the host validates bodies
		}
		in := chatIn("claude", flags, string(body))
		in.Options = options
		st, rec, err := abi.SplitResult(provider.Invoke(p, abi.ExportRequest, in.Append(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if st == abi.StatusError {
			var f [1][]byte
			abi.Fields(rec, f[:])
			var ae abi.Error
			if json.Unmarshal(f[0], &ae) != nil || ae.Type == "plugin_error" {
				t.Fatalf("error %s for %s", f[0], body)
			}
			return
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(out.Body, &v); err != nil {
			t.Fatalf("invalid upstream body %v:\n%s\nfrom %s", err, out.Body, body)
		}
		msgs, _ := v["messages"].([]any)
		if len(msgs) == 0 || msgs[0].(map[string]any)["role"] != "user" {
			t.Fatalf("messages must start with a user turn: %s", out.Body)
		}
		for i := 1; i < len(msgs); i++ {
			if msgs[i].(map[string]any)["role"] == msgs[i-1].(map[string]any)["role"] {
				t.Fatalf("roles must alternate: %s", out.Body)
			}
		}
	})
}

func FuzzStreamEvent(f *testing.F) {
	for _, name := range []string{"messages-stream-text.response.sse", "messages-stream-tool-use.response.sse", "messages-stream-thinking.response.sse"} {
		for _, ev := range strings.Split(string(plugintest.Fixture(f, name)), "\n\n") {
			n, d, ok := strings.Cut(ev, "\ndata: ")
			if ok {
				f.Add(strings.TrimPrefix(n, "event: "), []byte(d), []byte{stateVersion, flagWantUsage, 1, 2, 1})
			}
		}
	}
	f.Add("content_block_stop", []byte(`{"index":-1}`), []byte{stateVersion, 0, 0, 1, 0})
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, name string, data, state []byte) {
		res := provider.Invoke(p, abi.ExportStreamEvent, (&abi.StreamIn{State: state, Events: []abi.Event{{Name: []byte(name), Data: data}, {Name: []byte(name), Data: data}}}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil || st != abi.StatusOK {
			t.Fatalf("status %d %v: %q", st, err, rec)
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Chunks {
			if !json.Valid(c) {
				t.Fatalf("invalid chunk %s", c)
			}
		}
	})
}

// typicalRequest is a typical chat request: a system prompt, a short
// conversation, sampling parameters, a stream with usage.
const typicalRequest = `{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely."},{"role":"user","content":"What is the capital of Australia?"},{"role":"assistant","content":"Canberra."},{"role":"user","content":"Why not Sydney? Give me the short history."}],"temperature":0.7,"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}}`

// toolsRequest is a chat request with a tool, a tool call and its result.
const toolsRequest = `{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"You are a concise weather assistant. Use the get_weather tool for live data."},{"role":"user","content":"What's the weather in Paris?"},{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"{\"temperature_c\":18,\"conditions\":\"light rain\"}"},{"role":"user","content":"And should I take an umbrella?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a city.","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto","temperature":0.7,"max_completion_tokens":1024,"stream":true,"stream_options":{"include_usage":true}}`

const typicalEvent = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" Yes, take an umbrella: light rain is expected"}}`

func benchState() []byte {
	s := streamState{flags: flagWantUsage, created: created, usage: anUsage{input: 120, output: 1},
		id: "msg_01JRXf6yNU3hiFXzP6d6nvFE", model: "claude-sonnet-4-5-20250929"}
	return s.encode()
}

func BenchmarkWasmRequest(b *testing.B) {
	tg := plugintest.Wasm(b, "anthropic", nil)
	in := chatIn("claude-sonnet-4-5", abi.FlagStream|abi.FlagIncludeUsage, typicalRequest)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWasmRequestTools(b *testing.B) {
	tg := plugintest.Wasm(b, "anthropic", nil)
	in := chatIn("claude-sonnet-4-5", abi.FlagStream|abi.FlagIncludeUsage, toolsRequest)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWasmStreamEvent(b *testing.B) {
	tg := plugintest.Wasm(b, "anthropic", nil)
	in := &abi.StreamIn{State: benchState(), Events: []abi.Event{{Name: []byte("content_block_delta"), Data: []byte(typicalEvent)}}}
	b.ReportAllocs()
	for b.Loop() {
		if out, err := tg.StreamEvent(in); err != nil || len(out.Chunks) != 1 {
			b.Fatal(out, err)
		}
	}
}

func BenchmarkNativeRequest(b *testing.B) {
	p := newPlugin(nil)
	in := chatIn("claude-sonnet-4-5", abi.FlagStream|abi.FlagIncludeUsage, typicalRequest).Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if res := provider.Invoke(p, abi.ExportRequest, in); res[0] != abi.StatusOK {
			b.Fatal(string(res))
		}
	}
}

func BenchmarkNativeStreamEvent(b *testing.B) {
	p := newPlugin(nil)
	in := (&abi.StreamIn{State: benchState(), Events: []abi.Event{{Name: []byte("content_block_delta"), Data: []byte(typicalEvent)}}}).Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if res := provider.Invoke(p, abi.ExportStreamEvent, in); res[0] != abi.StatusOK {
			b.Fatal(string(res))
		}
	}
}

// slowChunks runs a content_block_delta event through the general gjson
// path, bypassing the text-delta fast path.
func slowChunks(t testing.TB, data []byte) [][]byte {
	out := abi.StreamOut{State: benchState()}
	if err := contentDelta(data, &out); err != nil {
		t.Fatal(err)
	}
	return out.Chunks
}

func fastChunks(t testing.TB, data []byte) (chunks [][]byte, ok bool) {
	lit, ok := textDelta(data)
	if !ok {
		return nil, false
	}
	out := abi.StreamOut{State: benchState()}
	if err := (&plugin{}).StreamEvent(abi.Event{Name: []byte("content_block_delta"), Data: data}, &out); err != nil {
		t.Fatal(err)
	}
	if len(lit) <= 2 && len(out.Chunks) != 0 {
		t.Fatalf("empty text gave chunks")
	}
	return out.Chunks, true
}

func TestTextDeltaFastPath(t *testing.T) {
	for _, tt := range []struct {
		data string
		fast bool
	}{
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour"}}`, true},
		{`{"type":"content_block_delta","index":12,"delta":{"type":"text_delta","text":"a \"q\" \\ \u00e9\n\ud83d\ude00 é"}   }`, true},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}`, true},
		{"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}\n}\n", true},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}`, false},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"},"extra":1}`, false},
		{`{"type":"content_block_delta","delta":{"type":"text_delta","text":"x"},"index":0}`, false},
		{`{"type":"content_block_delta","index":0,"delta":{"text":"x","type":"text_delta"}}`, false},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bad \q escape"}}`, false},
		{"{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ctl \x01\"}}", false},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\u12"}}`, false},
		{`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"open}}`, false},
		{`{"type":"content_block_delta","index":,"delta":{"type":"text_delta","text":"x"}}`, false},
	} {
		fast, ok := fastChunks(t, []byte(tt.data))
		if ok != tt.fast {
			t.Fatalf("%s: fast path %v, want %v", tt.data, ok, tt.fast)
		}
		slow := slowChunks(t, []byte(tt.data))
		for _, c := range slow {
			if !json.Valid(c) {
				t.Fatalf("%s: invalid chunk %s", tt.data, c)
			}
		}
		if ok && (len(fast) != len(slow) || len(fast) == 1 && string(fast[0]) != string(slow[0])) {
			t.Fatalf("%s:\nfast %q\nslow %q", tt.data, fast, slow)
		}
	}
}

func FuzzTextDelta(f *testing.F) {
	f.Add([]byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Bonjour"}}`))
	f.Add([]byte(`{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"\u00e9\"x"}  }`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastChunks(t, data)
		if !ok {
			return
		}
		for _, c := range fast {
			if !json.Valid(c) {
				t.Fatalf("%q: invalid chunk %s", data, c)
			}
		}
		if !json.Valid(data) {
			return // gjson reads broken JSON its own way
		}
		slow := slowChunks(t, data)
		if len(fast) != len(slow) || len(fast) == 1 && string(fast[0]) != string(slow[0]) {
			t.Fatalf("%q:\nfast %q\nslow %q", data, fast, slow)
		}
	})
}

// FuzzConversation builds valid conversations from a palette of messages
// and checks the turn invariants Anthropic needs: a user turn first, roles
// alternating, no empty turn, tool results before other blocks in a user
// turn, text before tool_use in an assistant turn, and every input block
// present once and in order within its group.
func FuzzConversation(f *testing.F) {
	f.Add([]byte{0, 4, 6, 0})
	f.Add([]byte{3, 5, 3, 0, 6, 7, 1, 10, 8})
	f.Add([]byte{8, 9, 2, 11, 4, 0, 6, 6, 5, 3, 7})
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 || len(script) > 40 { // no messages is a 400
			return
		}
		var msgs []string
		calls, results := 0, 0
		for i, op := range script {
			id := "c" + strconv.Itoa(i)
			switch op % 12 {
			case 0:
				msgs = append(msgs, `{"role":"user","content":"u`+strconv.Itoa(i)+`"}`)
			case 1:
				msgs = append(msgs, `{"role":"user","content":""}`)
			case 2:
				msgs = append(msgs, `{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"p`+strconv.Itoa(i)+`"},{"type":"image_url","image_url":{"url":"https://x/i.png"}}]}`)
			case 3:
				msgs = append(msgs, `{"role":"assistant","content":"a`+strconv.Itoa(i)+`"}`)
			case 4:
				msgs = append(msgs, `{"role":"assistant","content":null,"tool_calls":[{"id":"`+id+`","type":"function","function":{"name":"f","arguments":"{}"}}]}`)
				calls++
			case 5:
				msgs = append(msgs, `{"role":"assistant","content":[{"type":"text","text":"t`+strconv.Itoa(i)+`"}],"tool_calls":[{"id":"`+id+`","type":"function","function":{"name":"f","arguments":"{\"k\":1}"}},{"id":"`+id+`b","type":"function","function":{"name":"g","arguments":""}}]}`)
				calls += 2
			case 6:
				msgs = append(msgs, `{"role":"tool","tool_call_id":"`+id+`","content":"r"}`)
				results++
			case 7:
				msgs = append(msgs, `{"role":"tool","tool_call_id":"`+id+`","content":[{"type":"text","text":"r"}]}`)
				results++
			case 8:
				msgs = append(msgs, `{"role":"system","content":"s"}`)
			case 9:
				msgs = append(msgs, `{"role":"developer","content":[{"type":"text","text":"d","cache_control":{"type":"ephemeral"}}]}`)
			case 10:
				msgs = append(msgs, `{"role":"assistant","content":""}`)
			case 11:
				msgs = append(msgs, `{"role":"user","content":[{"type":"text","text":"c`+strconv.Itoa(i)+`","cache_control":{"type":"ephemeral"}}]}`)
			}
		}
		body := `{"messages":[` + strings.Join(msgs, ",") + `]}`
		st, rec, err := abi.SplitResult(provider.Invoke(p, abi.ExportRequest, chatIn("m", 0, body).Append(nil)))
		if err != nil || st != abi.StatusOK {
			t.Fatalf("status %d %v %q for %s", st, err, rec, body)
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		var v struct {
			Messages []struct {
				Role    string
				Content json.RawMessage
			}
		}
		if err := json.Unmarshal(out.Body, &v); err != nil {
			t.Fatalf("%v: %s", err, out.Body)
		}
		if len(v.Messages) == 0 || v.Messages[0].Role != "user" {
			t.Fatalf("first turn: %s", out.Body)
		}
		gotCalls, gotResults := 0, 0
		for i, m := range v.Messages {
			if i > 0 && m.Role == v.Messages[i-1].Role {
				t.Fatalf("turns %d and %d share a role: %s", i-1, i, out.Body)
			}
			var s string
			if json.Unmarshal(m.Content, &s) == nil {
				if s == "" {
					t.Fatalf("empty string turn: %s", out.Body)
				}
				continue
			}
			var blocks []struct {
				Type string
				Text *string
			}
			if err := json.Unmarshal(m.Content, &blocks); err != nil || len(blocks) == 0 {
				t.Fatalf("turn %d: %v %s", i, err, out.Body)
			}
			second := false
			for _, b := range blocks {
				first := m.Role == "user" && b.Type == "tool_result" || m.Role == "assistant" && b.Type == "text"
				if first && second {
					t.Fatalf("turn %d: a %s block after the second group: %s", i, b.Type, out.Body)
				}
				second = second || !first
				if b.Type == "text" && (b.Text == nil || *b.Text == "") {
					t.Fatalf("empty text block: %s", out.Body)
				}
				switch b.Type {
				case "tool_use":
					gotCalls++
				case "tool_result":
					gotResults++
				}
			}
		}
		if gotCalls != calls || gotResults != results {
			t.Fatalf("%d calls, %d results; want %d, %d: %s", gotCalls, gotResults, calls, results, out.Body)
		}
	})
}

// TestStreamStopWithoutDelta: a message_stop without a message_delta still
// ends the choice with a finish chunk (and the usage chunk when asked).
func TestStreamStopWithoutDelta(t *testing.T) {
	p := newPlugin(nil)
	req, err := plugintest.Native(p).Request(chatIn("m", abi.FlagStream|abi.FlagIncludeUsage, `{"messages":[{"role":"user","content":"q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	res := plugintest.Stream(t, plugintest.Native(p), req.State, []byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_s\",\"model\":\"c\",\"usage\":{\"input_tokens\":2,\"output_tokens\":1}}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	if len(res.Chunks) != 3 || !strings.Contains(res.Chunks[1], `"finish_reason":"stop"`) || !strings.Contains(res.Chunks[2], `"choices":[]`) || !res.Done {
		t.Fatalf("%s", res)
	}
}
