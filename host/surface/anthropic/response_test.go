package anthropic

import (
	"encoding/json"
	"strings"
	"testing"
)

// OpenAI's response fixtures convert to the golden Anthropic messages.
func TestToMessageFixtures(t *testing.T) {
	for _, name := range []string{"chat-completions.text", "chat-completions.tool-calls"} {
		t.Run(name, func(t *testing.T) {
			msg, err := ToMessage(read(t, "fixtures/openai/"+name+".response.json"), Meta{ID: "msg_hub01", Model: "asked"})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".message.json", msg)
		})
	}
}

// anMessage is the part of Anthropic's message compared in round trips
// (the fixtures' caller, service_tier, cache_creation and inference_geo
// have no canonical equivalent).
type anMessage struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	Role         string  `json:"role"`
	Model        string  `json:"model"`
	StopReason   string  `json:"stop_reason"`
	StopSequence *string `json:"stop_sequence"`
	Content      []struct {
		Type  string         `json:"type"`
		Text  string         `json:"text,omitempty"`
		ID    string         `json:"id,omitempty"`
		Name  string         `json:"name,omitempty"`
		Input map[string]any `json:"input,omitempty"`
	} `json:"content"`
	Usage struct {
		InputTokens              int64 `json:"input_tokens"`
		CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
		OutputTokens             int64 `json:"output_tokens"`
	} `json:"usage"`
}

// Anthropic → canonical (as the anthropic plugin makes it, see
// testdata/roundtrip) → Anthropic gives back the fixture's message.
func TestToMessageRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		// stopReason, when set, is the documented loss: the canonical form
		// does not say that a stop sequence matched.
		stopReason string
	}{
		{"messages-tool-use", ""},
		{"messages-text", ""},
		{"messages-max-tokens", ""},
		{"messages-stop-sequence", "end_turn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ToMessage(read(t, "roundtrip/"+tt.name+".canonical.json"), Meta{ID: "msg_unused"})
			if err != nil {
				t.Fatal(err)
			}
			var got, want anMessage
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(read(t, "fixtures/anthropic/"+tt.name+".response.json"), &want)
			if tt.stopReason != "" {
				want.StopReason, want.StopSequence = tt.stopReason, nil
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("round trip:\ngot  %s\nwant %s", g, w)
			}
		})
	}
}

func TestToMessage(t *testing.T) {
	meta := Meta{ID: "msg_hub", Model: "asked"}
	for _, tt := range []struct {
		name, in, want string
	}{
		{"reasoning, text, calls; no usage",
			`{"id":"chatcmpl-1","model":"m","choices":[{"message":{"content":"hi","reasoning_content":"think","tool_calls":[{"id":"c1","function":{"name":"f","arguments":" {\"a\": 1} "}},{"function":{"name":"g","arguments":""}},{"id":"c3","function":{"name":"h","arguments":"{bad"}}]},"finish_reason":"tool_calls"}]}`,
			`{"id":"msg_hub","type":"message","role":"assistant","model":"m","content":[{"type":"thinking","thinking":"think","signature":""},{"type":"text","text":"hi"},{"type":"tool_use","id":"c1","name":"f","input":{"a":1}},{"type":"tool_use","id":"` + toolCallID("msg_hub", 1) + `","name":"g","input":{}},{"type":"tool_use","id":"c3","name":"h","input":{"_raw":"{bad"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
		{"content parts, OpenRouter reasoning, cache usage",
			`{"id":"x","choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"reasoning":"r"},"finish_reason":"length"}],"usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":60,"cache_write_tokens":30}}}`,
			`{"id":"msg_hub","type":"message","role":"assistant","model":"asked","content":[{"type":"thinking","thinking":"r","signature":""},{"type":"text","text":"ab"}],"stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":10,"cache_creation_input_tokens":30,"cache_read_input_tokens":60,"output_tokens":7}}`},
		{"refusal",
			`{"choices":[{"message":{"content":null,"refusal":"I can't."},"finish_reason":"content_filter"}]}`,
			`{"id":"msg_hub","type":"message","role":"assistant","model":"asked","content":[{"type":"text","text":"I can't."}],"stop_reason":"refusal","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
		{"empty; an Anthropic id is kept",
			`{"id":"msg_up","choices":[{"message":{"content":""},"finish_reason":"stop"}]}`,
			`{"id":"msg_up","type":"message","role":"assistant","model":"asked","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
		{"calls with a stop finish reason still stop for tool use",
			`{"choices":[{"message":{"tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}]}`,
			`{"id":"msg_hub","type":"message","role":"assistant","model":"asked","content":[{"type":"tool_use","id":"c","name":"f","input":{}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
		{"no choices",
			`{"choices":[]}`,
			`{"id":"msg_hub","type":"message","role":"assistant","model":"asked","content":[],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToMessage([]byte(tt.in), meta)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, []byte(tt.want)) {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, in := range []string{``, `[]`, `{"a":`, `"x"`} {
		if _, err := ToMessage([]byte(in), meta); err == nil {
			t.Fatalf("%q: want an error", in)
		}
	}
}

func TestStopReason(t *testing.T) {
	for _, tt := range []struct {
		finish string
		tools  bool
		want   string
	}{
		{"stop", false, "end_turn"},
		{"", false, "end_turn"},
		{"length", false, "max_tokens"},
		{"tool_calls", true, "tool_use"},
		{"function_call", false, "tool_use"},
		{"content_filter", false, "refusal"},
		{"", true, "tool_use"},
		{"stop", true, "tool_use"},
		{"weird", false, "end_turn"},
	} {
		if got := StopReason(tt.finish, tt.tools); got != tt.want {
			t.Errorf("StopReason(%q, %v) = %q, want %q", tt.finish, tt.tools, got, tt.want)
		}
	}
}

func TestMessageID(t *testing.T) {
	if got := MessageID("req_0123abcd"); got != "msg_0123abcd" {
		t.Fatal(got)
	}
	if got := MessageID("other"); !strings.HasPrefix(got, "msg_") {
		t.Fatal(got)
	}
}
