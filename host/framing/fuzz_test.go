package framing

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// refSSE is a deliberately plain SSE parser over the whole input, written
// straight from the standard (plus this package's limits and ErrTruncated).
// The fuzz tests check the streaming parser against it.
func refSSE(in []byte, max int) ([]ev, error) {
	max = limit(max)
	lineMax := max + lineSlack
	in = bytes.TrimPrefix(in, bom)
	known := func(line []byte) bool {
		name, _, _ := strings.Cut(string(line), ":")
		return name == "data" || name == "event" || name == "id" || name == "retry"
	}
	var (
		out     []ev
		data    []string
		size    int // len(strings.Join(data, "\n"))
		name    string
		id      string
		retry   time.Duration
		pending bool
	)
	for {
		i := bytes.IndexAny(in, "\r\n")
		if i < 0 {
			if len(in) > lineMax && known(in) {
				return out, ErrEventTooLarge
			}
			if len(in) > 0 || pending {
				return out, ErrTruncated
			}
			return out, io.EOF
		}
		line := in[:i]
		if in[i] == '\r' && i+1 < len(in) && in[i+1] == '\n' {
			i++
		}
		in = in[i+1:]
		switch {
		case len(line) == 0:
			if len(data) > 0 {
				out = append(out, ev{Name: name, Data: strings.Join(data, "\n"), ID: id, Retry: retry})
			}
			data, size, name, pending = nil, 0, "", false
			continue
		case line[0] == ':':
			continue
		}
		pending = true
		if len(line) > lineMax {
			if known(line) {
				return out, ErrEventTooLarge
			}
			continue
		}
		field, value, found := strings.Cut(string(line), ":")
		if found {
			value = strings.TrimPrefix(value, " ")
		}
		switch field {
		case "data":
			if len(data) > 0 {
				size++
			}
			size += len(value)
			if size > max {
				return out, ErrEventTooLarge
			}
			data = append(data, value)
		case "event":
			if len(value) > max {
				return out, ErrEventTooLarge
			}
			name = value
		case "id":
			if strings.Contains(value, "\x00") {
				continue
			}
			if len(value) > max {
				return out, ErrEventTooLarge
			}
			id = value
		case "retry":
			if value == "" || strings.Trim(value, "0123456789") != "" {
				continue
			}
			var n int64
			for _, c := range value {
				n = min(n*10+int64(c-'0'), maxRetryMillis)
			}
			retry = time.Duration(n) * time.Millisecond
		}
	}
}

// refNDJSON is the plain NDJSON counterpart of refSSE.
func refNDJSON(in []byte, max int) ([]ev, error) {
	max = limit(max)
	in = bytes.TrimPrefix(in, bom)
	var out []ev
	for len(in) > 0 {
		line, rest, _ := bytes.Cut(in, []byte("\n"))
		in = rest
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > max {
			return out, ErrEventTooLarge
		}
		if len(bytes.Trim(line, " \t\r")) > 0 {
			out = append(out, d(string(line)))
		}
	}
	return out, io.EOF
}

// addSeeds seeds f with the table cases and the fixture streams.
func addSeeds(f *testing.F, framing string) {
	switch framing {
	case "sse":
		for _, tc := range sseCases {
			f.Add([]byte(tc.in), uint64(len(tc.name)), uint8(tc.max))
		}
	case "ndjson":
		for _, tc := range ndjsonCases {
			f.Add([]byte(tc.in), uint64(len(tc.name)), uint8(tc.max))
		}
	}
	for _, fx := range fixtures {
		if fx.framing == framing {
			b, err := os.ReadFile(filepath.Join("testdata", fx.file))
			if err != nil {
				f.Fatal(err)
			}
			// A prefix keeps the fuzzer's minimization of new inputs quick;
			// TestFixturesAnyChunking covers the whole streams.
			b = b[:min(len(b), 1024)]
			f.Add(b, uint64(len(b)), uint8(0))
			f.Add(b, uint64(7), uint8(40))
		}
	}
}

// checkFraming reads in through several chunkings and checks that every
// one gives the reference's events and end, and that memory stays bounded.
func checkFraming(t *testing.T, framing string, in []byte, seed uint64, max int) {
	var want []ev
	var wantErr error
	if framing == "sse" {
		want, wantErr = refSSE(in, max)
	} else {
		want, wantErr = refNDJSON(in, max)
	}
	readers := []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(in)},
		{"chunked", newChunkReader(in, seed)},
		{"split", splitReader(in, int(seed%uint64(len(in)+1)))},
		{"bytewise", iotest.OneByteReader(bytes.NewReader(in))},
	}
	for _, rd := range readers {
		fr, _ := New(framing, rd.r, max)
		got, err := collect(t, fr)
		if !sameEvents(got, want) || class(err) != class(wantErr) {
			t.Fatalf("%s reading of %s (max %d, seed %d):\ngot  %v, %s\nwant %v, %s",
				rd.name, show(in), max, seed, got, class(err), want, class(wantErr))
		}
		// Bounded memory: the input buffer never exceeds one line's
		// allowance, the data buffer about twice the limit.
		lim := limit(max)
		switch p := fr.(type) {
		case *SSE:
			if c := cap(p.src.buf); c > lim+lineSlack+1 {
				t.Fatalf("%s: SSE input buffer %d bytes, limit %d", rd.name, c, lim)
			}
			if c := cap(p.data); c > 2*lim+64 {
				t.Fatalf("%s: SSE data buffer %d bytes, limit %d", rd.name, c, lim)
			}
		case *NDJSON:
			if c := cap(p.src.buf); c > lim+2 {
				t.Fatalf("%s: NDJSON buffer %d bytes, limit %d", rd.name, c, lim)
			}
		}
	}
}

// FuzzSSE: the events read from a stream delivered in one piece, in
// random chunks, split in two, and byte by byte are identical, and equal
// to the reference parser's. lim is the event limit (0: the default).
func FuzzSSE(f *testing.F) {
	addSeeds(f, "sse")
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, lim uint8) {
		checkFraming(t, "sse", in, seed, int(lim))
	})
}

// FuzzNDJSON is FuzzSSE for NDJSON.
func FuzzNDJSON(f *testing.F) {
	addSeeds(f, "ndjson")
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, lim uint8) {
		checkFraming(t, "ndjson", in, seed, int(lim))
	})
}

// FuzzAppendSSE: whatever the name and data, AppendSSE writes one event
// that SSE reads back with the same name and data (CR and CRLF in data
// read back as LF).
func FuzzAppendSSE(f *testing.F) {
	f.Add("message_start", []byte(`{"type":"message_start"}`))
	f.Add("", []byte(""))
	f.Add("", []byte("a\r\nb\rc\n\n"))
	f.Add("x", []byte(" leading space\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if strings.ContainsAny(name, "\r\n") {
			return // AppendSSE's precondition
		}
		out := AppendSSE(nil, name, data)
		got, err := collect(t, NewSSE(bytes.NewReader(out), max(len(data), len(name))+1))
		wantData := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
		if err != io.EOF || len(got) != 1 || got[0].Data != wantData || got[0].Name != name {
			t.Fatalf("AppendSSE(%q, %q) = %q, read back as %v, %v", name, data, out, got, err)
		}
	})
}
