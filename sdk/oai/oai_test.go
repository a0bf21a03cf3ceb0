package oai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/tidwall/gjson"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	return m
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "nl\n\r\t\x00\x1f", "ünï €𝄞", "bad\xffutf8", "\u2028\u2029", "<&>"} {
		got := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q: round trip %q, encoding/json %q", s, back, wantBack)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\xff", "𝄞\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)[1:]
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q -> %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q: %q != %q", s, back, wantBack)
		}
	})
}

func TestStreamChunks(t *testing.T) {
	s := &Stream{ID: "msg_1", Model: "claude", Created: 1700000000}
	u := &abi.Usage{InputTokens: 10, OutputTokens: 5, CachedTokens: 4, CacheWriteTokens: 2, ReasoningTokens: 1}
	tests := []struct {
		name  string
		chunk []byte
		delta string // the choice's delta as JSON, "" for the usage chunk
	}{
		{"role", s.AppendRole(nil), `{"role":"assistant","content":""}`},
		{"content", s.AppendContent(nil, `"Hi \"there\""`), `{"content":"Hi \"there\""}`},
		{"reasoning", s.AppendReasoning(nil, `"hmm"`), `{"reasoning_content":"hmm"}`},
		{"tool start", s.AppendToolCallStart(nil, 1, "toolu_1", "get_weather"),
			`{"tool_calls":[{"index":1,"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`},
		{"tool args", s.AppendToolCallArgs(nil, 1, `"{\"loc"`), `{"tool_calls":[{"index":1,"function":{"arguments":"{\"loc"}}]}`},
		{"whole tool", s.AppendToolCall(nil, 0, "call_x", "f", "{ \"a\" : [1, 2] }"),
			`{"tool_calls":[{"index":0,"id":"call_x","type":"function","function":{"name":"f","arguments":"{\"a\":[1,2]}"}}]}`},
		{"finish", s.AppendFinish(nil, FinishToolCalls), `{}`},
	}
	for _, tt := range tests {
		m := decode(t, tt.chunk)
		if m["id"] != "msg_1" || m["object"] != "chat.completion.chunk" || m["model"] != "claude" || m["created"] != float64(1700000000) {
			t.Fatalf("%s: envelope %s", tt.name, tt.chunk)
		}
		ch := m["choices"].([]any)[0].(map[string]any)
		got, _ := json.Marshal(ch["delta"])
		var want any
		json.Unmarshal([]byte(tt.delta), &want)
		wantB, _ := json.Marshal(want)
		if string(got) != string(wantB) {
			t.Fatalf("%s: delta %s, want %s", tt.name, got, wantB)
		}
		if tt.name == "finish" && ch["finish_reason"] != "tool_calls" || tt.name != "finish" && ch["finish_reason"] != nil {
			t.Fatalf("%s: finish_reason %v", tt.name, ch["finish_reason"])
		}
	}
	m := decode(t, s.AppendUsage(nil, u))
	if len(m["choices"].([]any)) != 0 {
		t.Fatal("usage chunk has choices")
	}
	usage := m["usage"].(map[string]any)
	if usage["prompt_tokens"] != 10.0 || usage["completion_tokens"] != 5.0 || usage["total_tokens"] != 15.0 ||
		usage["prompt_tokens_details"].(map[string]any)["cached_tokens"] != 4.0 ||
		usage["prompt_tokens_details"].(map[string]any)["cache_write_tokens"] != 2.0 ||
		usage["completion_tokens_details"].(map[string]any)["reasoning_tokens"] != 1.0 {
		t.Fatalf("usage %v", usage)
	}
}

func TestCompletion(t *testing.T) {
	c := Completion{ID: "msg_1", Model: "m", Created: 5, ToolCalls: []ToolCall{{ID: "t1", Name: "f", Args: `{"x": 1}`}, {ID: "t2", Name: "g"}},
		Finish: FinishToolCalls, Usage: &abi.Usage{InputTokens: 3, OutputTokens: 4}}
	m := decode(t, c.Append(nil))
	msg := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)
	if msg["content"] != nil || msg["role"] != "assistant" {
		t.Fatalf("message %v", msg)
	}
	tcs := msg["tool_calls"].([]any)
	if tcs[0].(map[string]any)["function"].(map[string]any)["arguments"] != `{"x":1}` ||
		tcs[1].(map[string]any)["function"].(map[string]any)["arguments"] != `{}` {
		t.Fatalf("tool calls %v", tcs)
	}
	c = Completion{ID: "x", Content: "hello\n", HasContent: true, Reasoning: "think", Finish: FinishLength}
	m = decode(t, c.Append(nil))
	ch := m["choices"].([]any)[0].(map[string]any)
	msg = ch["message"].(map[string]any)
	if msg["content"] != "hello\n" || msg["reasoning_content"] != "think" || ch["finish_reason"] != "length" || m["usage"] != nil {
		t.Fatalf("completion %v", m)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in     UpstreamError
		status int
		typ    string
		retry  bool
		ms     int64
	}{
		{UpstreamError{Status: 400, Message: "bad"}, 400, "invalid_request_error", false, 0},
		{UpstreamError{Status: 401, Message: "key sk-ant-xyz invalid"}, 502, "upstream_error", true, 0},
		{UpstreamError{Status: 429, RetryAfter: "7"}, 429, "rate_limit_error", true, 7000},
		{UpstreamError{Status: 429, RetryAfter: "1.5s"}, 429, "rate_limit_error", true, 1500},
		{UpstreamError{Status: 429, QuotaExhausted: true}, 429, "insufficient_quota", false, 0},
		{UpstreamError{Status: 529, Overloaded: true, Type: "overloaded_error"}, 503, "upstream_overloaded", true, 0},
		{UpstreamError{Status: 500}, 502, "upstream_error", true, 0},
		{UpstreamError{Status: 504}, 504, "upstream_timeout", true, 0},
		{UpstreamError{Status: 404, Type: "not_found_error", Message: "model: x"}, 404, "not_found_error", false, 0},
	}
	for _, tt := range tests {
		e := Normalize(tt.in)
		if e.Status != tt.status || e.Type != tt.typ || e.Retryable != tt.retry || e.RetryAfterMS != tt.ms || e.Message == "" {
			t.Errorf("%+v -> %+v", tt.in, e)
		}
	}
	if e := Normalize(UpstreamError{Status: 401, Message: "key sk-ant-xyz invalid"}); e.Code != "upstream_auth_failed" || strings.Contains(e.Message, "sk-ant") {
		t.Fatalf("auth error leaks: %+v", e)
	}
}

func TestRequestReaders(t *testing.T) {
	req := gjson.Parse(`{"stop":["a","",5,"b"],"max_tokens":10,"max_completion_tokens":20,"tool_choice":{"type":"function","function":{"name":"f"}},
		"messages":[{"role":"developer","content":"sys"},{"role":"user","content":[{"type":"text","text":"hi "},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAA"}},{"type":"text","text":"there"}]},
		{"role":"assistant","tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]}]}`)
	if got := Stop(req); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("stop %v", got)
	}
	if got := Stop(gjson.Parse(`{"stop":"x"}`)); !reflect.DeepEqual(got, []string{"x"}) {
		t.Fatalf("stop %v", got)
	}
	if n, ok := MaxTokens(req); n != 20 || !ok {
		t.Fatalf("max %d", n)
	}
	if _, ok := MaxTokens(gjson.Parse(`{"max_tokens":0}`)); ok {
		t.Fatal("zero max_tokens is unset")
	}
	if m, n := ToolChoice(req); m != ChoiceFunction || n != "f" {
		t.Fatalf("choice %s %s", m, n)
	}
	if m, _ := ToolChoice(gjson.Parse(`{"tool_choice":"required"}`)); m != ChoiceRequired {
		t.Fatal(m)
	}
	msgs := req.Get("messages").Array()
	if Role(msgs[0]) != "system" {
		t.Fatal("developer is system")
	}
	if got := Text(msgs[1].Get("content")); got != "hi there" {
		t.Fatalf("text %q", got)
	}
	var urls []string
	EachPart(msgs[1].Get("content"), func(p Part) bool {
		if p.Type == "image_url" {
			urls = append(urls, p.URL)
		}
		return true
	})
	if len(urls) != 1 {
		t.Fatal(urls)
	}
	if mt, d, ok := ParseDataURL(urls[0]); !ok || mt != "image/png" || d != "AAA" {
		t.Fatalf("data url %s %s %v", mt, d, ok)
	}
	for _, bad := range []string{"https://x/y.png", "data:image/png,AAA", "data:nocomma"} {
		if _, _, ok := ParseDataURL(bad); ok {
			t.Fatalf("%s parsed", bad)
		}
	}
	if ToolNames(req.Get("messages"))["c1"] != "f" {
		t.Fatal("tool names")
	}
	for in, want := range map[string]string{"": "{}", " {\"a\":1} ": `{"a":1}`} {
		if got, ok := ToolArgs(in); !ok || got != want {
			t.Fatalf("args %q -> %q", in, got)
		}
	}
	for _, bad := range []string{"[1]", "{", "3"} {
		if _, ok := ToolArgs(bad); ok {
			t.Fatalf("args %q accepted", bad)
		}
	}
}

func TestToolCallID(t *testing.T) {
	a, b, c := ToolCallID("req-1", 0), ToolCallID("req-1", 1), ToolCallID("req-2", 0)
	if a != ToolCallID("req-1", 0) || a == b || a == c || len(a) != 29 || a[:5] != "call_" {
		t.Fatalf("%s %s %s", a, b, c)
	}
}

func TestEmbeddings(t *testing.T) {
	vec := gjson.Parse(`[0.5, -1.25, 3]`)
	r := EmbeddingsResponse{Model: "m"}
	r.AppendVector(vec)
	r.AppendVector(vec)
	m := decode(t, r.Finish(7))
	data := m["data"].([]any)
	if len(data) != 2 || data[1].(map[string]any)["index"] != 1.0 || !reflect.DeepEqual(data[0].(map[string]any)["embedding"], []any{0.5, -1.25, 3.0}) {
		t.Fatalf("float %v", m)
	}
	if m["usage"].(map[string]any)["prompt_tokens"] != 7.0 || m["model"] != "m" {
		t.Fatalf("usage %v", m)
	}
	r = EmbeddingsResponse{Model: "m", Base64: true}
	r.AppendVector(vec)
	m = decode(t, r.Finish(1))
	raw, err := base64.StdEncoding.DecodeString(m["data"].([]any)[0].(map[string]any)["embedding"].(string))
	if err != nil || len(raw) != 12 {
		t.Fatal(err, len(raw))
	}
	for i, want := range []float32{0.5, -1.25, 3} {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want {
			t.Fatalf("%d: %v", i, got)
		}
	}
	if in, ok := EmbeddingInputs(gjson.Parse(`{"input":["a","b"]}`)); !ok || len(in) != 2 {
		t.Fatal(in)
	}
	if _, ok := EmbeddingInputs(gjson.Parse(`{"input":[1,2]}`)); ok {
		t.Fatal("token input accepted")
	}
}

func TestImages(t *testing.T) {
	m := decode(t, AppendImagesResponse(nil, 9, []Image{{URL: "https://x/1.png"}, {B64JSON: "AAAA", RevisedPrompt: "p"}}))
	d := m["data"].([]any)
	if m["created"] != 9.0 || d[0].(map[string]any)["url"] != "https://x/1.png" || d[1].(map[string]any)["b64_json"] != "AAAA" {
		t.Fatal(m)
	}
}

func TestLiteral(t *testing.T) {
	for raw, ok := range map[string]bool{`"a"`: true, `""`: true, `"\u00e9\n\"x\""`: true, `"a`: false, `"a"b`: false,
		"\"\x01\"": false, `"\q"`: false, `"\u12"`: false, `x`: false, `"`: false} {
		if ValidLiteral(raw) != ok {
			t.Errorf("ValidLiteral(%q) = %v", raw, !ok)
		}
	}
	if got := Literal(gjson.Parse("\"bad\x01\"")); !json.Valid([]byte(got)) {
		t.Fatalf("Literal re-encodes: %q", got)
	}
	if View(nil) != "" || View([]byte("ab")) != "ab" || Parse([]byte(`{"a":1}`)).Get("a").Int() != 1 {
		t.Fatal("View/Parse")
	}
}

func FuzzValidLiteral(f *testing.F) {
	for _, s := range []string{`"a"`, `"\u0041"`, "\"\x00\"", `"\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidLiteral(raw) != (len(raw) > 1 && raw[0] == '"' && raw[len(raw)-1] == '"' && json.Valid([]byte(raw))) {
			t.Fatalf("ValidLiteral(%q) disagrees with encoding/json", raw)
		}
	})
}

func TestSWAR(t *testing.T) {
	l := NewLit(`"text": "`)
	b := []byte(`{"text": "hello world, this is plain"}`)
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !l.At(b, p, 1) || l.At(b, p, 0) || l.At(b, p, -1) || l.At(b, p, len(b)-3) {
		t.Fatal("Lit.At")
	}
	for in, want := range map[string]int{`"abc"`: 5, `"a long plain string past eight"x`: 32, `"esc\"aped"`: -1, "\"ctl\x01\"": -1, `"open`: -1, `x`: -1} {
		if got := PlainEnd([]byte(in), 0); got != want {
			t.Errorf("PlainEnd(%q) = %d, want %d", in, got, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewLit of a short string must panic")
		}
	}()
	NewLit("short")
}

func TestEachToolCall(t *testing.T) {
	calls := gjson.Parse(`[{"id":"c1","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"c2","function":{"name":"g","arguments":""}}]`)
	var got []string
	if bad := EachToolCall(calls, "x", func(id, name, input string) bool { got = append(got, id+" "+name+" "+input); return true }); bad != nil {
		t.Fatal(bad)
	}
	if !reflect.DeepEqual(got, []string{`c1 f {"a":1}`, `c2 g {}`}) {
		t.Fatal(got)
	}
	bad := EachToolCall(gjson.Parse(`[{"id":"c1","function":{"name":"f"}},{"id":"c2","function":{"name":"g","arguments":"[1]"}}]`), "bedrock", func(string, string, string) bool { return true })
	if bad == nil || bad.Index != 1 || bad.Member != ".function.arguments" || !strings.Contains(bad.Err, "bedrock") {
		t.Fatalf("%+v", bad)
	}
	if bad := EachToolCall(gjson.Parse(`[{"function":{"name":"f"}}]`), "x", func(string, string, string) bool { return true }); bad == nil || bad.Index != 0 || bad.Member != "" {
		t.Fatalf("%+v", bad)
	}
}
