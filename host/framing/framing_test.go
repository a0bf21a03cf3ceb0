package framing

import (
	"bytes"
	"go/parser"
	"go/token"
	"io"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

func TestNew(t *testing.T) {
	// The names are the manifest's stream_framing values.
	for framing, want := range map[string]string{abi.FramingSSE: "*framing.SSE", abi.FramingNDJSON: "*framing.NDJSON"} {
		r, err := New(framing, strings.NewReader(""), 0)
		if err != nil {
			t.Fatalf("%s: %v", framing, err)
		}
		if got := typeName(r); got != want {
			t.Errorf("%s: got %s, want %s", framing, got, want)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("%s: empty stream gave %v", framing, err)
		}
	}
	for _, bad := range []string{"", "SSE", "json", "ndjson "} {
		if r, err := New(bad, strings.NewReader(""), 0); err == nil || r != nil {
			t.Errorf("New(%q) = %v, %v; want an error", bad, r, err)
		} else if !strings.HasPrefix(err.Error(), "framing: unknown stream framing") {
			t.Errorf("New(%q): error %q", bad, err)
		}
	}
}

func typeName(r Reader) string {
	switch r.(type) {
	case *SSE:
		return "*framing.SSE"
	case *NDJSON:
		return "*framing.NDJSON"
	}
	return "?"
}

func TestLimit(t *testing.T) {
	for in, want := range map[int]int{-1: DefaultMax, 0: DefaultMax, 1: 1, 1 << 40: maxLimit} {
		if got := limit(in); got != want {
			t.Errorf("limit(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestAppendSSE(t *testing.T) {
	cases := []struct {
		event, data, want string
	}{
		{"", `{"a":1}`, "data: {\"a\":1}\n\n"},
		{"message_start", `{}`, "event: message_start\ndata: {}\n\n"},
		{"", "", "data: \n\n"},
		{"", "a\nb", "data: a\ndata: b\n\n"},
		{"", "a\n", "data: a\ndata: \n\n"},
		{"", "\n", "data: \ndata: \n\n"},
		{"", "a\r\nb\rc", "data: a\ndata: b\ndata: c\n\n"},
		{"", "a\r", "data: a\ndata: \n\n"},
		{"", "a\r\r\nb", "data: a\ndata: \ndata: b\n\n"},
		{"", "[DONE]", "data: [DONE]\n\n"},
	}
	for _, tc := range cases {
		got := AppendSSE([]byte("prefix|"), tc.event, []byte(tc.data))
		if string(got) != "prefix|"+tc.want {
			t.Errorf("AppendSSE(%q, %q) = %q, want %q", tc.event, tc.data, got, tc.want)
		}
	}
}

func TestAppendSSENoAllocs(t *testing.T) {
	buf := make([]byte, 0, 1024)
	data := []byte(`{"choices":[{"delta":{"content":"hi"}}]}`)
	if n := testing.AllocsPerRun(100, func() { buf = AppendSSE(buf[:0], "x", data) }); n != 0 {
		t.Errorf("%v allocations per AppendSSE", n)
	}
}

// TestSteadyStateNoAllocs: once the buffers have grown, reading events
// allocates nothing.
func TestSteadyStateNoAllocs(t *testing.T) {
	for _, fx := range fixtures {
		in := readFixture(t, fx.file)
		r := bytes.NewReader(in)
		var fr interface {
			Reader
			Reset(io.Reader, int)
		}
		if fx.framing == "sse" {
			fr = NewSSE(r, 0)
		} else {
			fr = NewNDJSON(r, 0)
		}
		drain := func() {
			r.Reset(in)
			fr.Reset(r, 0)
			for {
				if _, err := fr.Next(); err != nil {
					if err != io.EOF {
						t.Fatal(err)
					}
					return
				}
			}
		}
		drain()
		if n := testing.AllocsPerRun(20, drain); n != 0 {
			t.Errorf("%s: %v allocations per stream", fx.file, n)
		}
	}
}

// TestPackageDoc: the package says why it exists, in doc.go.
func TestPackageDoc(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil || !strings.HasPrefix(f.Doc.Text(), "Package framing ") {
		t.Fatal("doc.go has no package doc")
	}
}
