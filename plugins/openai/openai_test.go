package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

// invoke runs an export on tg (the plugin natively, through the SDK's
// dispatcher, or the real openai.wasm): the same bytes the host exchanges.
func invoke(t *testing.T, tg plugintest.Target, export string, input []byte) (rec []byte, aerr *abi.Error) {
	t.Helper()
	rec, err := tg.Call(export, input)
	if err != nil {
		return nil, plugintest.ErrorOf(t, err)
	}
	return rec, nil
}

func request(t *testing.T, tg plugintest.Target, in abi.RequestIn) abi.RequestOut {
	t.Helper()
	rec, aerr := invoke(t, tg, abi.ExportRequest, in.Append(nil))
	if aerr != nil {
		t.Fatalf("request: %v", aerr)
	}
	var out abi.RequestOut
	if err := out.Parse(rec); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRequest(t *testing.T) {
	cfg := []byte(`{"organization":"org-1","headers":{"X-Extra":"v"}}`)
	plugintest.Both(t, newPlugin(cfg), "openai", cfg, testRequest)
}

func testRequest(t *testing.T, p plugintest.Target) {
	tests := []struct {
		name, body string
		flags      uint32
		want       string // the upstream body, compared as JSON
		state      byte
	}{
		{"non-stream", `{"model":"openai/gpt-4o","messages":[]}`, 0,
			`{"model":"gpt-4o-up","messages":[]}`, 0},
		{"stream adds include_usage", `{"model":"m","stream":true,"messages":[]}`, abi.FlagStream,
			`{"model":"gpt-4o-up","stream":true,"messages":[],"stream_options":{"include_usage":true}}`, stateStream},
		{"stream keeps client's include_usage", `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, abi.FlagStream | abi.FlagIncludeUsage,
			`{"model":"gpt-4o-up","stream":true,"stream_options":{"include_usage":true}}`, stateStream | stateWantUsage},
		{"stream flips include_usage false", `{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, abi.FlagStream,
			`{"model":"gpt-4o-up","stream":true,"stream_options":{"include_usage":true}}`, stateStream},
		{"stream_options with other members", `{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}`, abi.FlagStream,
			`{"model":"gpt-4o-up","stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}`, stateStream},
		{"stream_options null", `{"model":"m","stream":true,"stream_options":null}`, abi.FlagStream,
			`{"model":"gpt-4o-up","stream":true,"stream_options":{"include_usage":true}}`, stateStream},
		{"model missing", `{"messages":[]}`, 0, `{"messages":[],"model":"gpt-4o-up"}`, 0},
		{"empty object stream", `{ }`, abi.FlagStream, `{"model":"gpt-4o-up","stream_options":{"include_usage":true}}`, stateStream},
		{"stream_options before model", `{"stream_options":{},"stream":true,"model":"x"}`, abi.FlagStream,
			`{"model":"gpt-4o-up","stream":true,"stream_options":{"include_usage":true}}`, stateStream},
		{"nested model untouched", `{"metadata":{"model":"keep"},"model":"x","messages":[]}`, 0,
			`{"metadata":{"model":"keep"},"model":"gpt-4o-up","messages":[]}`, 0},
		{"passthrough of everything else", string(must(os.ReadFile("testdata/chat-completions.stream-tools.request.json"))), abi.FlagStream | abi.FlagIncludeUsage,
			"", stateStream | stateWantUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := request(t, p, abi.RequestIn{API: abi.APIChatCompletions, Model: "gpt-4o-up", Flags: tt.flags, Body: []byte(tt.body)})
			if out.Method != "POST" || out.Path != "/chat/completions" {
				t.Fatalf("method/path = %s %s", out.Method, out.Path)
			}
			if !bytes.Equal(out.State, []byte{tt.state, byte(flavorOpenAI), apiChat}) {
				t.Fatalf("state = %v, want %v", out.State, tt.state)
			}
			var got, want map[string]any
			if err := json.Unmarshal(out.Body, &got); err != nil {
				t.Fatalf("upstream body is not JSON: %v\n%s", err, out.Body)
			}
			if tt.want == "" {
				json.Unmarshal([]byte(tt.body), &want)
				want["model"] = "gpt-4o-up"
			} else {
				json.Unmarshal([]byte(tt.want), &want)
			}
			if g, w := mustJSON(got), mustJSON(want); g != w {
				t.Fatalf("body\n got %s\nwant %s", g, w)
			}
			hs := map[string]string{}
			for _, h := range out.Headers {
				hs[h.Name] = h.Value
			}
			if hs["Content-Type"] != "application/json" || hs["OpenAI-Organization"] != "org-1" || hs["X-Extra"] != "v" {
				t.Fatalf("headers = %v", hs)
			}
			if _, ok := hs["Authorization"]; ok {
				t.Fatal("the plugin must never set credentials")
			}
			if (tt.flags&abi.FlagStream != 0) != (hs["Accept"] == "text/event-stream") {
				t.Fatalf("Accept = %q", hs["Accept"])
			}
		})
	}
	t.Run("rejects other APIs and non-objects", func(t *testing.T) {
		if _, aerr := invoke(t, p, abi.ExportResponse, (&abi.ResponseIn{Status: 200, Body: []byte(`{"id":`)}).Append(nil)); aerr == nil || aerr.Status != 502 {
			t.Fatalf("a broken 200 body: %v", aerr)
		}
		for _, in := range []abi.RequestIn{{API: "embeddings", Body: []byte(`{}`), Options: []byte(`{"flavor":"deepseek"}`)},
			{API: "responses", Body: []byte(`{}`)}, {API: abi.APIChatCompletions, Body: []byte(`[1]`)}} {
			if _, aerr := invoke(t, p, abi.ExportRequest, in.Append(nil)); aerr == nil || aerr.Status != 400 {
				t.Fatalf("%s: got %v", in.API, aerr)
			}
		}
	})
}

func TestResponse(t *testing.T) { plugintest.Both(t, newPlugin(nil), "openai", nil, testResponse) }

func testResponse(t *testing.T, p plugintest.Target) {
	for _, tt := range []struct {
		file string
		want abi.Usage
	}{
		{"chat-completions.text.response.json", abi.Usage{InputTokens: 1843, OutputTokens: 412, CachedTokens: 1664, ReasoningTokens: 320}},
		{"chat-completions.tool-calls.response.json", abi.Usage{}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			body := must(os.ReadFile("testdata/" + tt.file))
			rec, aerr := invoke(t, p, abi.ExportResponse, (&abi.ResponseIn{State: []byte{0}, Status: 200, Body: body}).Append(nil))
			if aerr != nil {
				t.Fatal(aerr)
			}
			var out abi.ResponseOut
			if err := out.Parse(rec); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Body, body) {
				t.Fatal("a canonical (OpenAI) body must pass through unchanged")
			}
			if out.Usage == nil {
				t.Fatal("usage missing")
			}
			if tt.want != (abi.Usage{}) && *out.Usage != tt.want {
				t.Fatalf("usage = %+v, want %+v", *out.Usage, tt.want)
			}
			if out.Usage.InputTokens == 0 || out.Usage.OutputTokens == 0 {
				t.Fatalf("usage = %+v", *out.Usage)
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	plugintest.Both(t, newPlugin(nil), "openai", nil, testUpstreamErrors)
}

func testUpstreamErrors(t *testing.T, p plugintest.Target) {
	for _, tt := range []struct {
		file       string
		status     uint32
		headers    []abi.Header
		wantStatus int
		wantCode   string
		retryable  bool
		retryMS    int64
	}{
		{"error-429-rate-limit-exceeded.response.json", 429, []abi.Header{{Name: "Retry-After", Value: "2"}}, 429, "rate_limit_exceeded", true, 2000},
		{"error-429-insufficient-quota.response.json", 429, nil, 429, "insufficient_quota", false, 0},
		{"error-401-invalid-api-key.response.json", 401, nil, 502, "upstream_auth_failed", true, 0},
		{"error-404-model-not-found.response.json", 404, nil, 404, "model_not_found", false, 0},
		{"error-400-context-length-exceeded.response.json", 400, nil, 400, "context_length_exceeded", false, 0},
		{"", 500, nil, 502, "", true, 0},
		{"", 503, nil, 502, "", true, 0},
		{"", 504, nil, 504, "", true, 0},
	} {
		t.Run(tt.file+"/"+string(rune('0'+tt.status/100)), func(t *testing.T) {
			body := []byte("upstream exploded")
			if tt.file != "" {
				body = must(os.ReadFile("testdata/" + tt.file))
			}
			_, aerr := invoke(t, p, abi.ExportResponse, (&abi.ResponseIn{Status: tt.status, Headers: tt.headers, Body: body}).Append(nil))
			if aerr == nil {
				t.Fatal("want an error")
			}
			if aerr.Status != tt.wantStatus || aerr.Code != tt.wantCode || aerr.Retryable != tt.retryable || aerr.RetryAfterMS != tt.retryMS || aerr.Message == "" {
				t.Fatalf("got %+v", aerr)
			}
			if strings.Contains(aerr.Message, "sk-proj") {
				t.Fatal("a key fragment leaked into the client message")
			}
		})
	}
}

// streamEvents runs every SSE event of a fixture through the plugin.
func streamEvents(t *testing.T, p plugintest.Target, file string, state byte) (chunks []string, usage *abi.Usage, done bool) {
	t.Helper()
	raw := string(must(os.ReadFile("testdata/" + file)))
	st := []byte{state}
	for _, ev := range strings.Split(strings.TrimSpace(raw), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		rec, aerr := invoke(t, p, abi.ExportStreamEvent, (&abi.StreamIn{State: st, Events: []abi.Event{{Data: []byte(data)}}}).Append(nil))
		if aerr != nil {
			t.Fatal(aerr)
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
		st = out.State
		for _, c := range out.Chunks {
			chunks = append(chunks, string(c))
		}
		if out.Usage != nil {
			usage = out.Usage
		}
		done = done || out.Flags&abi.StreamDone != 0
	}
	return chunks, usage, done
}

func TestStream(t *testing.T) { plugintest.Both(t, newPlugin(nil), "openai", nil, testStream) }

func testStream(t *testing.T, p plugintest.Target) {
	for _, file := range []string{"chat-completions.stream-text.response.sse", "chat-completions.stream-tools.response.sse"} {
		t.Run(file, func(t *testing.T) {
			with, u1, done1 := streamEvents(t, p, file, stateStream|stateWantUsage)
			without, u2, done2 := streamEvents(t, p, file, stateStream)
			if !done1 || !done2 {
				t.Fatal("[DONE] must set StreamDone")
			}
			if u1 == nil || u2 == nil || *u1 != *u2 || u1.InputTokens == 0 || u1.OutputTokens == 0 {
				t.Fatalf("usage must be reported either way: %+v %+v", u1, u2)
			}
			if len(with) != len(without)+1 {
				t.Fatalf("the usage chunk must be kept only when asked: %d vs %d chunks", len(with), len(without))
			}
			for _, c := range without {
				if strings.Contains(c, `"usage"`) {
					t.Fatalf("usage key left in a chunk the client did not ask usage for: %s", c)
				}
				var v map[string]any
				if err := json.Unmarshal([]byte(c), &v); err != nil {
					t.Fatalf("chunk is not JSON after stripping: %v: %s", err, c)
				}
			}
			if !strings.Contains(with[len(with)-1], `"choices":[]`) {
				t.Fatalf("last chunk with usage = %s", with[len(with)-1])
			}
		})
	}
	t.Run("mid-stream error", func(t *testing.T) {
		rec, aerr := invoke(t, p, abi.ExportStreamEvent, (&abi.StreamIn{State: []byte{stateStream}, Events: []abi.Event{
			{Data: []byte(`{"choices":[{"delta":{"content":"a"}}],"usage":null}`)},
			{Data: []byte(`{"error":{"message":"boom","type":"server_error"}}`)},
		}}).Append(nil))
		var out abi.StreamOut
		if aerr != nil || out.Parse(rec) != nil || len(out.Chunks) != 1 || out.Error == nil || out.Error.Message != "boom" || out.Error.Status != 502 {
			t.Fatalf("got %+v %v", out, aerr)
		}
	})
	t.Run("the whole fixture in one batch", func(t *testing.T) {
		raw := string(must(os.ReadFile("testdata/chat-completions.stream-text.response.sse")))
		in := abi.StreamIn{State: []byte{stateStream}}
		for _, ev := range strings.Split(strings.TrimSpace(raw), "\n\n") {
			in.Events = append(in.Events, abi.Event{Data: []byte(strings.TrimPrefix(ev, "data: "))})
		}
		rec, aerr := invoke(t, p, abi.ExportStreamEvent, in.Append(nil))
		var out abi.StreamOut
		if aerr != nil || out.Parse(rec) != nil || len(out.Chunks) != len(in.Events)-2 || out.Usage == nil || out.Flags&abi.StreamDone == 0 {
			t.Fatalf("got %d chunks, usage %v, flags %d, %v", len(out.Chunks), out.Usage, out.Flags, aerr)
		}
	})
}

func FuzzRewrite(f *testing.F) {
	f.Add([]byte(`{"model":"m","stream":true,"stream_options":{"include_usage":false}}`), true)
	f.Add([]byte(`{"stream_options":null}`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, body []byte, stream bool) {
		if !json.Valid(body) {
			return // the host validates bodies before the plugin sees them
		}
		out, ok := rewrite(body, "up", stream)
		if !ok {
			return
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("rewrite produced invalid JSON: %v\n%s\n%s", err, body, out)
		}
		var orig map[string]any
		json.Unmarshal(body, &orig)
		if countKey(body, "model") > 1 || countKey(body, "stream_options") > 1 {
			return // duplicates are rejected by the host
		}
		if v["model"] != "up" {
			t.Fatalf("model = %v\n%s", v["model"], out)
		}
		if stream {
			so, _ := v["stream_options"].(map[string]any)
			if so == nil || so["include_usage"] != true {
				t.Fatalf("include_usage not forced: %s", out)
			}
		}
	})
}

func countKey(body []byte, key string) int {
	n := 0
	dec := json.NewDecoder(bytes.NewReader(body))
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				depth++
			} else {
				depth--
			}
			expectKey = t == '{' && depth == 1
		case string:
			if depth == 1 && expectKey {
				if t == key {
					n++
				}
				expectKey = false
				continue
			}
			expectKey = depth == 1
		default:
			expectKey = depth == 1
		}
	}
}

func TestRemoveMember(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1,"usage":null,"b":2}`: `{"a":1,"b":2}`,
		`{"a":1,"usage":null}`:       `{"a":1}`,
		`{"usage":null}`:             `{}`,
	} {
		b := []byte(in)
		if got := string(removeMember(b, bytes.Index(b, usageNull), len(usageNull))); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}

func FuzzStreamEvent(f *testing.F) {
	f.Add([]byte(`{"id":"x","choices":[],"usage":null}`), byte(0))
	f.Add([]byte(`{"choices":[],"usage":{"prompt_tokens":1}}`), byte(1))
	f.Add([]byte(`[DONE]`), byte(3))
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, data []byte, state byte) {
		res := provider.Invoke(p, abi.ExportStreamEvent, (&abi.StreamIn{State: []byte{state}, Events: []abi.Event{{Data: data}}}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if st == abi.StatusOK {
			var out abi.StreamOut
			if err := out.Parse(rec); err != nil {
				t.Fatalf("plugin produced a malformed record: %v", err)
			}
		}
	})
}

func BenchmarkRequestNative(b *testing.B) {
	p := newPlugin(nil)
	in := (&abi.RequestIn{API: abi.APIChatCompletions, Model: "gpt-4o-mini", Flags: abi.FlagStream, Body: must(os.ReadFile("testdata/chat-completions.stream-tools.request.json"))}).Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if res := provider.Invoke(p, abi.ExportRequest, in); res[0] != abi.StatusOK {
			b.Fatal(string(res))
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestGoldenStreamBoth runs the fixture streams through the host's framer,
// split at adversarial boundaries, natively and as the real openai.wasm.
func TestGoldenStreamBoth(t *testing.T) {
	plugintest.Both(t, newPlugin(nil), "openai", nil, func(t *testing.T, tg plugintest.Target) {
		for _, f := range []string{"chat-completions.stream-text.response.sse", "chat-completions.stream-tools.response.sse"} {
			res := plugintest.Stream(t, tg, []byte{stateStream | stateWantUsage}, plugintest.Fixture(t, f))
			if !res.Done || res.Err != nil || res.Usage == nil || res.Usage.InputTokens == 0 || len(res.Chunks) < 3 {
				t.Fatalf("%s: %s", f, res)
			}
		}
	})
}

// The same typical request and text-delta event the other provider plugins
// benchmark, through the real openai.wasm.
const (
	benchRequest = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly and precisely."},{"role":"user","content":"What is the capital of Australia?"},{"role":"assistant","content":"Canberra."},{"role":"user","content":"Why not Sydney? Give me the short history."}],"temperature":0.7,"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}}`
	benchEvent   = `{"id":"chatcmpl-C1LOy7X3M3bVtqzBaWnq7VPRlTjq1","object":"chat.completion.chunk","created":1754556396,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{"content":" Yes, take an umbrella: light rain is expected"},"logprobs":null,"finish_reason":null}],"usage":null}`
)

func BenchmarkWasmRequest(b *testing.B) {
	tg := plugintest.Wasm(b, "openai", nil)
	in := &abi.RequestIn{API: abi.APIChatCompletions, Model: "gpt-4o", Flags: abi.FlagStream | abi.FlagIncludeUsage, Body: []byte(benchRequest), Options: []byte(`{}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWasmStreamEvent(b *testing.B) {
	tg := plugintest.Wasm(b, "openai", nil)
	in := &abi.StreamIn{State: []byte{stateStream | stateWantUsage, byte(flavorOpenAI), apiChat}, Events: []abi.Event{{Data: []byte(benchEvent)}}}
	b.ReportAllocs()
	for b.Loop() {
		if out, err := tg.StreamEvent(in); err != nil || len(out.Chunks) != 1 {
			b.Fatal(out, err)
		}
	}
}
