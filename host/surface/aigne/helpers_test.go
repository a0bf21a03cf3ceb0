package aigne

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// read returns a file under testdata.
func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %v: %s", err, b)
	}
	return v
}

// sameJSON fails the test unless got and the JSON in want are equal as
// JSON values. The expected files are written by hand; they are never
// rewritten from the code's output.
func sameJSON(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !reflect.DeepEqual(decode(t, got), decode(t, want)) {
		t.Fatalf("%s differs:\ngot  %s\nwant %s", name, got, bytes.Join(bytes.Fields(want), []byte(" ")))
	}
}

// canonicalChunks returns the JSON chunks of a canonical (OpenAI) SSE
// fixture, without the [DONE] terminator, which the engine consumes.
func canonicalChunks(t testing.TB, sse []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, ev := range strings.Split(string(sse), "\n\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(ev), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		out = append(out, []byte(data))
	}
	if len(out) == 0 {
		t.Fatal("no chunks in the fixture")
	}
	return out
}

// sseEvent is one event as eventsource-parser 3 dispatches it.
type sseEvent struct{ event, data string }

// parseSSE splits a stream into events exactly as the eventsource-parser
// package that @aigne/core's EventStreamParser uses does
// (eventsource-parser dist/index.js, createParser): lines end at CRLF, LF
// or CR; "data:" and "event:" lose one leading space; several data lines
// join with "\n"; a blank line dispatches the event when it has data
// lines; comment lines (":") are ignored; an event not ended by a blank
// line when the stream closes is never dispatched.
func parseSSE(stream string) []sseEvent {
	var out []sseEvent
	var data []string
	var event string
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(stream, "\r\n", "\n"), "\r", "\n"), "\n")
	// The last element is what follows the final line break: an
	// unterminated line the parser keeps pending.
	for _, line := range lines[:len(lines)-1] {
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if len(data) > 0 {
				out = append(out, sseEvent{event, strings.Join(data, "\n")})
			}
			data, event = nil, ""
		case field == "data":
			data = append(data, value)
		case field == "event":
			event = value
		}
	}
	return out
}

// clientRead reads a POST /api/v2/chat stream the way the official client
// does, and returns the output it ends with: @aigne/core's
// EventStreamParser (utils/event-stream.js, lines 6–37: JSON.parse each
// event's data, an "error" event is new Error(json.message), a data that
// does not parse is an error too, other named events are dropped) feeding
// AgentResponseStreamParser (lines 38–80: an Error ends the stream with
// it), whose chunks ChatModel merges with mergeAgentResponseChunk
// (utils/stream-utils.js, lines 16–31: delta.text.KEY appended to
// output[KEY], then delta.json assigned, undefined members skipped).
func clientRead(t testing.TB, stream []byte) (map[string]any, error) {
	t.Helper()
	out := map[string]any{}
	for _, ev := range parseSSE(string(stream)) {
		var v any
		if err := json.Unmarshal([]byte(ev.data), &v); err != nil {
			return out, errors.New("Parse response chunk json error: " + err.Error() + " " + ev.data)
		}
		switch ev.event {
		case "error":
			obj, _ := v.(map[string]any)
			msg, _ := obj["message"].(string)
			return out, errors.New(msg)
		case "":
		default:
			continue // console.warn("Unknown event type")
		}
		chunk, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("a chunk that is not an object: %s", ev.data)
		}
		delta, ok := chunk["delta"].(map[string]any)
		if !ok {
			t.Fatalf("a chunk without delta (isAgentResponseDelta fails, the chunk is dropped): %s", ev.data)
		}
		if text, ok := delta["text"].(map[string]any); ok {
			for k, s := range text {
				prev, _ := out[k].(string)
				str, _ := s.(string)
				if prev+str != "" {
					out[k] = prev + str
				}
			}
		}
		if js, ok := delta["json"].(map[string]any); ok {
			for k, v := range js {
				out[k] = v
			}
		}
	}
	return out, nil
}

// encodeStream runs canonical chunks through enc as the sink does.
func encodeStream(enc interface {
	Chunk(dst, chunk []byte) []byte
	Done(dst []byte) []byte
}, chunks [][]byte) []byte {
	var out []byte
	for _, c := range chunks {
		out = enc.Chunk(out, c)
	}
	return enc.Done(out)
}
