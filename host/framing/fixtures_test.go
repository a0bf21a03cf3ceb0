package framing

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// fixtures are real provider streams, copied from the shared wire-format
// corpus (fixtures/README.md there).
var fixtures = []struct {
	file    string
	framing string
	events  int
	names   []string // for streams with event names
}{
	{file: "openai/chat-completions.stream-text.response.sse", framing: "sse", events: 9},
	{file: "openai/chat-completions.stream-tools.response.sse", framing: "sse", events: 16},
	{file: "anthropic/messages-stream-text.response.sse", framing: "sse", events: 9, names: []string{
		"message_start", "content_block_start", "ping",
		"content_block_delta", "content_block_delta", "content_block_delta",
		"content_block_stop", "message_delta", "message_stop"}},
	{file: "anthropic/messages-stream-error.response.sse", framing: "sse", events: 5, names: []string{
		"message_start", "content_block_start", "ping", "content_block_delta", "error"}},
	{file: "gemini/streamGenerateContent-text.response.sse", framing: "sse", events: 3},
	{file: "ollama/chat-stream.response.ndjson", framing: "ndjson", events: 5},
}

func readFixture(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			in := readFixture(t, fx.file)
			got, err := readAll(t, fx.framing, bytes.NewReader(in), 0)
			if class(err) != "EOF" {
				t.Fatalf("ended with %v", err)
			}
			if len(got) != fx.events {
				t.Fatalf("%d events, want %d: %v", len(got), fx.events, got)
			}
			for i, e := range got {
				if e.Data == "[DONE]" && i == len(got)-1 && strings.HasPrefix(fx.file, "openai/") {
					continue
				}
				if !json.Valid([]byte(e.Data)) {
					t.Errorf("event %d: data is not JSON: %q", i, e.Data)
				}
				if strings.ContainsAny(e.Data, "\r\n") {
					t.Errorf("event %d: data holds a line end: %q", i, e.Data)
				}
				want := ""
				if fx.names != nil {
					want = fx.names[i]
				}
				if e.Name != want {
					t.Errorf("event %d: name %q, want %q", i, e.Name, want)
				}
				// Anthropic repeats the event name as the data's "type".
				if fx.names != nil {
					var v struct{ Type string }
					json.Unmarshal([]byte(e.Data), &v)
					if v.Type != e.Name {
						t.Errorf("event %d: name %q but type %q", i, e.Name, v.Type)
					}
				}
			}
		})
	}
}

// TestFixturesAnyChunking is the key property: each fixture delivered
// split in two at every byte boundary, one byte at a time, and in many
// random chunkings yields exactly the events of reading it whole. Every
// prefix of it (a stream cut anywhere) yields a prefix of those events and
// ends with io.EOF only where an event just ended.
func TestFixturesAnyChunking(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.file, func(t *testing.T) {
			in := readFixture(t, fx.file)
			want, wantErr := readAll(t, fx.framing, bytes.NewReader(in), 0)
			check := func(how string, got []ev, err error) {
				t.Helper()
				if !sameEvents(got, want) || class(err) != class(wantErr) {
					t.Fatalf("%s: got %d events (%s), want %d (%s)", how, len(got), class(err), len(want), class(wantErr))
				}
			}
			for i := 0; i <= len(in); i++ {
				got, err := readAll(t, fx.framing, splitReader(in, i), 0)
				check("split at "+strconv.Itoa(i), got, err)
			}
			got, err := readAll(t, fx.framing, iotest.OneByteReader(bytes.NewReader(in)), 0)
			check("byte by byte", got, err)
			for seed := range uint64(500) {
				got, err := readAll(t, fx.framing, newChunkReader(in, seed), 0)
				check("chunk seed "+strconv.Itoa(int(seed)), got, err)
			}
			// A small limit that every event fits in changes nothing.
			largest := 0
			for _, e := range want {
				largest = max(largest, len(e.Data))
			}
			for seed := range uint64(50) {
				got, err := readAll(t, fx.framing, newChunkReader(in, seed), largest)
				check("at the limit, seed "+strconv.Itoa(int(seed)), got, err)
			}

			// Cut streams.
			for i := 0; i < len(in); i++ {
				got, err := readAll(t, fx.framing, bytes.NewReader(in[:i]), 0)
				if fx.framing == "ndjson" && len(got) > 0 {
					// The cut last line is returned as it is.
					n := len(got) - 1
					if !strings.HasPrefix(want[n].Data, got[n].Data) {
						t.Fatalf("cut at %d: last line %q is not a prefix of %q", i, got[n].Data, want[n].Data)
					}
					got = got[:n]
				}
				if len(got) > len(want) || !sameEvents(got, want[:len(got)]) {
					t.Fatalf("cut at %d: events %v are not a prefix", i, got)
				}
				if fx.framing == "ndjson" {
					if class(err) != "EOF" {
						t.Fatalf("cut at %d: ended with %v", i, err)
					}
					continue
				}
				// Clean only right after an event's blank line (a lone CR
				// is a whole blank line).
				cut := in[:i]
				clean := i == 0 || bytes.HasSuffix(cut, []byte("\n\n")) || bytes.HasSuffix(cut, []byte("\r\n\r")) || bytes.HasSuffix(cut, []byte("\r\n\r\n"))
				if clean != (class(err) == "EOF") || !clean && class(err) != "truncated" {
					t.Fatalf("cut at %d (%q): ended with %s", i, in[max(0, i-10):i], class(err))
				}
			}
		})
	}
}

// TestFixturesTooLarge: a limit one byte under the largest event fails
// with ErrEventTooLarge at that event, whatever the chunking.
func TestFixturesTooLarge(t *testing.T) {
	for _, fx := range fixtures {
		in := readFixture(t, fx.file)
		all, _ := readAll(t, fx.framing, bytes.NewReader(in), 0)
		largest, at := 0, 0
		for i, e := range all {
			if len(e.Data) > largest {
				largest, at = len(e.Data), i
			}
		}
		for seed := range uint64(50) {
			got, err := readAll(t, fx.framing, newChunkReader(in, seed), largest-1)
			if class(err) != "too large" || len(got) != at {
				t.Fatalf("%s seed %d: %d events, %v", fx.file, seed, len(got), err)
			}
		}
	}
}
