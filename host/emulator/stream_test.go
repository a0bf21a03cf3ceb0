package emulator_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

func TestStreamText(t *testing.T) {
	tests := []struct {
		name         string
		streamOpts   string
		chunks       int
		wantUsage    bool
		wantObfusc   bool
		wantMaxWords int
	}{
		{"with include_usage", `,"stream_options":{"include_usage":true}`, 5, true, true, 0},
		{"without stream_options", ``, 5, false, true, 0},
		{"include_usage false", `,"stream_options":{"include_usage":false}`, 3, false, true, 0},
		{"obfuscation off", `,"stream_options":{"include_usage":true,"include_obfuscation":false}`, 4, true, false, 0},
		{"no content chunks", `,"stream_options":{"include_usage":true}`, 0, true, true, 0},
		{"many chunks", ``, 50, false, true, 0},
	}
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}],"stream":true` + tt.streamOpts + `}`
			resp, got := chat(t, srv, body, emulator.HeaderChunks, strconv.Itoa(tt.chunks))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			events := sseEvents(t, got)
			// role + chunks + finish (+ usage)
			want := tt.chunks + 2
			if tt.wantUsage {
				want++
			}
			if len(events) != want {
				t.Fatalf("%d events, want %d:\n%s", len(events), want, got)
			}
			var id, content string
			for i, ev := range events {
				var raw map[string]json.RawMessage
				if err := json.Unmarshal([]byte(ev), &raw); err != nil {
					t.Fatal(err)
				}
				if _, ok := raw["usage"]; ok != tt.wantUsage {
					t.Errorf("event %d: usage key present = %v, want %v", i, ok, tt.wantUsage)
				}
				if _, ok := raw["obfuscation"]; ok != tt.wantObfusc {
					t.Errorf("event %d: obfuscation key present = %v, want %v", i, ok, tt.wantObfusc)
				}
				c := decodeJSON[chunk](t, []byte(ev))
				if c.Object != "chat.completion.chunk" || c.Model != "gpt-4o-mini" {
					t.Errorf("event %d: object %q model %q", i, c.Object, c.Model)
				}
				if id == "" {
					id = c.ID
				} else if c.ID != id {
					t.Errorf("event %d: id %q, first was %q", i, c.ID, id)
				}
				switch {
				case i == 0:
					if ev := string(raw["choices"]); !strings.Contains(ev, `"delta":{"role":"assistant","content":"","refusal":null}`) {
						t.Errorf("first chunk choices = %s", ev)
					}
				case i <= tt.chunks:
					if c.Choices[0].Delta.Content == nil || c.Choices[0].FinishReason != nil || c.Usage != nil {
						t.Errorf("content chunk %d: %s", i, ev)
					}
					content += *c.Choices[0].Delta.Content
				case i == tt.chunks+1:
					if !strings.Contains(string(raw["choices"]), `"delta":{}`) || c.Choices[0].FinishReason == nil || *c.Choices[0].FinishReason != "stop" {
						t.Errorf("finish chunk: %s", ev)
					}
				default:
					if string(raw["choices"]) != "[]" || c.Usage == nil {
						t.Fatalf("usage chunk: %s", ev)
					}
					if c.Usage.CompletionTokens != tt.chunks || c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens || c.Usage.PromptTokens < 1 {
						t.Errorf("usage = %+v", *c.Usage)
					}
				}
			}
			if words := len(strings.Fields(content)); words != tt.chunks {
				t.Errorf("content %q has %d words, want %d", content, words, tt.chunks)
			}
		})
	}
}

// TestStreamMatchesNonStream checks a stream's content and usage add up to
// the non-stream answer of the same request.
func TestStreamMatchesNonStream(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Chunks: 9})
	_, plain := chat(t, srv, userRequest("gpt-4o", "Tell me something", false))
	r := decodeJSON[chatResponse](t, plain)
	_, streamed := chat(t, srv, `{"model":"gpt-4o","messages":[{"role":"user","content":"Tell me something"}],"stream":true,"stream_options":{"include_usage":true}}`)
	var content string
	var u *usage
	for _, ev := range sseEvents(t, streamed) {
		c := decodeJSON[chunk](t, []byte(ev))
		if len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
			content += *c.Choices[0].Delta.Content
		}
		if c.Usage != nil {
			u = c.Usage
		}
	}
	if content != *r.Choices[0].Message.Content {
		t.Errorf("streamed %q, non-stream %q", content, *r.Choices[0].Message.Content)
	}
	if u == nil || *u != r.Usage {
		t.Errorf("streamed usage %v, non-stream %+v", u, r.Usage)
	}
}

func TestStreamToolCall(t *testing.T) {
	req := testdata(t, "chat-completions.stream-tools.request.json")
	_, srv := newServer(t, emulator.Options{})
	for _, chunks := range []int{0, 1, 3, 5, 34, 200} {
		t.Run(strconv.Itoa(chunks), func(t *testing.T) {
			_, got := chat(t, srv, string(req), emulator.HeaderChunks, strconv.Itoa(chunks))
			events := sseEvents(t, got)
			if first := decodeJSON[chunk](t, []byte(events[0])); first.Choices[0].Delta.Role == nil ||
				first.Choices[0].Delta.Content != nil || !strings.Contains(events[0], `"delta":{"role":"assistant","content":null}`) {
				t.Errorf("role chunk: %s", events[0])
			}
			call := decodeJSON[chunk](t, []byte(events[1])).Choices[0].Delta.ToolCalls
			if len(call) != 1 || call[0].ID == "" || call[0].Type != "function" || call[0].Function.Name != "get_weather" ||
				call[0].Function.Arguments == nil || *call[0].Function.Arguments != "" {
				t.Fatalf("first tool-call delta: %s", events[1])
			}
			var args string
			fragments := 0
			var finish string
			var u *usage
			for _, ev := range events[2:] {
				c := decodeJSON[chunk](t, []byte(ev))
				if c.Usage != nil {
					u = c.Usage
					continue
				}
				if fr := c.Choices[0].FinishReason; fr != nil {
					finish = *fr
					continue
				}
				tc := c.Choices[0].Delta.ToolCalls
				if len(tc) != 1 || tc[0].Index != 0 || tc[0].ID != "" || tc[0].Function.Arguments == nil {
					t.Fatalf("fragment chunk: %s", ev)
				}
				args += *tc[0].Function.Arguments
				fragments++
			}
			if !json.Valid([]byte(args)) {
				t.Errorf("concatenated arguments are not JSON: %q", args)
			}
			if want := max(1, min(chunks, len(args))); fragments != want {
				t.Errorf("%d fragments, want %d", fragments, want)
			}
			if finish != "tool_calls" {
				t.Errorf("finish_reason = %q", finish)
			}
			if u == nil || u.CompletionTokens != fragments {
				t.Errorf("usage = %v, want completion_tokens %d", u, fragments)
			}
		})
	}
}

func TestStreamGPT5Chunks(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	_, got := chat(t, srv, userRequest("gpt-5-mini", "hi", true))
	for _, ev := range sseEvents(t, got) {
		if strings.Contains(ev, `"logprobs"`) || !strings.Contains(ev, `"system_fingerprint":null`) {
			t.Errorf("gpt-5 chunk has logprobs or a fingerprint: %s", ev)
		}
	}
}
