package anthropic

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/apierr"
)

// OpenAI's stream fixtures convert to the golden Anthropic streams.
func TestStreamFixtures(t *testing.T) {
	for _, tt := range []struct {
		name, events string
	}{
		{"chat-completions.stream-text", "message_start content_block_start ping delta* content_block_stop message_delta message_stop"},
		{"chat-completions.stream-tools", "message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := encode(t, Meta{ID: "msg_hub01", Model: "asked"}, 20, chunks(t, read(t, "fixtures/openai/"+tt.name+".response.sse")))
			golden(t, tt.name+".anthropic.sse", out)
			checkStream(t, out)
			events := parseSSE(t, out)
			if got := names(events); got != tt.events {
				t.Fatalf("events %s\nwant   %s", got, tt.events)
			}
			for _, e := range events {
				var data map[string]any
				if err := json.Unmarshal([]byte(e.Data), &data); err != nil || data["type"] != e.Name {
					t.Fatalf("event %s: %v %s", e.Name, err, e.Data)
				}
			}
		})
	}
}

// normalize decodes an Anthropic event's data, dropping what the canonical
// form cannot carry: service_tier, cache_creation and inference_geo in
// usage, caller in tool_use blocks, details in errors.
func normalize(t *testing.T, data string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if msg, ok := m["message"].(map[string]any); ok {
		u := msg["usage"].(map[string]any)
		delete(u, "service_tier")
		delete(u, "cache_creation")
		delete(u, "inference_geo")
		// message_start's output_tokens is provisional (message_delta
		// has the count); the encoder cannot know Anthropic's.
		delete(u, "output_tokens")
	}
	if b, ok := m["content_block"].(map[string]any); ok {
		delete(b, "caller")
	}
	if e, ok := m["error"].(map[string]any); ok {
		delete(e, "details")
	}
	return m
}

// Anthropic stream → canonical chunks (as the anthropic plugin makes them,
// see testdata/roundtrip) → this encoder gives back the fixture's events.
// The plugin drops the empty first input_json_delta; message_delta here
// always repeats the input and cache counts, as current streams do.
func TestStreamRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input int64 // the fixture's message_start input_tokens
		err   *apierr.Error
	}{
		{"messages-stream-text", 25, nil},
		{"messages-stream-tool-use", 512, nil},
		{"messages-stream-error", 25, &apierr.Error{Status: 502, Type: "overloaded_error", Message: "Overloaded"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := NewStreamEncoder(Meta{ID: "msg_unused"}, tt.input)
			var out []byte
			for _, c := range chunks(t, read(t, "roundtrip/"+tt.name+".canonical.sse")) {
				out = e.Chunk(out, c)
			}
			want := parseSSE(t, read(t, "fixtures/anthropic/"+tt.name+".response.sse"))
			if tt.err != nil {
				out = AppendErrorEvent(out, tt.err, "req_011CdxtWarkeuKwCiatW8CdU")
			} else {
				out = e.Done(out)
			}
			got := parseSSE(t, out)
			want = slicesDeleteFunc(want, func(e sseEvent) bool {
				return strings.Contains(e.Data, `"partial_json":""`)
			})
			if len(got) != len(want) {
				t.Fatalf("events %s\nwant   %s", names(got), names(want))
			}
			for i := range got {
				g, w := normalize(t, got[i].Data), normalize(t, want[i].Data)
				if got[i].Name == "message_delta" {
					// Older streams send only output_tokens: compare the
					// counts the fixture has.
					gu, wu := g["usage"].(map[string]any), w["usage"].(map[string]any)
					for k := range gu {
						if _, ok := wu[k]; !ok {
							delete(gu, k)
						}
					}
				}
				if got[i].Name != want[i].Name || !reflect.DeepEqual(g, w) {
					t.Fatalf("event %d:\ngot  %s %s\nwant %s %s", i, got[i].Name, got[i].Data, want[i].Name, want[i].Data)
				}
			}
		})
	}
}

func slicesDeleteFunc(s []sseEvent, del func(sseEvent) bool) []sseEvent {
	out := s[:0]
	for _, e := range s {
		if !del(e) {
			out = append(out, e)
		}
	}
	return out
}

// chunk builds a canonical chunk with one choice whose delta is delta.
func chunk(delta string, finish string) []byte {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]}`)
}

const usageChunk = `{"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":40}}}`

func TestStreamSequences(t *testing.T) {
	for _, tt := range []struct {
		name   string
		chunks []string
		events string
		checks []string // substrings the output must contain
		not    []string // and must not
	}{
		{"nothing at all", nil,
			"message_start ping message_delta message_stop",
			[]string{`"stop_reason":"end_turn"`, `"usage":{"output_tokens":0}`}, nil},
		{"role chunk only, then usage",
			[]string{string(chunk(`{"role":"assistant","content":""}`, "")), string(chunk(`{}`, "stop")), usageChunk},
			"message_start ping message_delta message_stop",
			[]string{`"usage":{"input_tokens":60,"cache_creation_input_tokens":0,"cache_read_input_tokens":40,"output_tokens":20}`}, nil},
		{"thinking, text, tool",
			[]string{
				string(chunk(`{"role":"assistant","content":null,"reasoning_content":"Let me"}`, "")),
				string(chunk(`{"reasoning_content":" think."}`, "")),
				string(chunk(`{"content":"Sure."}`, "")),
				string(chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]}`, "")),
				string(chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\""}}]}`, "")),
				string(chunk(`{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}`, "")),
				string(chunk(`{}`, "tool_calls")),
				usageChunk,
			},
			"message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop",
			[]string{
				`{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`,
				`{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" think."}}`,
				`{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`,
				`{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Sure."}}`,
				`{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_1","name":"f","input":{}}}`,
				`{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}`,
				`{"type":"content_block_stop","index":2}`,
				`"stop_reason":"tool_use"`,
			}, nil},
		{"whole calls at once, parallel, without ids",
			[]string{
				string(chunk(`{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{\"x\":1}"}},{"index":1,"id":"c2","function":{"name":"g","arguments":"{}"}}]}`, "")),
				string(chunk(`{}`, "stop")),
			},
			"message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop",
			[]string{
				`"content_block":{"type":"tool_use","id":"` + toolCallID("msg_hub", 0) + `","name":"f","input":{}}`,
				`"content_block":{"type":"tool_use","id":"c2","name":"g","input":{}}`,
				`"stop_reason":"tool_use"`,
				`"usage":{"output_tokens":3}`, // (7+2+3)/4: no usage chunk came
			}, nil},
		{"fragments for a closed call are dropped",
			[]string{
				string(chunk(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}`, "")),
				string(chunk(`{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}`, "")),
				string(chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"LOST}"}}]}`, "")),
			},
			"message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop",
			nil, []string{"LOST"}},
		{"length, refusal text, other choices and junk ignored",
			[]string{
				`not json`, `[1]`,
				`{"choices":[{"index":1,"delta":{"content":"OTHER"}}]}`,
				string(chunk(`{"refusal":"No."}`, "")),
				string(chunk(`{"content":""}`, "length")),
			},
			"message_start content_block_start ping delta* content_block_stop message_delta message_stop",
			[]string{`"text_delta","text":"No."`, `"stop_reason":"max_tokens"`, `"model":"asked"`}, []string{"OTHER"}},
		{"OpenRouter reasoning field, escapes kept",
			[]string{string(chunk(`{"reasoning_content":null,"reasoning":"a\"b\n"}`, "")), string(chunk(`{"reasoning":"x","reasoning_content":"","content":"\u00e9\u2028"}`, ""))},
			"message_start content_block_start ping delta* content_block_stop content_block_start delta* content_block_stop message_delta message_stop",
			[]string{`"thinking":"a\"b\n"`, `"text":"\u00e9\u2028"`}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cs [][]byte
			for _, c := range tt.chunks {
				cs = append(cs, []byte(c))
			}
			out := encode(t, Meta{ID: "msg_hub", Model: "asked"}, 7, cs)
			checkStream(t, out)
			events := parseSSE(t, out)
			if got := names(events); got != tt.events {
				t.Fatalf("events %s\nwant   %s\n%s", got, tt.events, out)
			}
			for _, e := range events {
				if !json.Valid([]byte(e.Data)) {
					t.Fatalf("invalid data %s", e.Data)
				}
			}
			if !strings.Contains(events[0].Data, `"input_tokens":7`) {
				t.Fatalf("message_start %s", events[0].Data)
			}
			for _, c := range tt.checks {
				if !strings.Contains(string(out), c) {
					t.Fatalf("missing %s in\n%s", c, out)
				}
			}
			for _, c := range tt.not {
				if strings.Contains(string(out), c) {
					t.Fatalf("unexpected %s in\n%s", c, out)
				}
			}
		})
	}
}

func TestStreamEncoderAfterDone(t *testing.T) {
	e := NewStreamEncoder(Meta{ID: "msg_x"}, 1)
	out := e.Chunk(nil, chunk(`{"content":"a"}`, ""))
	if !e.Started() {
		t.Fatal("not started")
	}
	out = e.Done(out)
	if more := e.Chunk(nil, chunk(`{"content":"b"}`, "")); len(more) != 0 {
		t.Fatalf("output after Done: %s", more)
	}
	if more := e.Done(nil); len(more) != 0 {
		t.Fatalf("second Done: %s", more)
	}
	if u, ok := e.Usage(); ok || u.OutputTokens != 0 {
		t.Fatal("usage without a usage chunk")
	}
	if n := strings.Count(string(out), "event: message_stop"); n != 1 {
		t.Fatalf("%d message_stop", n)
	}
}

func BenchmarkStreamEncoderChunk(b *testing.B) {
	c := []byte(`{"id":"chatcmpl-jxm7kMGDuGN7W2O6tKcnObwLrexgs","object":"chat.completion.chunk","created":1755137933,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" tous"},"logprobs":null,"finish_reason":null}],"usage":null}`)
	e := NewStreamEncoder(Meta{ID: "msg_x"}, 1)
	buf := e.Chunk(nil, c)
	b.ReportAllocs()
	b.SetBytes(int64(len(c)))
	for b.Loop() {
		buf = e.Chunk(buf[:0], c)
	}
}
