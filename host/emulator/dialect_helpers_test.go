package emulator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// The helpers of the non-OpenAI providers' tests. Their fixtures are
// compared by structure: JSON is flattened into key paths and value kinds
// (arrays merge their elements), so two bodies compare equal when they
// have the same keys with the same kinds, whatever the values, the key
// order and the whitespace.

// jsonPaths flattens a JSON document into "path: kind" entries, such as
// "content[].type: string"; an empty array or object is its own entry.
func jsonPaths(t testing.TB, data []byte) map[string]string {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	out := map[string]string{}
	flatten(out, "", v)
	return out
}

func flatten(out map[string]string, path string, v any) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			out[path] = "object"
		}
		for k, e := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(out, p, e)
		}
	case []any:
		if len(v) == 0 {
			out[path+"[]"] = "empty"
		}
		for _, e := range v {
			flatten(out, path+"[]", e)
		}
	case string:
		out[path] = "string"
	case json.Number:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
}

// comparePaths reports the paths got and want do not share, ignoring the
// paths that start with one of ignore (optional fields).
func comparePaths(t testing.TB, what string, got, want []byte, ignore ...string) {
	t.Helper()
	g, w := jsonPaths(t, got), jsonPaths(t, want)
	skip := func(p string) bool {
		for _, i := range ignore {
			if strings.HasPrefix(p, i) {
				return true
			}
		}
		return false
	}
	// An empty array matches a filled one.
	for p, k := range g {
		if k == "empty" {
			if _, ok := w[p]; !ok && hasPrefixKey(w, p) {
				delete(g, p)
			}
		}
	}
	for p, k := range w {
		if k == "empty" {
			if _, ok := g[p]; !ok && hasPrefixKey(g, p) {
				delete(w, p)
			}
		}
	}
	var diffs []string
	for _, p := range slices.Sorted(maps.Keys(g)) {
		if skip(p) {
			continue
		}
		if wk, ok := w[p]; !ok {
			diffs = append(diffs, "extra   "+p+": "+g[p])
		} else if wk != g[p] {
			diffs = append(diffs, "kind    "+p+": "+g[p]+", fixture "+wk)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(w)) {
		if _, ok := g[p]; !ok && !skip(p) {
			diffs = append(diffs, "missing "+p+": "+w[p])
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%s: structure differs from the fixture:\n  %s\ngot:\n%s", what, strings.Join(diffs, "\n  "), got)
	}
}

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) && k != prefix {
			return true
		}
	}
	return false
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t testing.TB, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// field returns the value at a dotted path of a JSON document ("a.b.0.c").
func field(t testing.TB, data []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	for _, k := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// num returns the number at path, -1 when it is absent.
func num(t testing.TB, data []byte, path string) int {
	t.Helper()
	f, ok := field(t, data, path).(float64)
	if !ok {
		return -1
	}
	return int(f)
}

func str(t testing.TB, data []byte, path string) string {
	t.Helper()
	s, _ := field(t, data, path).(string)
	return s
}

// sseEvent is one event of an Anthropic stream.
type sseEvent struct {
	name string
	data []byte
}

// anthropicEvents checks the framing of an Anthropic stream ("event:" and
// "data:" lines, LF, a blank line after each event, data.type equal to
// the event name) and returns its events.
func anthropicEvents(t testing.TB, body []byte) []sseEvent {
	t.Helper()
	s := string(body)
	if !strings.HasSuffix(s, "\n\n") {
		t.Fatalf("stream does not end with a blank line: %q", s)
	}
	if strings.Contains(s, "\r") {
		t.Fatalf("stream has CR characters")
	}
	var out []sseEvent
	for _, block := range strings.Split(strings.TrimSuffix(s, "\n\n"), "\n\n") {
		lines := strings.Split(block, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("malformed event %q", block)
		}
		ev := sseEvent{name: strings.TrimPrefix(lines[0], "event: "), data: []byte(strings.TrimPrefix(lines[1], "data: "))}
		if typ := str(t, ev.data, "type"); typ != ev.name {
			t.Fatalf("event %s has data.type %q", ev.name, typ)
		}
		out = append(out, ev)
	}
	return out
}

func eventNames(evs []sseEvent) []string {
	var names []string
	for _, e := range evs {
		names = append(names, e.name)
	}
	return names
}

// geminiEvents checks the framing of a Gemini SSE stream (data-only
// events, each followed by "\r\n\r\n") and returns the payloads.
func geminiEvents(t testing.TB, body []byte) [][]byte {
	t.Helper()
	s := string(body)
	if !strings.HasSuffix(s, "\r\n\r\n") {
		t.Fatalf("stream does not end with CRLF CRLF: %q", s)
	}
	var out [][]byte
	for _, ev := range strings.Split(strings.TrimSuffix(s, "\r\n\r\n"), "\r\n\r\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok || strings.ContainsAny(data, "\r\n") || !json.Valid([]byte(data)) {
			t.Fatalf("malformed event %q", ev)
		}
		out = append(out, []byte(data))
	}
	return out
}

// ndjsonLines checks NDJSON framing (one JSON object per LF-terminated
// line) and returns the lines.
func ndjsonLines(t testing.TB, body []byte) [][]byte {
	t.Helper()
	if len(body) == 0 || body[len(body)-1] != '\n' {
		t.Fatalf("NDJSON body does not end with LF: %q", body)
	}
	var out [][]byte
	for _, l := range bytes.Split(body[:len(body)-1], []byte("\n")) {
		if len(l) == 0 || l[0] != '{' || !json.Valid(l) || bytes.Contains(l, []byte("\r")) {
			t.Fatalf("malformed NDJSON line %q", l)
		}
		out = append(out, l)
	}
	return out
}

// fixtureLines splits a fixture stream file: NDJSON lines, or the data of
// SSE events whatever their separators.
func fixtureLines(t testing.TB, name string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, l := range bytes.Split(testdata(t, name), []byte("\n")) {
		l = bytes.TrimSpace(l)
		if d, ok := bytes.CutPrefix(l, []byte("data: ")); ok {
			out = append(out, d)
		} else if len(l) > 0 && l[0] == '{' {
			out = append(out, l)
		}
	}
	return out
}

// fixtureEvents parses an Anthropic fixture stream.
func fixtureEvents(t testing.TB, name string) []sseEvent {
	t.Helper()
	return anthropicEvents(t, testdata(t, name))
}

// decodeEventStream decodes a Bedrock event-stream body into its messages
// (the CRCs are checked by the decoder).
func decodeEventStream(t testing.TB, body []byte) []eventstream.Message {
	t.Helper()
	dec := eventstream.NewDecoder()
	r := bytes.NewReader(body)
	var out []eventstream.Message
	for r.Len() > 0 {
		m, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("decode message %d: %v", len(out), err)
		}
		out = append(out, m)
	}
	return out
}

func header(m eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

// readAll reads a response body, tolerating nothing but a clean EOF.
func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read body: %v", err)
	}
	return b
}

// sortedKeys returns the keys of a JSON object.
func sortedKeys(t testing.TB, data []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	return keys
}
