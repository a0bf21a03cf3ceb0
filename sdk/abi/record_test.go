package abi

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	u := &Usage{InputTokens: 27, OutputTokens: 5, CachedTokens: 3, CacheWriteTokens: 2, ReasoningTokens: 1, Images: 4}
	t.Run("RequestIn", func(t *testing.T) {
		in := RequestIn{API: APIChatCompletions, Model: "gpt-4o", Flags: FlagStream | FlagIncludeUsage, RequestID: "r1", Body: []byte(`{"a":1}`),
			Provider: "deepseek", Options: []byte(`{"flavor":"deepseek"}`), UnixMS: 1764201600123}
		var out RequestIn
		if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("RequestIn from an ABI 1.0 host", func(t *testing.T) {
		// The five fields an ABI 1.0 host sends: the appended ones decode empty.
		var rec []byte
		for _, f := range []string{APIChatCompletions, "m", "", "r1", "{}"} {
			rec = AppendStringField(rec, f)
		}
		var out RequestIn
		if err := out.Parse(rec); err != nil || out.Model != "m" || string(out.Body) != "{}" || out.Provider != "" || len(out.Options) != 0 || out.UnixMS != 0 {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("RequestOut", func(t *testing.T) {
		in := RequestOut{Method: "POST", Path: "/chat/completions?x=1", Headers: []Header{{"Content-Type", "application/json"}, {"X-A", "b: c"}}, Body: []byte("{}"), State: []byte{0, 1, 2}}
		var out RequestOut
		if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("ResponseIn", func(t *testing.T) {
		in := ResponseIn{State: []byte("s"), Status: 429, Headers: []Header{{"Retry-After", "2"}}, Body: []byte("err")}
		var out ResponseIn
		if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
			t.Fatalf("got %+v, %v", out, err)
		}
		if out.Header("retry-after") != "2" {
			t.Fatal("case-insensitive header lookup")
		}
	})
	t.Run("ResponseOut", func(t *testing.T) {
		for _, in := range []ResponseOut{{Body: []byte("b"), Usage: u}, {Body: []byte("b")}} {
			var out ResponseOut
			if err := out.Parse(in.Append(nil)); err != nil || !reflect.DeepEqual(in, out) {
				t.Fatalf("got %+v, %v", out, err)
			}
		}
	})
	t.Run("StreamIn", func(t *testing.T) {
		in := StreamIn{State: []byte("s"), Events: []Event{{Name: []byte("message"), Data: []byte("d1")}, {Data: []byte("d2")}}}
		var out StreamIn
		if err := out.Parse(in.Append(nil)); err != nil || len(out.Events) != 2 || string(out.Events[0].Name) != "message" ||
			string(out.Events[1].Data) != "d2" || len(out.Events[1].Name) != 0 || string(out.State) != "s" {
			t.Fatalf("got %+v, %v", out, err)
		}
	})
	t.Run("StreamOut", func(t *testing.T) {
		for _, in := range []StreamOut{
			{State: []byte("s"), Chunks: [][]byte{[]byte("c1"), {}, []byte("c3")}, Usage: u, Flags: StreamDone},
			{State: []byte("s"), Chunks: [][]byte{}},
			{State: []byte("s"), Chunks: [][]byte{[]byte("c1")}, Error: &Error{Status: 502, Message: "boom"}},
		} {
			var out StreamOut
			if err := out.Parse(in.Append(nil)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.State, in.State) || len(out.Chunks) != len(in.Chunks) || !reflect.DeepEqual(out.Usage, in.Usage) || out.Flags != in.Flags || !reflect.DeepEqual(out.Error, in.Error) {
				t.Fatalf("got %+v want %+v", out, in)
			}
			for i := range in.Chunks {
				if !bytes.Equal(in.Chunks[i], out.Chunks[i]) {
					t.Fatalf("chunk %d", i)
				}
			}
		}
	})
}

func TestFieldsCompat(t *testing.T) {
	// Missing trailing fields decode as empty; extra trailing fields are ignored.
	var r RequestIn
	if err := r.Parse(AppendStringField(nil, "chat.completions")); err != nil || r.API != "chat.completions" || r.Body != nil {
		t.Fatalf("short record: %+v %v", r, err)
	}
	rec := (&RequestIn{API: "a", Body: []byte("b")}).Append(nil)
	rec = AppendStringField(rec, "future")
	if err := r.Parse(rec); err != nil || string(r.Body) != "b" {
		t.Fatalf("long record: %+v %v", r, err)
	}
	for _, bad := range [][]byte{{1}, {5, 0, 0, 0, 'a'}, {0xff, 0xff, 0xff, 0xff}} {
		if err := r.Parse(bad); err != ErrMalformed {
			t.Fatalf("%v: err = %v", bad, err)
		}
	}
}

func TestHeadersDropsInjection(t *testing.T) {
	rec := AppendHeadersField(nil, []Header{{"A", "1\nB: 2"}, {"C", "3"}, {"Bad Name", "x"}})
	var got []Header
	var f [1][]byte
	Fields(rec, f[:])
	if err := ParseHeaders(f[0], func(n, v string) { got = append(got, Header{n, v}) }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Header{{"C", "3"}}) {
		t.Fatalf("got %v", got)
	}
}

func TestRetryAfterMS(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "2": 2000, "0.5": 500, "x": 0, "-1": 0, "Wed, 21 Oct 2015 07:28:00 GMT": 0} {
		if got := RetryAfterMS(in); got != want {
			t.Errorf("RetryAfterMS(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add((&StreamOut{State: []byte("s"), Chunks: [][]byte{[]byte("c")}, Usage: &Usage{InputTokens: 1}, Flags: 1}).Append(nil))
	f.Add((&RequestOut{Method: "POST", Headers: []Header{{"A", "b"}}}).Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		var so StreamOut
		if so.Parse(b) == nil {
			var again StreamOut
			if err := again.Parse(so.Append(nil)); err != nil {
				t.Fatalf("re-encoded StreamOut does not parse: %v", err)
			}
		}
		var ro RequestOut
		_ = ro.Parse(b)
		var ri ResponseIn
		_ = ri.Parse(b)
		var si StreamIn
		if si.Parse(b) == nil {
			var again StreamIn
			if err := again.Parse(si.Append(nil)); err != nil || len(again.Events) != len(si.Events) {
				t.Fatalf("re-encoded StreamIn: %v", err)
			}
		}
		var po ResponseOut
		_ = po.Parse(b)
	})
}
