package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The Anthropic request fixtures convert to the golden canonical requests.
func TestToCanonicalFixtures(t *testing.T) {
	for _, tt := range []struct {
		name   string
		stream bool
	}{
		{"messages", false},
		{"messages-tool-result", false},
		{"messages-stop-sequence", false},
		{"messages-stream-text", true},
		{"messages-stream-tool-use", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := read(t, "fixtures/anthropic/"+tt.name+".request.json")
			canonical, model, stream, err := ToCanonical(body)
			if err != nil {
				t.Fatal(err)
			}
			if model != "claude-sonnet-4-20250514" || stream != tt.stream {
				t.Fatalf("model %q stream %v", model, stream)
			}
			golden(t, tt.name+".canonical.json", canonical)
		})
	}
}

// The tool-result fixture means the same as OpenAI's tool-result fixture:
// the same turn structure, calls and results (ids differ by provider).
func TestToCanonicalMatchesOpenAIFixture(t *testing.T) {
	canonical, _, _, err := ToCanonical(read(t, "fixtures/anthropic/messages-tool-result.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		ID       string
		Function struct{ Name, Arguments string }
	}
	type request struct {
		Messages []struct {
			Role       string
			Content    json.RawMessage
			ToolCalls  []call `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		}
		Tools []struct {
			Type     string
			Function struct {
				Name       string
				Parameters map[string]any
			}
		}
		MaxCompletionTokens int `json:"max_completion_tokens"`
	}
	var got, want request
	json.Unmarshal(canonical, &got)
	json.Unmarshal(read(t, "fixtures/openai/chat-completions.tool-result.request.json"), &want)
	roles := func(r request) (s []string) {
		for _, m := range r.Messages {
			s = append(s, m.Role)
		}
		return s
	}
	if g, w := strings.Join(roles(got), ","), strings.Join(roles(want), ","); g != w {
		t.Fatalf("roles %s, OpenAI fixture %s", g, w)
	}
	ga, wa := got.Messages[2], want.Messages[2]
	// The Anthropic turn has text before its calls; OpenAI's has none.
	if len(ga.ToolCalls) != 2 || string(ga.Content) != `"The image is a single red pixel. I'll check the weather in both cities."` || len(wa.ToolCalls) != 2 {
		t.Fatalf("assistant turn %+v", ga)
	}
	for i := range 2 {
		g, w := ga.ToolCalls[i], wa.ToolCalls[i]
		if g.Function.Name != w.Function.Name || !jsonEqual(t, []byte(g.Function.Arguments), []byte(w.Function.Arguments)) {
			t.Fatalf("call %d: %+v vs %+v", i, g, w)
		}
		if got.Messages[3+i].ToolCallID != g.ID || !strings.Contains(string(got.Messages[3+i].Content), "temperature_c") {
			t.Fatalf("tool result %d: %+v", i, got.Messages[3+i])
		}
	}
	// Text-block tool results become strings, as in the OpenAI fixture.
	if got.Messages[4].Content[0] != '"' {
		t.Fatalf("block tool result %s", got.Messages[4].Content)
	}
	if len(got.Tools) != 1 || got.Tools[0].Type != "function" || got.Tools[0].Function.Name != "get_weather" ||
		got.Tools[0].Function.Parameters["type"] != "object" || got.MaxCompletionTokens != want.MaxCompletionTokens {
		t.Fatalf("tools %+v, max %d", got.Tools, got.MaxCompletionTokens)
	}
}

func TestToCanonicalMapping(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"hi"}]`
	const cuser = `"messages":[{"role":"user","content":"hi"}]`
	for _, tt := range []struct {
		name, in, want string
	}{
		{"minimal",
			`{"model":"m","max_tokens":5,` + user + `}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"sampling, stop, user, unknown members ignored",
			`{"model":"m","max_tokens":5,` + user + `,"temperature":0.5,"top_p":0.9,"top_k":40,"stop_sequences":["a","b"],"metadata":{"user_id":"u1"},"service_tier":"auto","container":null}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"temperature":0.5,"top_p":0.9,"top_k":40,"stop":["a","b"],"user":"u1"}`},
		{"stream asks for usage",
			`{"model":"m","max_tokens":5,` + user + `,"stream":true}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"stream":true,"stream_options":{"include_usage":true}}`},
		{"stream false, nulls",
			`{"model":"m","max_tokens":5,` + user + `,"stream":false,"temperature":null,"stop_sequences":[]}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"system string",
			`{"model":"m","max_tokens":5,"system":"be brief",` + user + `}`,
			`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_completion_tokens":5}`},
		{"one system block",
			`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"be brief"}],` + user + `}`,
			`{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_completion_tokens":5}`},
		{"system blocks with cache_control",
			`{"model":"m","max_tokens":5,"system":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":""},{"type":"text","text":"b"}],` + user + `}`,
			`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b"}]},{"role":"user","content":"hi"}],"max_completion_tokens":5}`},
		{"empty system",
			`{"model":"m","max_tokens":5,"system":"",` + user + `}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"single text block is a string",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"text block with cache_control stays a part",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral","ttl":"1h"}}]}],"max_completion_tokens":5}`},
		{"images",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},{"type":"image","source":{"type":"url","url":"https://example.com/a.jpg"},"cache_control":{"type":"ephemeral"}},{"type":"text","text":"what?"}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.com/a.jpg"},"cache_control":{"type":"ephemeral"}},{"type":"text","text":"what?"}]}],"max_completion_tokens":5}`},
		{"documents",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","title":"r.pdf","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain"}},{"type":"document","source":{"type":"text","media_type":"text/plain","data":""}},{"type":"document","source":{"type":"content","content":[{"type":"text","text":"c"}]}}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"r.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},{"type":"text","text":"plain"},{"type":"text","text":"c"}]}],"max_completion_tokens":5}`},
		{"tool results first, then the rest of the turn",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"w?"},{"role":"assistant","content":[{"type":"text","text":"Let me "},{"type":"text","text":"check."},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}},{"type":"tool_use","id":"t2","name":"g","input":{}}]},{"role":"user","content":[{"type":"text","text":"here"},{"type":"tool_result","tool_use_id":"t1","content":"r1"},{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"x"},{"type":"text","text":"y"}],"is_error":true}]}]}`,
			`{"model":"m","messages":[{"role":"user","content":"w?"},{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"t2","type":"function","function":{"name":"g","arguments":"{}"}}]},{"role":"tool","content":"r1","tool_call_id":"t1"},{"role":"tool","content":"x\ny","tool_call_id":"t2"},{"role":"user","content":"here"}],"max_completion_tokens":5}`},
		{"tool result with an image, and empty",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"see"},{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]},{"type":"tool_result","tool_use_id":"t2"}]}]}`,
			`{"model":"m","messages":[{"role":"tool","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"https://x/y.png"}}],"tool_call_id":"t1"},{"role":"tool","content":"","tool_call_id":"t2"}],"max_completion_tokens":5}`},
		{"assistant tool use only, thinking, redacted",
			`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},{"type":"redacted_thinking","data":"x"},{"type":"tool_use","id":"t1","name":"f","input":{ "b" : [1, 2] }}]},{"role":"assistant","content":[{"type":"redacted_thinking","data":"x"}]},{"role":"assistant","content":"prefill"}]}`,
			`{"model":"m","messages":[{"role":"user","content":"q"},{"role":"assistant","content":null,"reasoning_content":"hmm","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"b\":[1,2]}"}}]},{"role":"assistant","content":"prefill"}],"max_completion_tokens":5}`},
		{"tools and choices",
			`{"model":"m","max_tokens":5,` + user + `,"tools":[{"name":"f","description":"does f","input_schema":{"type":"object"},"strict":true,"cache_control":{"type":"ephemeral"}},{"type":"custom","name":"g","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"tools":[{"type":"function","function":{"name":"f","description":"does f","parameters":{"type":"object"},"strict":true}},{"type":"function","function":{"name":"g","parameters":{"type":"object","properties":{}}}}],"tool_choice":"required","parallel_tool_calls":false}`},
		{"named tool",
			`{"model":"m","max_tokens":5,` + user + `,"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"f"}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":{"type":"function","function":{"name":"f"}}}`},
		{"tool choice none keeps parallel calls alone",
			`{"model":"m","max_tokens":5,` + user + `,"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"none","disable_parallel_tool_use":true}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"none"}`},
		{"tool choice without tools is dropped",
			`{"model":"m","max_tokens":5,` + user + `,"tools":[],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"thinking low",
			`{"model":"m","max_tokens":5000,` + user + `,"thinking":{"type":"enabled","budget_tokens":1024}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5000,"reasoning_effort":"low"}`},
		{"thinking medium",
			`{"model":"m","max_tokens":9000,` + user + `,"thinking":{"type":"enabled","budget_tokens":4096}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":9000,"reasoning_effort":"medium"}`},
		{"thinking high",
			`{"model":"m","max_tokens":32000,` + user + `,"thinking":{"type":"enabled","budget_tokens":16384}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":32000,"reasoning_effort":"high"}`},
		{"thinking adaptive, disabled",
			`{"model":"m","max_tokens":5,` + user + `,"thinking":{"type":"adaptive"}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5,"reasoning_effort":"medium"}`},
		{"thinking disabled",
			`{"model":"m","max_tokens":5,` + user + `,"thinking":{"type":"disabled"}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5}`},
		{"output_config effort wins, format",
			`{"model":"m","max_tokens":5000,` + user + `,"thinking":{"type":"enabled","budget_tokens":1024},"output_config":{"effort":"max","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
			`{"model":"m",` + cuser + `,"max_completion_tokens":5000,"reasoning_effort":"high","response_format":{"type":"json_schema","json_schema":{"name":"output","schema":{"type":"object"}}}}`},
		{"escapes survive",
			`{"model":"m\u00e9","max_tokens":5,"system":"a\"b\\c\n","messages":[{"role":"user","content":[{"type":"text","text":"\u2028x\ty"},{"type":"text","text":"é"}]},{"role":"assistant","content":[{"type":"text","text":"q\"uote"}]}]}`,
			`{"model":"mé","messages":[{"role":"system","content":"a\"b\\c\n"},{"role":"user","content":[{"type":"text","text":"\u2028x\ty"},{"type":"text","text":"é"}]},{"role":"assistant","content":"q\"uote"}],"max_completion_tokens":5}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, model, _, err := ToCanonical([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			if !jsonEqual(t, got, []byte(tt.want)) {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
			if model == "" {
				t.Fatal("no model")
			}
		})
	}
}

func TestToCanonicalErrors(t *testing.T) {
	const user = `"messages":[{"role":"user","content":"hi"}]`
	for _, tt := range []struct {
		name, in, param, msg string
	}{
		{"not JSON", `{"model":`, "", "not valid JSON"},
		{"array", `[]`, "", "JSON object"},
		{"empty", ``, "", "JSON object"},
		{"no model", `{"max_tokens":5,` + user + `}`, "model", "model: Field required"},
		{"model number", `{"model":1,"max_tokens":5,` + user + `}`, "model", "valid string"},
		{"empty model", `{"model":"","max_tokens":5,` + user + `}`, "model", "at least 1 character"},
		{"no max_tokens", `{"model":"m",` + user + `}`, "max_tokens", "max_tokens: Field required"},
		{"max_tokens float", `{"model":"m","max_tokens":1.5,` + user + `}`, "max_tokens", "valid integer"},
		{"max_tokens zero", `{"model":"m","max_tokens":0,` + user + `}`, "max_tokens", "greater than or equal to 1"},
		{"no messages", `{"model":"m","max_tokens":5}`, "messages", "messages: Field required"},
		{"messages object", `{"model":"m","max_tokens":5,"messages":{}}`, "messages", "valid list"},
		{"empty messages", `{"model":"m","max_tokens":5,"messages":[]}`, "messages", "at least 1 item"},
		{"message not object", `{"model":"m","max_tokens":5,"messages":["hi"]}`, "messages.0", "valid dictionary"},
		{"no role", `{"model":"m","max_tokens":5,"messages":[{"content":"x"}]}`, "messages.0.role", "Field required"},
		{"system role", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"system","content":"x"}]}`, "messages.1.role", "'user' or 'assistant'"},
		{"no content", `{"model":"m","max_tokens":5,"messages":[{"role":"user"}]}`, "messages.0.content", "Field required"},
		{"content number", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":3}]}`, "messages.0.content", "valid string or a list"},
		{"empty content", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[]}]}`, "messages.0.content", "at least 1 item"},
		{"block without type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"text":"x"}]}]}`, "messages.0.content.0.type", "Field required"},
		{"unknown block", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, "messages.0.content.0.type", "not supported"},
		{"text not string", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":1}]}]}`, "messages.0.content.0.text", "valid string"},
		{"tool_use in user", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"b","input":{}}]}]}`, "messages.0.content.0.type", "only allowed in assistant"},
		{"tool_result in assistant", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"a"}]}]}`, "messages.0.content.0.type", "only allowed in user"},
		{"tool_use without id", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"b","input":{}}]}]}`, "messages.0.content.0.id", "Field required"},
		{"tool_use input array", `{"model":"m","max_tokens":5,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"b","input":[]}]}]}`, "messages.0.content.0.input", "valid dictionary"},
		{"tool_result without id", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`, "messages.0.content.0.tool_use_id", "Field required"},
		{"tool_result document", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"document"}]}]}]}`, "messages.0.content.0.content.0.type", "not supported"},
		{"image media type", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"x"}}]}]}`, "messages.0.content.0.source.media_type", "image/jpeg"},
		{"image no source", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}`, "messages.0.content.0.source", "Field required"},
		{"image file source", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}`, "messages.0.content.0.source.type", "not supported"},
		{"document url", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://x"}}]}]}`, "messages.0.content.0.source.type", "not supported"},
		{"document not pdf", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"text/csv","data":"x"}}]}]}`, "messages.0.content.0.source.media_type", "application/pdf"},
		{"system number", `{"model":"m","max_tokens":5,"system":1,` + user + `}`, "system", "valid string or a list"},
		{"system image", `{"model":"m","max_tokens":5,"system":[{"type":"image"}],` + user + `}`, "system.0.type", "'text'"},
		{"temperature high", `{"model":"m","max_tokens":5,"temperature":1.5,` + user + `}`, "temperature", "less than or equal to 1"},
		{"temperature string", `{"model":"m","max_tokens":5,"temperature":"1",` + user + `}`, "temperature", "valid number"},
		{"top_p negative", `{"model":"m","max_tokens":5,"top_p":-1,` + user + `}`, "top_p", "greater than or equal to 0"},
		{"top_k float", `{"model":"m","max_tokens":5,"top_k":1.5,` + user + `}`, "top_k", "valid integer"},
		{"stream string", `{"model":"m","max_tokens":5,"stream":"yes",` + user + `}`, "stream", "valid boolean"},
		{"stop string", `{"model":"m","max_tokens":5,"stop_sequences":"x",` + user + `}`, "stop_sequences", "valid list"},
		{"stop number", `{"model":"m","max_tokens":5,"stop_sequences":["x",1],` + user + `}`, "stop_sequences.1", "valid string"},
		{"metadata array", `{"model":"m","max_tokens":5,"metadata":[],` + user + `}`, "metadata", "valid dictionary"},
		{"user_id number", `{"model":"m","max_tokens":5,"metadata":{"user_id":1},` + user + `}`, "metadata.user_id", "valid string"},
		{"tools object", `{"model":"m","max_tokens":5,"tools":{},` + user + `}`, "tools", "valid list"},
		{"server tool", `{"model":"m","max_tokens":5,"tools":[{"type":"web_search_20250305","name":"web_search"}],` + user + `}`, "tools.0.type", "server tool"},
		{"tool without schema", `{"model":"m","max_tokens":5,"tools":[{"name":"f"}],` + user + `}`, "tools.0.input_schema", "Field required"},
		{"tool without name", `{"model":"m","max_tokens":5,"tools":[{"input_schema":{}}],` + user + `}`, "tools.0.name", "Field required"},
		{"tool_choice string", `{"model":"m","max_tokens":5,"tool_choice":"auto",` + user + `}`, "tool_choice", "valid dictionary"},
		{"tool_choice type", `{"model":"m","max_tokens":5,"tool_choice":{"type":"required"},` + user + `}`, "tool_choice.type", "'auto', 'any'"},
		{"tool_choice tool without name", `{"model":"m","max_tokens":5,"tool_choice":{"type":"tool"},` + user + `}`, "tool_choice.name", "Field required"},
		{"thinking budget small", `{"model":"m","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":100},` + user + `}`, "thinking.enabled.budget_tokens", "1024"},
		{"thinking budget missing", `{"model":"m","max_tokens":5000,"thinking":{"type":"enabled"},` + user + `}`, "thinking.enabled.budget_tokens", "Field required"},
		{"thinking over max_tokens", `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":2000},` + user + `}`, "max_tokens", "greater than thinking.budget_tokens"},
		{"thinking type", `{"model":"m","max_tokens":5,"thinking":{"type":"on"},` + user + `}`, "thinking.type", "'enabled'"},
		{"effort", `{"model":"m","max_tokens":5,"output_config":{"effort":"extreme"},` + user + `}`, "output_config.effort", "'low'"},
		{"format type", `{"model":"m","max_tokens":5,"output_config":{"format":{"type":"json_object"}},` + user + `}`, "output_config.format.type", "json_schema"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := ToCanonical([]byte(tt.in))
			if err == nil {
				t.Fatal("want an error")
			}
			if err.Status != 400 || err.Type != "invalid_request_error" || err.Param != tt.param || !strings.Contains(err.Message, tt.msg) {
				t.Fatalf("got %d %s param %q: %q; want param %q containing %q", err.Status, err.Type, err.Param, err.Message, tt.param, tt.msg)
			}
			if tt.param != "" && !strings.HasPrefix(err.Message, tt.param+": ") {
				t.Fatalf("message %q does not start with the field", err.Message)
			}
		})
	}
}

func ExampleToCanonical() {
	canonical, model, stream, err := ToCanonical([]byte(`{
		"model": "claude-sonnet-4-20250514",
		"max_tokens": 256,
		"system": "Be brief.",
		"messages": [{"role": "user", "content": "Hello"}],
		"stop_sequences": ["</answer>"],
		"stream": true
	}`))
	fmt.Println(model, stream, err == nil)
	fmt.Println(string(canonical))
	// Output:
	// claude-sonnet-4-20250514 true true
	// {"model":"claude-sonnet-4-20250514","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello"}],"max_completion_tokens":256,"stream":true,"stream_options":{"include_usage":true},"stop":["</answer>"]}
}
