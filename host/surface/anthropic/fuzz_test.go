package anthropic

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func FuzzToCanonical(f *testing.F) {
	files, _ := filepath.Glob("testdata/fixtures/anthropic/*.request.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"url","url":"u"}}]},{"type":"document","source":{"type":"content","content":[{"type":"text","text":""}]}}]},{"role":"assistant","content":[{"type":"thinking","thinking":"x"},{"type":"tool_use","id":"i","name":"n","input":{"a":[1]}}]}],"thinking":{"type":"enabled","budget_tokens":1024},"max_tokens":2000}`))
	f.Add([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true},"output_config":{"effort":"max","format":{"type":"json_schema","schema":{}}}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		canonical, model, stream, err := ToCanonical(body)
		n, cmodel, cerr := CountTokens(body)
		if err != nil {
			if err.Status != 400 || err.Type != "invalid_request_error" || err.Message == "" {
				t.Fatalf("bad error %+v", err)
			}
			if cerr == nil && err.Param != "max_tokens" {
				t.Fatalf("count_tokens accepted what messages rejects (%s)", err.Message)
			}
			return
		}
		if cerr != nil || cmodel != model || n < promptTokens {
			t.Fatalf("count_tokens: %d %q %v", n, cmodel, cerr)
		}
		var out map[string]any
		if jerr := json.Unmarshal(canonical, &out); jerr != nil {
			t.Fatalf("canonical is not JSON (%v): %s", jerr, canonical)
		}
		if out["model"] != model || model == "" {
			t.Fatalf("model %q vs %v", model, out["model"])
		}
		if _, ok := out["messages"].([]any); !ok {
			t.Fatalf("no messages array: %s", canonical)
		}
		if (out["stream"] == true) != stream {
			t.Fatalf("stream %v: %s", stream, canonical)
		}
		if _, ok := out["max_completion_tokens"].(float64); !ok {
			t.Fatalf("no max_completion_tokens: %s", canonical)
		}
	})
}

// FuzzStreamEncoder feeds arbitrary chunks (lines of the input) and checks
// that the output is always a well-formed Anthropic stream.
func FuzzStreamEncoder(f *testing.F) {
	for _, p := range []string{"fixtures/openai/chat-completions.stream-text.response.sse", "fixtures/openai/chat-completions.stream-tools.response.sse", "roundtrip/messages-stream-tool-use.canonical.sse"} {
		b, _ := os.ReadFile(filepath.Join("testdata", p))
		var lines [][]byte
		for _, c := range bytes.Split(b, []byte("\n")) {
			if c, ok := bytes.CutPrefix(c, []byte("data: ")); ok {
				lines = append(lines, c)
			}
		}
		f.Add(bytes.Join(lines, []byte("\n")))
	}
	f.Add([]byte(`{"choices":[{"delta":{"reasoning_content":"a","content":"b","tool_calls":[{"index":3,"function":{"arguments":"x"}},{"index":1,"id":"q"}]}}]}` + "\n" + `{"choices":[{"delta":{"tool_calls":[{"index":3,"function":{"arguments":"y"}}]},"finish_reason":"length"}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		e := NewStreamEncoder(Meta{ID: "msg_f", Model: "m"}, 3)
		var out []byte
		for _, c := range bytes.Split(in, []byte("\n")) {
			out = e.Chunk(out, c)
		}
		out = e.Done(out)
		checkStream(t, out)
	})
}

// checkStream checks the structure of an Anthropic stream: message_start
// first, one ping, blocks opened and closed in index order with deltas
// only inside the open block, then message_delta and message_stop.
func checkStream(t *testing.T, out []byte) {
	t.Helper()
	events := parseSSE(t, out)
	if len(events) < 4 || events[0].Name != "message_start" || events[len(events)-1].Name != "message_stop" || events[len(events)-2].Name != "message_delta" {
		t.Fatalf("bad frame: %s", names(events))
	}
	open, next, pings := -1, 0, 0
	for _, ev := range events {
		var d struct {
			Type  string
			Index *int
			Delta map[string]any
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.Type != ev.Name {
			t.Fatalf("event %s data %s: %v", ev.Name, ev.Data, err)
		}
		switch ev.Name {
		case "ping":
			pings++
		case "content_block_start":
			if open != -1 || d.Index == nil || *d.Index != next {
				t.Fatalf("start %s with %d open, next %d", ev.Data, open, next)
			}
			open = next
		case "content_block_delta":
			if d.Index == nil || *d.Index != open {
				t.Fatalf("delta %s outside the open block %d", ev.Data, open)
			}
		case "content_block_stop":
			if d.Index == nil || *d.Index != open {
				t.Fatalf("stop %s, open %d", ev.Data, open)
			}
			open, next = -1, next+1
		case "message_start", "message_delta", "message_stop":
		default:
			t.Fatalf("unexpected event %s", ev.Name)
		}
	}
	if open != -1 || pings != 1 {
		t.Fatalf("block %d left open, %d pings", open, pings)
	}
}
