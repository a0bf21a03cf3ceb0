package aigne

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/apierr"
)

// The expected streams under testdata/expected are written by hand, event
// by event, from what @aigne/openai's stream emits for the same upstream
// stream (openai-chat-model.js, lines 228–338) and the framing
// AgentResponseStreamSSE writes (event-stream.js line 101: "data: " +
// JSON + "\n\n", nothing at the end). They are compared byte for byte.
func TestStreamGolden(t *testing.T) {
	for _, tt := range []struct{ fixture, want string }{
		{"chat-completions.stream-text.response.sse", "chat-completions.stream-text.aigne.sse"},
		{"chat-completions.stream-tools.response.sse", "chat-completions.stream-tools.aigne.sse"},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			got := encodeStream(NewStreamEncoder(false), canonicalChunks(t, read(t, "fixtures/openai/"+tt.fixture)))
			if want := read(t, "expected/"+tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// What the client ends with after reading our stream equals what it gets
// from the non-stream answer for the same completion.
func TestStreamAsTheClientReadsIt(t *testing.T) {
	for _, tt := range []struct {
		fixture string
		want    map[string]any
	}{
		{"chat-completions.stream-text.response.sse", map[string]any{
			"model": "gpt-4o-mini-2024-07-18", "text": "Bonjour à tous!",
			"usage": map[string]any{"inputTokens": 27.0, "outputTokens": 5.0},
		}},
		{"chat-completions.stream-tools.response.sse", map[string]any{
			"model": "gpt-4o-2024-08-06",
			"usage": map[string]any{"inputTokens": 412.0, "outputTokens": 52.0},
			"toolCalls": []any{
				map[string]any{"id": "call_yAz7YsbTB3upJQJnIAEOIyDo", "type": "function",
					"function": map[string]any{"name": "get_weather", "arguments": map[string]any{"city": "Paris", "unit": "celsius"}}},
				map[string]any{"id": "call_zMfdSqkCmXPfjwpe5Utd282M", "type": "function",
					"function": map[string]any{"name": "get_weather", "arguments": map[string]any{"city": "Tokyo", "unit": "celsius"}}},
			},
		}},
	} {
		t.Run(tt.fixture, func(t *testing.T) {
			stream := encodeStream(NewStreamEncoder(false), canonicalChunks(t, read(t, "fixtures/openai/"+tt.fixture)))
			got, err := clientRead(t, stream)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestStreamJSONModeReasoningCredits(t *testing.T) {
	chunks := [][]byte{
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"Let me "}}]}`),
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"think."}}]}`),
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"content":"{\"a\":"}},{"index":1,"delta":{"content":"ignored"}}]}`),
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"content":" \"b\"}"},"finish_reason":"stop"}]}`),
		[]byte(`{"model":"m","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}}`),
	}
	enc := NewStreamEncoder(true)
	enc.SetCredits(250)
	stream := encodeStream(enc, chunks)
	want := "data: {\"delta\":{\"json\":{\"model\":\"m\"}}}\n\n" +
		"data: {\"delta\":{\"text\":{\"thoughts\":\"Let me \"}}}\n\n" +
		"data: {\"delta\":{\"text\":{\"thoughts\":\"think.\"}}}\n\n" +
		"data: {\"delta\":{\"json\":{\"usage\":{\"inputTokens\":9,\"outputTokens\":4}}}}\n\n" +
		"data: {\"delta\":{\"json\":{\"json\":{\"a\":\"b\"}}}}\n\n" +
		"data: {\"delta\":{\"json\":{\"usage\":{\"inputTokens\":9,\"outputTokens\":4,\"aigneHubCredits\":0.00025}}}}\n\n"
	if string(stream) != want {
		t.Fatalf("got\n%s\nwant\n%s", stream, want)
	}
	got, err := clientRead(t, stream)
	if err != nil {
		t.Fatal(err)
	}
	wantOut := map[string]any{"model": "m", "thoughts": "Let me think.", "json": map[string]any{"a": "b"},
		"usage": map[string]any{"inputTokens": 9.0, "outputTokens": 4.0, "aigneHubCredits": 0.00025}}
	if !reflect.DeepEqual(got, wantOut) {
		t.Fatalf("client reads %v", got)
	}

	// JSON mode with an answer that is not an object: the text comes at
	// the end, as text.
	stream = encodeStream(NewStreamEncoder(true), [][]byte{[]byte(`{"model":"m","choices":[{"index":0,"delta":{"content":"not json"}}]}`)})
	if got, _ := clientRead(t, stream); got["text"] != "not json" || got["json"] != nil {
		t.Fatalf("got %v", got)
	}
}

func TestStreamToolCallsWithoutIndexOrID(t *testing.T) {
	// Whole calls without an index (handleCompleteToolCall) and a call
	// without an id still come out whole, with an id.
	chunks := [][]byte{
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]}`),
		[]byte(`{"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"type":"function","function":{"name":"g","arguments":""}}]}}]}`),
	}
	got, err := clientRead(t, encodeStream(NewStreamEncoder(false), chunks))
	if err != nil {
		t.Fatal(err)
	}
	calls, _ := got["toolCalls"].([]any)
	if len(calls) != 2 {
		t.Fatalf("got %v", got)
	}
	second := calls[1].(map[string]any)
	if second["id"] != "call_1" || !reflect.DeepEqual(second["function"], map[string]any{"name": "g", "arguments": map[string]any{}}) {
		t.Fatalf("second call %v", second)
	}
}

func TestStreamErrorEvent(t *testing.T) {
	enc := NewStreamEncoder(false)
	stream := enc.Chunk(nil, []byte(`{"model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}`))
	stream = AppendErrorEvent(stream, &apierr.Error{Status: 502, Type: apierr.TypeUpstream, Message: "The provider failed: \"x\"\n"})
	if !bytes.HasSuffix(stream, []byte("event: error\ndata: {\"message\":\"The provider failed: \\\"x\\\"\\n\",\"type\":\"upstream_error\"}\n\n")) {
		t.Fatalf("got %q", stream)
	}
	// The client's parser throws the message (event-stream.js, lines 17–20)
	// after the text it had.
	got, err := clientRead(t, stream)
	if err == nil || err.Error() != "The provider failed: \"x\"\n" || got["text"] != "Hel" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// No event we write fails the client's JSON.parse: in particular there is
// no "[DONE]".
func TestStreamHasNoTerminator(t *testing.T) {
	for _, f := range []string{"chat-completions.stream-text.response.sse", "chat-completions.stream-tools.response.sse"} {
		stream := encodeStream(NewStreamEncoder(false), canonicalChunks(t, read(t, "fixtures/openai/"+f)))
		if strings.Contains(string(stream), "[DONE]") {
			t.Fatal("a [DONE] event")
		}
		for _, ev := range parseSSE(string(stream)) {
			decode(t, []byte(ev.data))
		}
	}
}

func TestLegacyStreamGolden(t *testing.T) {
	// adaptStreamToOldFormat (providers/util.ts) and processChatCompletion
	// (libs/ai-routes.ts): a chunk per text delta with role and an empty
	// toolCalls, the usage chunk, the whole tool calls with string
	// arguments; the bare text in text mode.
	for _, tt := range []struct {
		fixture, want string
		mode          LegacyMode
	}{
		{"chat-completions.stream-text.response.sse", "chat-completions.stream-text.legacy.sse", LegacyEvents},
		{"chat-completions.stream-tools.response.sse", "chat-completions.stream-tools.legacy.sse", LegacyEvents},
		{"chat-completions.stream-text.response.sse", "chat-completions.stream-text.legacy.txt", LegacyText},
	} {
		t.Run(tt.want, func(t *testing.T) {
			got := encodeStream(NewLegacyStreamEncoder(tt.mode), canonicalChunks(t, read(t, "fixtures/openai/"+tt.fixture)))
			if want := read(t, "expected/"+tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
	e := &apierr.Error{Status: 402, Type: "insufficient_quota", Code: "insufficient_quota", Message: "No credits left."}
	if got := string(AppendLegacyError(nil, LegacyEvents, e)); got != "data: {\"error\":{\"message\":\"No credits left.\",\"type\":\"NOT_ENOUGH\",\"code\":\"insufficient_quota\"}}\n\n" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendLegacyError(nil, LegacyText, e)); got != "ERROR: No credits left." {
		t.Fatalf("got %q", got)
	}
}
