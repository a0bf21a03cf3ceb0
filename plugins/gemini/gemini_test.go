package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/oai"
	"github.com/aignehub/hub/sdk/provider"
)

// -update rewrites the golden files from the plugin's output. The first
// versions were written by hand from MAPPING.md; review any diff it makes.
var update = flag.Bool("update", false, "rewrite golden files")

const (
	reqID   = "req_2f9c1d"
	nowMS   = 1760000000123
	created = 1760000000
)

var testConfig = []byte(`{"headers":{"X-Extra":"v"}}`)

func newTestPlugin() *plugin { return newPlugin(testConfig) }

func chatIn(file, model string, flags uint32, options string) *abi.RequestIn {
	return &abi.RequestIn{API: abi.APIChatCompletions, Model: model, Flags: flags, RequestID: reqID,
		Body: []byte(file), Provider: "google", Options: []byte(options), UnixMS: nowMS}
}

func fixture(t testing.TB, name string) string { return string(plugintest.Fixture(t, name)) }

// golden compares got with testdata/golden/name as JSON; "$CALLn" in the
// golden file stands for oai.ToolCallID(reqID, n).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, name, got, []byte(callIDs(string(want))))
}

func callIDs(s string) string {
	for i := 0; i < 4; i++ {
		s = strings.ReplaceAll(s, "$CALL"+string(rune('0'+i)), oai.ToolCallID(reqID, i))
	}
	return s
}

func header(hs []abi.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func TestManifest(t *testing.T) {
	plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
		m := tg.Manifest()
		if m.Name != "gemini" || m.ABI != 1 || m.Kind != "provider" || m.Auth != "header:x-goog-api-key" || m.StreamFraming != "sse" ||
			strings.Join(m.APIs, ",") != "chat.completions,embeddings,images.generations" {
			t.Fatalf("manifest = %+v", m)
		}
	})
}

func TestChatRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name, in, model string
		flags           uint32
		options         string
		golden, path    string
	}{
		{"tool-result", "openai.chat-completions.tool-result.request.json", "gemini-2.5-flash", 0, "",
			"tool-result.request.json", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"stream-tools", "openai.chat-completions.stream-tools.request.json", "gemini-2.5-flash", abi.FlagStream | abi.FlagIncludeUsage, "",
			"stream-tools.request.json", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
		{"text with reasoning_effort", "openai.chat-completions.text.request.json", "gemini-2.5-pro", 0, "{}",
			"text.request.json", "/v1beta/models/gemini-2.5-pro:generateContent"},
		{"tool-calls", "openai.chat-completions.tool-calls.request.json", "models/gemini-2.5-flash", 0, "",
			"tool-calls.request.json", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{"the fixture's function-response request", "function-response.oa.request.json", "gemini-2.5-flash", 0, "",
			"function-response.request.json", "/v1beta/models/gemini-2.5-flash:generateContent"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
				out, err := tg.Request(chatIn(fixture(t, tt.in), tt.model, tt.flags, tt.options))
				if err != nil {
					t.Fatal(err)
				}
				if out.Method != "POST" || out.Path != tt.path {
					t.Fatalf("%s %s", out.Method, out.Path)
				}
				if header(out.Headers, "Content-Type") != "application/json" || header(out.Headers, "X-Extra") != "v" {
					t.Fatalf("headers %v", out.Headers)
				}
				if header(out.Headers, "x-goog-api-key") != "" || header(out.Headers, "Authorization") != "" {
					t.Fatal("the plugin must never set credentials")
				}
				golden(t, tt.golden, out.Body)
			})
		})
	}
}

// TestChatRequestCases covers the translation rules one at a time; want is
// the whole upstream body.
func TestChatRequestCases(t *testing.T) {
	const user = `{"role":"user","content":"hi"}`
	const userTurn = `{"role":"user","parts":[{"text":"hi"}]}`
	tool := func(params string) string {
		return `"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":` + params + `}}]`
	}
	for _, tt := range []struct {
		name, body, model, options, want string
		flags                            uint32
	}{
		{name: "plain", body: `{"messages":[` + user + `]}`,
			want: `{"contents":[` + userTurn + `]}`},
		{name: "developer and mid-conversation system are hoisted in order",
			body: `{"messages":[{"role":"developer","content":"a"},` + user + `,{"role":"system","content":[{"type":"text","text":"b"},{"type":"text","text":"c"}]}]}`,
			want: `{"contents":[` + userTurn + `],"systemInstruction":{"parts":[{"text":"a"},{"text":"bc"}]}}`},
		{name: "system only becomes the user turn", body: `{"messages":[{"role":"system","content":"write a haiku"}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"write a haiku"}]}]}`},
		{name: "leading assistant gets a synthetic user turn; same roles merge",
			body: `{"messages":[{"role":"assistant","content":"Hello!"},{"role":"assistant","content":"How can I help?"},` + user + `,{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"there"}]}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"."}]},{"role":"model","parts":[{"text":"Hello!"},{"text":"How can I help?"}]},{"role":"user","parts":[{"text":"hi"},{"text":"there"}]}]}`},
		{name: "tool results: non-object wrapped, legacy function role, then user text merged",
			body: `{"messages":[` + user + `,{"role":"assistant","content":"let me look","tool_calls":[{"id":"c1","type":"function","function":{"name":"lookup","arguments":""}},{"id":"c2","type":"function","function":{"name":"count","arguments":"{}"}}]},` +
				`{"role":"tool","tool_call_id":"c1","content":"It is \"sunny\""},{"role":"tool","tool_call_id":"c2","content":"[1,2]"},{"role":"function","name":"legacy","content":"{\"ok\":true}"},{"role":"user","content":"thanks"}]}`,
			want: `{"contents":[` + userTurn + `,{"role":"model","parts":[{"text":"let me look"},{"functionCall":{"name":"lookup","args":{}}},{"functionCall":{"name":"count","args":{}}}]},` +
				`{"role":"user","parts":[{"functionResponse":{"name":"lookup","response":{"result":"It is \"sunny\""}}},{"functionResponse":{"name":"count","response":{"result":"[1,2]"}}},{"functionResponse":{"name":"legacy","response":{"ok":true}}},{"text":"thanks"}]}]}`},
		{name: "Gemini 3 replay gets the placeholder signature on the first call of a turn", model: "gemini-3-pro-preview",
			body: `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"c2","function":{"name":"b","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"{}"},{"role":"tool","tool_call_id":"c2","content":"{}"}]}`,
			want: `{"contents":[` + userTurn + `,{"role":"model","parts":[{"functionCall":{"name":"a","args":{"x":1}},"thoughtSignature":"skip_thought_signature_validator"},{"functionCall":{"name":"b","args":{}}}]},` +
				`{"role":"user","parts":[{"functionResponse":{"name":"a","response":{}}},{"functionResponse":{"name":"b","response":{}}}]}]}`},
		{name: "the placeholder can be turned off", model: "gemini-3-pro-preview", options: `{"thought_signature_fallback":false}`,
			body: `{"messages":[` + user + `,{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"a","arguments":"{}"}}]}]}`,
			want: `{"contents":[` + userTurn + `,{"role":"model","parts":[{"functionCall":{"name":"a","args":{}}}]}]}`},
		{name: "options: api_version, safety settings, json_schema parameters; stop string; sampling", options: `{"api_version":"v1alpha","function_schema":"json_schema","safety_settings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}`,
			body: `{"messages":[` + user + `],` + tool(`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}`) + `,"stop":"END","top_p":0.5,"top_k":40,"seed":7,"presence_penalty":0.1,"frequency_penalty":-0.2,"n":2,"max_tokens":50,"response_format":{"type":"json_object"}}`,
			want: `{"contents":[` + userTurn + `],"tools":[{"functionDeclarations":[{"name":"f","description":"d","parametersJsonSchema":{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}}]}],` +
				`"generationConfig":{"maxOutputTokens":50,"topP":0.5,"topK":40,"stopSequences":["END"],"candidateCount":2,"seed":7,"presencePenalty":0.1,"frequencyPenalty":-0.2,"responseMimeType":"application/json"},` +
				`"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}`},
		{name: "schema sanitized recursively",
			body: `{"messages":[` + user + `],` + tool(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{`+
				`"a":{"type":["string","null"],"format":"uri","minLength":1},`+
				`"b":{"const":"x","description":"fixed"},`+
				`"c":{"type":"array","items":{"type":"object","properties":{"d":{"type":"integer","format":"int64","enum":[1,2]}},"additionalProperties":false,"propertyNames":{"pattern":"^x"}}},`+
				`"e":{"oneOf":[{"type":"string"},{"type":"number","minimum":0}]}},"required":["a"],"additionalProperties":false,"strict":true}`) + `}`,
			want: `{"contents":[` + userTurn + `],"tools":[{"functionDeclarations":[{"name":"f","description":"d","parameters":{"type":"object","properties":{` +
				`"a":{"type":"string","nullable":true,"minLength":1},` +
				`"b":{"enum":["x"],"description":"fixed"},` +
				`"c":{"type":"array","items":{"type":"object","properties":{"d":{"type":"integer","format":"int64"}}}},` +
				`"e":{"anyOf":[{"type":"string"},{"type":"number","minimum":0}]}},"required":["a"]}}]}]}`},
		{name: "$ref schemas go verbatim; empty parameters are omitted; tool_choice required",
			body: `{"messages":[` + user + `],"tools":[{"type":"function","function":{"name":"r","parameters":{"type":"object","properties":{"n":{"$ref":"#/$defs/N"}},"$defs":{"N":{"type":"string"}}}}},{"type":"function","function":{"name":"z","parameters":{"type":"object","properties":{}}}}],"tool_choice":"required"}`,
			want: `{"contents":[` + userTurn + `],"tools":[{"functionDeclarations":[{"name":"r","parametersJsonSchema":{"type":"object","properties":{"n":{"$ref":"#/$defs/N"}},"$defs":{"N":{"type":"string"}}}},{"name":"z"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`},
		{name: "named tool_choice", body: `{"messages":[` + user + `],` + tool(`{"type":"object","properties":{"a":{"type":"string"}}}`) + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`,
			want: `{"contents":[` + userTurn + `],"tools":[{"functionDeclarations":[{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}}`},
		{name: "tool_choice none; tool_choice without tools is dropped", body: `{"messages":[` + user + `],` + tool(`{"type":"object","properties":{"a":{"type":"string"}}}`) + `,"tool_choice":"none"}`,
			want: `{"contents":[` + userTurn + `],"tools":[{"functionDeclarations":[{"name":"f","description":"d","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`},
		{name: "no tools, tool_choice auto", body: `{"messages":[` + user + `],"tool_choice":"auto"}`, want: `{"contents":[` + userTurn + `]}`},
		{name: "reasoning none; include_thoughts off", body: `{"messages":[` + user + `],"reasoning_effort":"none"}`,
			want: `{"contents":[` + userTurn + `],"generationConfig":{"thinkingConfig":{"thinkingBudget":0}}}`},
		{name: "reasoning high without thoughts", options: `{"include_thoughts":false}`, body: `{"messages":[` + user + `],"reasoning_effort":"high","max_completion_tokens":100,"max_tokens":5}`,
			want: `{"contents":[` + userTurn + `],"generationConfig":{"maxOutputTokens":100,"thinkingConfig":{"thinkingBudget":24576}}}`},
		{name: "audio, pdf and Files-API parts",
			body: `{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"UklG","format":"mp3"}},{"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBE"}},{"type":"image_url","image_url":"https://generativelanguage.googleapis.com/v1beta/files/abc"}]}]}`,
			want: `{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"audio/mp3","data":"UklG"}},{"inlineData":{"mimeType":"application/pdf","data":"JVBE"}},{"fileData":{"fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc"}}]}]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			model := tt.model
			if model == "" {
				model = "gemini-2.5-flash"
			}
			out, err := newTestPlugin().Request(chatIn(tt.body, model, tt.flags, tt.options))
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "body", out.Body, []byte(tt.want))
			if strings.Contains(tt.options, "v1alpha") && out.Path != "/v1alpha/models/"+model+":generateContent" {
				t.Fatalf("path %s", out.Path)
			}
		})
	}
}

func TestChatRequestRejects(t *testing.T) {
	for _, tt := range []struct{ name, body, param, msg string }{
		{"https image", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`, "messages[0].content", "data URL"},
		{"invalid tool arguments", `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{oops"}}]}]}`, "messages[1].tool_calls[0].function.arguments", "JSON object"},
		{"array tool arguments", `{"messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"[1]"}}]}]}`, "messages[0].tool_calls[0].function.arguments", "JSON object"},
		{"unknown tool_call_id", `{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"nope","content":"1"}]}`, "messages[1].tool_call_id", "nope"},
		{"n > 1 stream", `{"messages":[{"role":"user","content":"x"}],"n":2,"stream":true}`, "n", "stream"},
		{"unknown effort", `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"extreme"}`, "reasoning_effort", "extreme"},
		{"file_id", `{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-1"}}]}]}`, "messages[0].content", "file_id"},
		{"unknown part", `{"messages":[{"role":"user","content":[{"type":"video","video":{}}]}]}`, "messages[0].content", "video"},
		{"non-function tool", `{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"g"}}]}`, "tools[0].type", "custom"},
		{"no messages", `{"messages":[]}`, "messages", "no messages"},
		{"not an object", `[1]`, "", "not a JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestPlugin().Request(chatIn(tt.body, "gemini-2.5-flash", abi.FlagStream, ""))
			ae := plugintest.ErrorOf(t, err)
			if ae.Status != 400 || ae.Type != "invalid_request_error" || ae.Param != tt.param || !strings.Contains(ae.Message, tt.msg) {
				t.Fatalf("got %+v", ae)
			}
		})
	}
	t.Run("unsupported API and no model", func(t *testing.T) {
		_, err := newTestPlugin().Request(&abi.RequestIn{API: "audio.speech", Model: "m", Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Code != "unsupported_api" {
			t.Fatalf("got %+v", ae)
		}
		_, err = newTestPlugin().Request(&abi.RequestIn{API: abi.APIChatCompletions, Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Param != "model" {
			t.Fatalf("got %+v", ae)
		}
	})
}

func TestModelIsPathEscaped(t *testing.T) {
	out, err := newTestPlugin().Request(chatIn(`{"messages":[{"role":"user","content":"x"}]}`, "tuned/x:y?z", 0, ""))
	if err != nil {
		t.Fatal(err)
	}
	if out.Path != "/v1beta/models/tuned%2Fx%3Ay%3Fz:generateContent" {
		t.Fatalf("path %s", out.Path)
	}
}

// stateFor runs a request and returns its state, for Response and Stream.
func stateFor(t testing.TB, tg plugintest.Target, in *abi.RequestIn) []byte {
	t.Helper()
	out, err := tg.Request(in)
	if err != nil {
		t.Fatal(err)
	}
	return out.State
}

const simpleChat = `{"messages":[{"role":"user","content":"x"}]}`

func TestChatResponseGolden(t *testing.T) {
	for _, tt := range []struct {
		file, golden string
		usage        abi.Usage
	}{
		{"generateContent-text.response.json", "text.response.json", abi.Usage{InputTokens: 2114, OutputTokens: 75, CachedTokens: 1536, ReasoningTokens: 48}},
		{"generateContent-function-call.response.json", "function-call.response.json", abi.Usage{InputTokens: 352, OutputTokens: 98, ReasoningTokens: 62}},
		{"generateContent-max-tokens.response.json", "max-tokens.response.json", abi.Usage{InputTokens: 31, OutputTokens: 74, ReasoningTokens: 64}},
		{"generateContent-prompt-blocked.response.json", "prompt-blocked.response.json", abi.Usage{InputTokens: 18}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
				st := stateFor(t, tg, chatIn(simpleChat, "gemini-2.5-flash", 0, ""))
				out, err := tg.Response(&abi.ResponseIn{State: st, Status: 200, Body: plugintest.Fixture(t, tt.file)})
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tt.golden, out.Body)
				if out.Usage == nil || *out.Usage != tt.usage {
					t.Fatalf("usage = %+v, want %+v", out.Usage, tt.usage)
				}
			})
		})
	}
}

func TestChatResponseCases(t *testing.T) {
	p := newTestPlugin()
	st := stateFor(t, plugintest.Native(p), chatIn(simpleChat, "gemini-2.5-flash", 0, ""))
	resp := func(t *testing.T, body string) (*abi.ResponseOut, error) {
		return p.Response(&abi.ResponseIn{State: st, Status: 200, Body: []byte(body)})
	}
	t.Run("two candidates, thoughts, tool-use prompt tokens, no responseId", func(t *testing.T) {
		out, err := resp(t, `{"candidates":[`+
			`{"content":{"parts":[{"text":"think","thought":true},{"text":"A"},{"text":"B"}],"role":"model"},"finishReason":"STOP","index":0},`+
			`{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":[1, 2]}}}],"role":"model"},"finishReason":"SAFETY","index":1}],`+
			`"usageMetadata":{"promptTokenCount":10,"toolUsePromptTokenCount":5,"candidatesTokenCount":7,"thoughtsTokenCount":3,"totalTokenCount":25}}`)
		if err != nil {
			t.Fatal(err)
		}
		id := "chatcmpl-" + oai.ToolCallID(reqID, -1)[5:]
		plugintest.JSONEqual(t, "body", out.Body, []byte(`{"id":"`+id+`","object":"chat.completion","created":1760000000,"model":"gemini-2.5-flash","choices":[`+
			`{"index":0,"message":{"role":"assistant","content":"AB","reasoning_content":"think","refusal":null},"logprobs":null,"finish_reason":"stop"},`+
			`{"index":1,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"`+oai.ToolCallID(reqID, 0)+`","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}],"refusal":null},"logprobs":null,"finish_reason":"content_filter"}],`+
			`"usage":{"prompt_tokens":15,"completion_tokens":10,"total_tokens":25,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":3}}}`))
		if *out.Usage != (abi.Usage{InputTokens: 15, OutputTokens: 10, ReasoningTokens: 3}) {
			t.Fatalf("usage %+v", *out.Usage)
		}
	})
	for reason, want := range map[string]string{"RECITATION": "content_filter", "MALFORMED_FUNCTION_CALL": "stop", "OTHER": "stop", "SPII": "content_filter", "": "stop"} {
		t.Run("finish "+reason, func(t *testing.T) {
			out, err := resp(t, `{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"`+reason+`"}],"responseId":"r","modelVersion":"m"}`)
			if err != nil {
				t.Fatal(err)
			}
			if got := json.RawMessage(out.Body); !strings.Contains(string(got), `"finish_reason":"`+want+`"`) || out.Usage != nil {
				t.Fatalf("%s", got)
			}
		})
	}
	t.Run("not a Gemini response", func(t *testing.T) {
		for _, body := range []string{`<html>`, `{}`, `{"candidates":3}`} {
			_, err := resp(t, body)
			if ae := plugintest.ErrorOf(t, err); ae.Status != 502 || !ae.Retryable {
				t.Fatalf("%s: %+v", body, ae)
			}
		}
	})
	t.Run("bad state", func(t *testing.T) {
		_, err := p.Response(&abi.ResponseIn{State: []byte{9}, Status: 200, Body: []byte(`{}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 502 || ae.Type != "plugin_error" {
			t.Fatalf("%+v", ae)
		}
	})
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(callIDs(string(b))), "\n")
}

func TestStreamGolden(t *testing.T) {
	for _, tt := range []struct {
		sse, golden string
		usage       abi.Usage
	}{
		{"streamGenerateContent-text.response.sse", "stream-text.chunks.jsonl", abi.Usage{InputTokens: 43, OutputTokens: 64, ReasoningTokens: 41}},
		{"streamGenerateContent-function-call.response.sse", "stream-function-call.chunks.jsonl", abi.Usage{InputTokens: 352, OutputTokens: 94, ReasoningTokens: 58}},
	} {
		for _, withUsage := range []bool{true, false} {
			name := tt.sse
			if !withUsage {
				name += "/without usage chunk"
			}
			t.Run(name, func(t *testing.T) {
				plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
					flags := abi.FlagStream
					if withUsage {
						flags |= abi.FlagIncludeUsage
					}
					st := stateFor(t, tg, chatIn(simpleChat, "gemini-2.5-flash", flags, ""))
					res := plugintest.Stream(t, tg, st, plugintest.Fixture(t, tt.sse))
					want := readLines(t, tt.golden)
					if !withUsage {
						want = want[:len(want)-1]
					}
					if len(res.Chunks) != len(want) {
						t.Fatalf("%d chunks, want %d:\n%s", len(res.Chunks), len(want), res)
					}
					for i := range want {
						plugintest.JSONEqual(t, "chunk", []byte(res.Chunks[i]), []byte(want[i]))
					}
					if !res.Done || res.Err != nil || res.FramingErr != nil {
						t.Fatalf("done=%v err=%v framing=%v", res.Done, res.Err, res.FramingErr)
					}
					if res.Usage == nil || *res.Usage != tt.usage {
						t.Fatalf("usage %+v, want %+v", res.Usage, tt.usage)
					}
				})
			})
		}
	}
}

func sse(events ...string) []byte {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\r\n\r\n")
	}
	return []byte(b.String())
}

func TestStreamCases(t *testing.T) {
	p := newTestPlugin()
	tg := plugintest.Native(p)
	st := stateFor(t, tg, chatIn(simpleChat, "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, ""))
	head := func(id string) string {
		return `{"id":"` + id + `","object":"chat.completion.chunk","created":1760000000,"model":"gemini-2.5-flash","choices":`
	}
	check := func(t *testing.T, res plugintest.StreamResult, want ...string) {
		t.Helper()
		if len(res.Chunks) != len(want) {
			t.Fatalf("%d chunks, want %d:\n%s", len(res.Chunks), len(want), res)
		}
		for i := range want {
			plugintest.JSONEqual(t, "chunk", []byte(res.Chunks[i]), []byte(want[i]))
		}
	}
	t.Run("blocked prompt", func(t *testing.T) {
		res := plugintest.Stream(t, tg, st, sse(`{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"b1"}`))
		check(t, res,
			head("b1")+`[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			head("b1")+`[{"index":0,"delta":{},"finish_reason":"content_filter"}]}`,
			head("b1")+`[],"usage":{"prompt_tokens":9,"completion_tokens":0,"total_tokens":9,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}`)
		if !res.Done {
			t.Fatal("not done")
		}
	})
	t.Run("error event after text", func(t *testing.T) {
		res := plugintest.Stream(t, tg, st, sse(`{"candidates":[{"content":{"parts":[{"text":"a\u00e9"}]}}],"responseId":"e1","modelVersion":"gemini-2.5-flash"}`,
			`{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`))
		check(t, res,
			head("e1")+`[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			head("e1")+`[{"index":0,"delta":{"content":"aé"},"finish_reason":null}]}`)
		if res.Done || res.Err == nil || res.Err.Status != 502 || res.Err.Type != "upstream_overloaded" || !res.Err.Retryable || res.Err.Message != "The model is overloaded." {
			t.Fatalf("%+v", res.Err)
		}
	})
	t.Run("ends without finishReason: not done", func(t *testing.T) {
		res := plugintest.Stream(t, tg, st, sse(`{"candidates":[{"content":{"parts":[{"text":""}]}}]}`))
		id := "chatcmpl-" + oai.ToolCallID(reqID, -1)[5:]
		check(t, res, head(id)+`[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
		if res.Done {
			t.Fatal("a stream without finishReason must not be done")
		}
	})
	t.Run("max tokens after a call", func(t *testing.T) {
		res := plugintest.Stream(t, tg, st, sse(
			`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"}}]}}],"responseId":"m1","modelVersion":"gemini-2.5-flash"}`,
			`{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"cachedContentTokenCount":1},"responseId":"m1","modelVersion":"gemini-2.5-flash"}`,
			`{"candidates":[{"content":{"parts":[{"text":"after the end"}]}}]}`))
		check(t, res,
			head("m1")+`[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			head("m1")+`[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"`+oai.ToolCallID(reqID, 0)+`","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}`,
			head("m1")+`[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}`,
			head("m1")+`[{"index":0,"delta":{},"finish_reason":"length"}]}`,
			head("m1")+`[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":1},"completion_tokens_details":{"reasoning_tokens":0}}}`)
		if !res.Done || *res.Usage != (abi.Usage{InputTokens: 1, OutputTokens: 2, CachedTokens: 1}) {
			t.Fatalf("%s", res)
		}
	})
	t.Run("a stream's HTTP error goes through Response", func(t *testing.T) {
		_, err := tg.Response(&abi.ResponseIn{State: st, Status: 429, Body: plugintest.Fixture(t, "error-429-resource-exhausted.response.json")})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 429 || !ae.Retryable || ae.RetryAfterMS != 36000 {
			t.Fatalf("%+v", ae)
		}
	})
}

func TestUpstreamErrors(t *testing.T) {
	for _, tt := range []struct {
		file       string
		status     uint32
		headers    []abi.Header
		wantStatus int
		wantType   string
		wantCode   string
		retryable  bool
		retryMS    int64
	}{
		{"error-400-api-key-invalid.response.json", 400, nil, 502, "upstream_error", "upstream_auth_failed", true, 0},
		{"error-400-invalid-argument-schema.response.json", 400, nil, 400, "invalid_request_error", "invalid_argument", false, 0},
		{"error-404-model-not-found.response.json", 404, nil, 404, "invalid_request_error", "model_not_found", false, 0},
		{"error-429-resource-exhausted.response.json", 429, nil, 429, "rate_limit_error", "rate_limit_exceeded", true, 36000},
		{"error-429-resource-exhausted.response.json", 429, []abi.Header{{Name: "retry-after", Value: "3"}}, 429, "rate_limit_error", "rate_limit_exceeded", true, 3000},
		{"error-500-internal.response.json", 500, nil, 502, "upstream_error", "", true, 0},
		{"error-503-unavailable.response.json", 503, nil, 503, "upstream_overloaded", "", true, 0},
		{"", 403, nil, 502, "upstream_error", "upstream_auth_failed", true, 0},
		{"", 504, nil, 504, "upstream_timeout", "", true, 0},
	} {
		t.Run(tt.file+"/"+string(rune('0'+tt.status/100)), func(t *testing.T) {
			plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
				body := []byte("<html>bad gateway</html>")
				if tt.file != "" {
					body = plugintest.Fixture(t, tt.file)
				}
				st := stateFor(t, tg, chatIn(simpleChat, "gemini-2.5-flash", 0, ""))
				_, err := tg.Response(&abi.ResponseIn{State: st, Status: tt.status, Headers: tt.headers, Body: body})
				ae := plugintest.ErrorOf(t, err)
				if ae.Status != tt.wantStatus || ae.Type != tt.wantType || ae.Code != tt.wantCode || ae.Retryable != tt.retryable || ae.RetryAfterMS != tt.retryMS || ae.Message == "" {
					t.Fatalf("got %+v", ae)
				}
				if strings.Contains(ae.Message, "API key not valid") {
					t.Fatal("an auth failure must not pass the provider's message through")
				}
			})
		})
	}
	t.Run("messages pass through", func(t *testing.T) {
		_, err := newTestPlugin().Response(&abi.ResponseIn{State: stateFor(t, plugintest.Native(newTestPlugin()), chatIn(simpleChat, "m", 0, "")), Status: 404,
			Body: plugintest.Fixture(t, "error-404-model-not-found.response.json")})
		if ae := plugintest.ErrorOf(t, err); !strings.Contains(ae.Message, "models/gemini-9.9-pro is not found") {
			t.Fatalf("%+v", ae)
		}
	})
}

func TestEmbeddings(t *testing.T) {
	for _, tt := range []struct {
		name, in, options, wantReq, golden string
	}{
		{"base64 with task type", "openai.embeddings-base64.request.json", `{"embedding_task_type":"RETRIEVAL_DOCUMENT"}`, "batchEmbedContents.request.json", "embeddings-base64.response.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
				out, err := tg.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "gemini-embedding-001", RequestID: reqID,
					Body: plugintest.Fixture(t, tt.in), Options: []byte(tt.options), UnixMS: nowMS})
				if err != nil {
					t.Fatal(err)
				}
				if out.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" {
					t.Fatal(out.Path)
				}
				plugintest.JSONEqual(t, "request", out.Body, plugintest.Fixture(t, tt.wantReq))
				resp, err := tg.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "batchEmbedContents.response.json")})
				if err != nil {
					t.Fatal(err)
				}
				golden(t, tt.golden, resp.Body)
				if resp.Usage == nil || *resp.Usage != (abi.Usage{InputTokens: 18}) {
					t.Fatalf("usage %+v", resp.Usage)
				}
			})
		})
	}
	p := newTestPlugin()
	t.Run("float, one input", func(t *testing.T) {
		out, err := p.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "text-embedding-004", RequestID: reqID, Body: plugintest.Fixture(t, "openai.embeddings-float.request.json")})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, "request", out.Body, []byte(`{"requests":[{"model":"models/text-embedding-004","content":{"parts":[{"text":"The food was delicious and the waiter was friendly."}]},"outputDimensionality":8}]}`))
		resp, err := p.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: []byte(`{"embeddings":[{"values":[0.5,-1e-3]}]}`)})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, "response", resp.Body, []byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.001]}],"model":"text-embedding-004","usage":{"prompt_tokens":13,"total_tokens":13}}`))
	})
	t.Run("float golden", func(t *testing.T) {
		out, err := p.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "gemini-embedding-001", Body: []byte(`{"input":["The food was delicious and the waiter was friendly.","The soup was cold."]}`)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "batchEmbedContents.response.json")})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "embeddings-float.response.json", resp.Body)
	})
	t.Run("rejects", func(t *testing.T) {
		for _, body := range []string{`{"input":[[1,2,3]]}`, `{"input":[1,2]}`, `{"input":[]}`, `{}`, `{"input":"x","encoding_format":"int8"}`} {
			_, err := p.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "m", Body: []byte(body)})
			if ae := plugintest.ErrorOf(t, err); ae.Status != 400 {
				t.Fatalf("%s: %+v", body, ae)
			}
		}
		out, _ := p.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "m", Body: []byte(`{"input":"x"}`)})
		for _, body := range []string{`{}`, `{"embeddings":[{}]}`} {
			_, err := p.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: []byte(body)})
			if ae := plugintest.ErrorOf(t, err); ae.Status != 502 {
				t.Fatalf("%s: %+v", body, ae)
			}
		}
	})
}

func TestImages(t *testing.T) {
	plugintest.Both(t, newTestPlugin(), "gemini", testConfig, func(t *testing.T, tg plugintest.Target) {
		for _, tt := range []struct{ in, golden string }{
			{"openai.images-generations-dall-e-3.request.json", "imagen-url.response.json"}, // response_format url
			{"openai.images-generations.request.json", "imagen-b64.response.json"},
		} {
			out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "imagen-4.0-generate-001", RequestID: reqID, Body: plugintest.Fixture(t, tt.in), UnixMS: nowMS})
			if err != nil {
				t.Fatal(err)
			}
			if out.Path != "/v1beta/models/imagen-4.0-generate-001:predict" {
				t.Fatal(out.Path)
			}
			golden(t, "imagen.request.json", out.Body)
			resp, err := tg.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "imagen-predict.response.json")})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, resp.Body)
			if resp.Usage == nil || *resp.Usage != (abi.Usage{Images: 2}) {
				t.Fatalf("usage %+v", resp.Usage)
			}
		}
	})
	p := newTestPlugin()
	t.Run("aspect ratios", func(t *testing.T) {
		for size, want := range map[string]string{"1792x1024": "16:9", "1024x1792": "9:16", "1536x1024": "4:3", "1024x1536": "3:4", "256x256": "1:1"} {
			out, err := p.Request(&abi.RequestIn{API: abi.APIImages, Model: "imagen-3.0-generate-002", Body: []byte(`{"prompt":"p","n":3,"size":"` + size + `"}`)})
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, size, out.Body, []byte(`{"instances":[{"prompt":"p"}],"parameters":{"sampleCount":3,"aspectRatio":"`+want+`"}}`))
		}
	})
	t.Run("gemini image model", func(t *testing.T) {
		out, err := p.Request(&abi.RequestIn{API: abi.APIImages, Model: "gemini-2.5-flash-image", Body: []byte(`{"prompt":"a lighthouse","size":"1536x1024"}`), UnixMS: nowMS})
		if err != nil {
			t.Fatal(err)
		}
		if out.Path != "/v1beta/models/gemini-2.5-flash-image:generateContent" {
			t.Fatal(out.Path)
		}
		plugintest.JSONEqual(t, "request", out.Body, []byte(`{"contents":[{"role":"user","parts":[{"text":"a lighthouse"}]}],"generationConfig":{"responseModalities":["IMAGE"],"imageConfig":{"aspectRatio":"3:2"}}}`))
		resp, err := p.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: plugintest.Fixture(t, "gemini-image.response.json")})
		if err != nil {
			t.Fatal(err)
		}
		plugintest.JSONEqual(t, "response", resp.Body, []byte(`{"created":1760000000,"data":[{"b64_json":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC"}]}`))
		if *resp.Usage != (abi.Usage{InputTokens: 9, OutputTokens: 1290, Images: 1}) {
			t.Fatalf("usage %+v", *resp.Usage)
		}
	})
	t.Run("all filtered", func(t *testing.T) {
		out, _ := p.Request(&abi.RequestIn{API: abi.APIImages, Model: "imagen-4.0-generate-001", Body: []byte(`{"prompt":"p"}`)})
		_, err := p.Response(&abi.ResponseIn{State: out.State, Status: 200, Body: []byte(`{"predictions":[{"raiFilteredReason":"bad"}]}`)})
		if ae := plugintest.ErrorOf(t, err); ae.Status != 400 || ae.Code != "content_policy_violation" || !strings.Contains(ae.Message, "bad") {
			t.Fatalf("%+v", ae)
		}
	})
	t.Run("rejects", func(t *testing.T) {
		for model, body := range map[string]string{"imagen-4": `{"n":1}`, "imagen-4.0": `{"prompt":"p","size":"big"}`, "gemini-2.5-flash-image": `{"prompt":"p","n":2}`, "imagen": `{"prompt":"p","response_format":"png"}`} {
			_, err := p.Request(&abi.RequestIn{API: abi.APIImages, Model: model, Body: []byte(body)})
			if ae := plugintest.ErrorOf(t, err); ae.Status != 400 {
				t.Fatalf("%s: %+v", body, ae)
			}
		}
	})
}

func TestConfigAndOptions(t *testing.T) {
	p := newPlugin([]byte(`{"api_version":"v1","function_schema":"json_schema","include_thoughts":false,"safety_settings":[{"category":"C","threshold":"T"}],"embedding_task_type":"CLUSTERING"}`))
	out, err := p.Request(chatIn(`{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}`, "gemini-2.5-flash", 0, ""))
	if err != nil {
		t.Fatal(err)
	}
	if out.Path != "/v1/models/gemini-2.5-flash:generateContent" {
		t.Fatal(out.Path)
	}
	plugintest.JSONEqual(t, "body", out.Body, []byte(`{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":1024}},"safetySettings":[{"category":"C","threshold":"T"}]}`))
	// options win over config
	out, err = p.Request(&abi.RequestIn{API: abi.APIEmbeddings, Model: "e", Body: []byte(`{"input":"x"}`), Options: []byte(`{"embedding_task_type":"RETRIEVAL_QUERY","api_version":"v1beta"}`)})
	if err != nil {
		t.Fatal(err)
	}
	plugintest.JSONEqual(t, "body", out.Body, []byte(`{"requests":[{"model":"models/e","content":{"parts":[{"text":"x"}]},"taskType":"RETRIEVAL_QUERY"}]}`))
	if out.Path != "/v1beta/models/e:batchEmbedContents" {
		t.Fatal(out.Path)
	}
}

func FuzzRequest(f *testing.F) {
	for _, name := range []string{"openai.chat-completions.tool-result.request.json", "openai.chat-completions.stream-tools.request.json", "function-response.oa.request.json"} {
		f.Add(plugintest.Fixture(f, name), uint8(0))
	}
	f.Add([]byte(`{"messages":[{"role":"assistant","tool_calls":[{"function":{"arguments":"{\"a\":{}}"}}]}],"tools":[{"function":{"name":"x","parameters":{"properties":{"a":{"type":["null"],"items":[{}]}}}}}]}`), uint8(1))
	f.Add([]byte(`{"input":["a",""],"dimensions":3,"prompt":"p","size":"1x0"}`), uint8(2))
	p := newTestPlugin()
	apis := []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIImages}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		if !json.Valid(body) {
			return // the host validates bodies before the plugin sees them
		}
		in := abi.RequestIn{API: apis[int(sel)%3], Model: "gemini-3-pro", Flags: uint32(sel>>2) & 3, RequestID: "r", Body: body, Options: []byte(`{}`)}
		st, rec, err := abi.SplitResult(provider.Invoke(p, abi.ExportRequest, in.Append(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if st != abi.StatusOK {
			return
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(out.Body) {
			t.Fatalf("invalid upstream body for %s:\n%s", body, out.Body)
		}
	})
}

func FuzzStreamEvent(f *testing.F) {
	for _, name := range []string{"streamGenerateContent-text.response.sse", "streamGenerateContent-function-call.response.sse"} {
		for _, ev := range strings.Split(fixture(f, name), "\r\n\r\n") {
			if ev = strings.TrimPrefix(ev, "data: "); ev != "" {
				f.Add([]byte(ev), uint8(3))
			}
		}
	}
	f.Add([]byte(`{"error":{"code":429}}`), uint8(1))
	f.Add([]byte(`{"promptFeedback":{"blockReason":"X"}}`), uint8(0))
	p := newTestPlugin()
	states := [4][]byte{}
	for i := range states {
		out, err := p.Request(chatIn(simpleChat, "gemini-2.5-flash", uint32(i)|abi.FlagStream, ""))
		if err != nil {
			f.Fatal(err)
		}
		states[i] = out.State
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		st := states[sel%4]
		if sel >= 128 { // a corrupt state must fail cleanly too
			st = st[:int(sel)%len(st)]
		}
		in := abi.StreamIn{State: st, Events: []abi.Event{{Data: data}, {Data: data}}}
		status, rec, err := abi.SplitResult(provider.Invoke(p, abi.ExportStreamEvent, in.Append(nil)))
		if err != nil {
			t.Fatal(err)
		}
		if status != abi.StatusOK {
			return
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			t.Fatalf("malformed record: %v", err)
		}
		for _, c := range out.Chunks {
			if !json.Valid(c) {
				t.Fatalf("invalid chunk for %s:\n%s", data, c)
			}
		}
	})
}

// BenchmarkWasmRequest: a typical chat request (system + user, streamed).
func BenchmarkWasmRequest(b *testing.B) {
	tg := plugintest.Wasm(b, "gemini", testConfig)
	in := chatIn(fixture(b, "openai.chat-completions.stream-text.request.json"), "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, "{}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWasmRequestTools: an agent-style request (3 KB: an image, a
// tool with a sanitized schema, a JSON-schema response format).
func BenchmarkWasmRequestTools(b *testing.B) {
	tg := plugintest.Wasm(b, "gemini", testConfig)
	in := chatIn(fixture(b, "openai.chat-completions.stream-tools.request.json"), "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, "{}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWasmStreamEvent(b *testing.B) {
	tg := plugintest.Wasm(b, "gemini", testConfig)
	out, err := tg.Request(chatIn(simpleChat, "gemini-2.5-flash", abi.FlagStream|abi.FlagIncludeUsage, ""))
	if err != nil {
		b.Fatal(err)
	}
	first := abi.StreamIn{State: out.State, Events: []abi.Event{{Data: []byte(strings.TrimPrefix(strings.Split(fixture(b, "streamGenerateContent-text.response.sse"), "\r\n")[0], "data: "))}}}
	res, err := tg.StreamEvent(&first)
	if err != nil {
		b.Fatal(err)
	}
	// A typical mid-stream text delta, after the role chunk.
	in := abi.StreamIn{State: append([]byte(nil), res.State...), Events: []abi.Event{{Data: []byte(strings.TrimPrefix(strings.Split(fixture(b, "streamGenerateContent-text.response.sse"), "\r\n")[2], "data: "))}}}
	b.ReportAllocs()
	for b.Loop() {
		if res, err := tg.StreamEvent(&in); err != nil || len(res.Chunks) != 1 {
			b.Fatal(err, len(res.Chunks))
		}
	}
}

func BenchmarkNativeRequest(b *testing.B) {
	p := newTestPlugin()
	in := chatIn(fixture(b, "openai.chat-completions.stream-tools.request.json"), "gemini-2.5-flash", abi.FlagStream, "{}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestValidString(t *testing.T) {
	for raw, want := range map[string]bool{
		`"a"`: true, `""`: true, `"\u00e9\n\/\\\""`: true, `"é"`: true,
		`"`: false, `"a`: false, `a"`: false, `"\u00"`: false, `"\u00zz"`: false, `"a\"`: false, "\"\x01\"": false,
		"\"\xff\"": false, `"\q"`: false, `"a"b"`: false,
	} {
		if got := validString(raw); got != want {
			t.Errorf("validString(%q) = %v", raw, got)
		}
	}
}
