package anthropic

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/oai"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// read returns a file under testdata.
func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/golden/name (rewriting it with
// -update). JSON goldens compare as JSON values, others byte for byte.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		out := got
		if strings.HasSuffix(name, ".json") {
			var buf bytes.Buffer
			if err := json.Indent(&buf, got, "", "  "); err != nil {
				t.Fatalf("%s: %v: %s", name, err, got)
			}
			out = append(buf.Bytes(), '\n')
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if strings.HasSuffix(name, ".json") {
		if !jsonEqual(t, got, want) {
			t.Fatalf("%s differs:\ngot  %s\nwant %s", name, got, want)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\ngot\n%s\nwant\n%s", name, got, want)
	}
}

func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("invalid JSON %v: %s", err, b)
	}
	return v
}

func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(decode(t, a), decode(t, b))
}

// sseEvent is one event of an SSE stream.
type sseEvent struct {
	Name string
	Data string
}

// parseSSE splits an SSE body into events. It fails on anything but
// "event:" and "data:" lines and blank separators.
func parseSSE(t testing.TB, body []byte) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Data != "" || cur.Name != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if cur.Data != "" {
				t.Fatalf("two data lines in one event: %q", line)
			}
			cur.Data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
	if cur.Data != "" || cur.Name != "" {
		out = append(out, cur)
	}
	return out
}

// chunks returns the data payloads of an OpenAI stream, without [DONE].
func chunks(t testing.TB, body []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, e := range parseSSE(t, body) {
		if e.Data != "[DONE]" {
			out = append(out, []byte(e.Data))
		}
	}
	return out
}

// encode runs a whole stream through an encoder: the chunks, then Done.
func encode(t testing.TB, meta Meta, input int64, cs [][]byte) []byte {
	t.Helper()
	e := NewStreamEncoder(meta, input)
	var out []byte
	for _, c := range cs {
		out = e.Chunk(out, c)
	}
	return e.Done(out)
}

// names lists the event names of a stream, with runs of
// content_block_delta collapsed to "delta*".
func names(events []sseEvent) string {
	var out []string
	for _, e := range events {
		n := e.Name
		if n == "content_block_delta" {
			n = "delta*"
			if len(out) > 0 && out[len(out)-1] == n {
				continue
			}
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

// toolCallID is the id synthesized for a call without one.
func toolCallID(messageID string, ordinal int) string { return oai.ToolCallID(messageID, ordinal) }
