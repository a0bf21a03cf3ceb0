package framing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

type sseCase struct {
	name string
	in   string
	max  int
	want []ev
	err  string // class of the final error; "" means "EOF"
}

var sseCases = []sseCase{
	{name: "empty", in: ""},
	{name: "LF", in: "data: a\n\ndata: b\n\n", want: []ev{d("a"), d("b")}},
	{name: "CRLF", in: "data: a\r\n\r\ndata: b\r\n\r\n", want: []ev{d("a"), d("b")}},
	{name: "CR", in: "data: a\r\rdata: b\r\r", want: []ev{d("a"), d("b")}},
	{name: "mixed", in: "event: x\rdata: a\r\n\ndata: b\n\r\ndata: c\r\r", want: []ev{nd("x", "a"), d("b"), d("c")}},
	{name: "CR CR is two line ends", in: "data: a\r\r\n\ndata: b\n\n", want: []ev{d("a"), d("b")}},
	{name: "LF CR", in: "data: a\n\rdata: b\n\n", want: []ev{d("a"), d("b")}},
	{name: "comment", in: ": ping\n\n:\ndata: a\n: between\ndata: b\n\n", want: []ev{d("a\nb")}},
	{name: "comment only", in: ": keep-alive\n\n: keep-alive\n\n"},
	{name: "multi-line data", in: "data: {\ndata:   \"a\": 1\ndata: }\n\n", want: []ev{d("{\n  \"a\": 1\n}")}},
	{name: "event names", in: "event: one\ndata: 1\n\ndata: 2\n\nevent: three\ndata: 3\n\n", want: []ev{nd("one", "1"), d("2"), nd("three", "3")}},
	{name: "last event field wins", in: "event: a\nevent: b\ndata: x\n\n", want: []ev{nd("b", "x")}},
	{name: "event name cleared by dataless event", in: "event: a\n\ndata: x\n\n", want: []ev{d("x")}},
	{name: "no space", in: "data:x\n\n", want: []ev{d("x")}},
	{name: "one space", in: "data: x\n\n", want: []ev{d("x")}},
	{name: "two spaces", in: "data:  x\n\n", want: []ev{d(" x")}},
	{name: "tab kept", in: "data:\tx\n\n", want: []ev{d("\tx")}},
	{name: "trailing spaces kept", in: "data: x  \n\n", want: []ev{d("x  ")}},
	{name: "colon in value", in: "data: a: b\n\n", want: []ev{d("a: b")}},
	{name: "field without colon", in: "data\n\n", want: []ev{d("")}},
	{name: "field without colon appends empty line", in: "data: a\ndata\ndata: b\n\n", want: []ev{d("a\n\nb")}},
	{name: "event without colon is empty name", in: "event: x\nevent\ndata: a\n\n", want: []ev{d("a")}},
	{name: "empty data line", in: "data:\n\n", want: []ev{d("")}},
	{name: "empty data line with space", in: "data: \n\n", want: []ev{d("")}},
	{name: "two empty data lines", in: "data:\ndata:\n\n", want: []ev{d("\n")}},
	{name: "trailing newline in data", in: "data: a\ndata:\n\n", want: []ev{d("a\n")}},
	{name: "no data no event", in: "event: x\n\nid: 1\n\nretry: 5\n\n"},
	{name: "unknown fields ignored", in: "foo: bar\nData: x\nDATA: y\n data: z\ndata : w\ndata: a\n\n", want: []ev{d("a")}},
	{name: "extra blank lines", in: "\n\n\r\n\rdata: a\n\n\n\n", want: []ev{d("a")}},
	{name: "BOM", in: "\xEF\xBB\xBFdata: a\n\n", want: []ev{d("a")}},
	{name: "BOM only once", in: "\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n", want: []ev{d("b")}},
	{name: "BOM only", in: "\xEF\xBB\xBF"},
	{name: "partial BOM", in: "\xEF\xBB", err: "truncated"},
	{name: "BOM not at start", in: "data: a\n\n\xEF\xBB\xBFdata: b\n\n", want: []ev{d("a")}},
	{name: "UTF-8 data", in: "data: à tous 27°C\n\n", want: []ev{d("à tous 27°C")}},
	{name: "NUL in data", in: "data: a\x00b\n\n", want: []ev{d("a\x00b")}},
	{name: "DONE", in: "data: [DONE]\n\n", want: []ev{d("[DONE]")}},
	{name: "id", in: "id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n", want: []ev{{Data: "a", ID: "7"}, {Data: "b", ID: "7"}, d("c")}},
	{name: "id with NUL ignored", in: "id: 1\nid: 2\x003\ndata: a\n\n", want: []ev{{Data: "a", ID: "1"}}},
	{name: "id set by dataless event", in: "id: 9\n\ndata: a\n\n", want: []ev{{Data: "a", ID: "9"}}},
	{name: "retry", in: "retry: 1500\ndata: a\n\nretry: x\ndata: b\n\nretry:\ndata: c\n\n", want: []ev{
		{Data: "a", Retry: 1500 * time.Millisecond}, {Data: "b", Retry: 1500 * time.Millisecond}, {Data: "c", Retry: 1500 * time.Millisecond}}},
	{name: "retry huge saturates", in: "retry: 99999999999999999999999999\ndata: a\n\n", want: []ev{{Data: "a", Retry: maxRetryMillis * time.Millisecond}}},
	{name: "retry negative ignored", in: "retry: -1\ndata: a\n\n", want: []ev{d("a")}},

	// Ends of stream.
	{name: "no trailing blank line", in: "data: a\n\ndata: b\n", want: []ev{d("a")}, err: "truncated"},
	{name: "no trailing blank line CRLF", in: "data: a\r\n\r\ndata: b\r\n", want: []ev{d("a")}, err: "truncated"},
	{name: "cut inside data line", in: "data: a\n\ndata: b", want: []ev{d("a")}, err: "truncated"},
	{name: "cut inside field name", in: "data: a\n\nda", want: []ev{d("a")}, err: "truncated"},
	{name: "cut inside comment", in: "data: a\n\n: ping", want: []ev{d("a")}, err: "truncated"},
	{name: "cut after event name", in: "data: a\n\nevent: x\n", want: []ev{d("a")}, err: "truncated"},
	{name: "cut after id", in: "data: a\n\nid: 1\n", want: []ev{d("a")}, err: "truncated"},
	{name: "cut after unknown field", in: "data: a\n\nfoo\n", want: []ev{d("a")}, err: "truncated"},
	{name: "cut after data and comment", in: "data: a\n: c\n", err: "truncated"},
	{name: "cut after long unknown field", max: 4, in: "x-pad: " + strings.Repeat("x", 100) + "\n", err: "truncated"},
	{name: "ends after dataless event", in: "data: a\n\nevent: x\n\n", want: []ev{d("a")}},
	{name: "cut after comment line", in: "data: a\n\n: bye\n", want: []ev{d("a")}},
	{name: "ends with CR", in: "data: a\r\r", want: []ev{d("a")}},
	{name: "ends with single CR", in: "data: a\r", err: "truncated"},

	// Limits.
	{name: "data at limit", max: 4, in: "data: abcd\n\n", want: []ev{d("abcd")}},
	{name: "data over limit", max: 4, in: "data: ok\n\ndata: abcde\n\n", want: []ev{d("ok")}, err: "too large"},
	{name: "joined data at limit", max: 5, in: "data: ab\ndata: cd\n\n", want: []ev{d("ab\ncd")}},
	{name: "joined data over limit", max: 5, in: "data: ab\ndata: cde\n\n", err: "too large"},
	{name: "many empty lines over limit", max: 3, in: "data\ndata\ndata\ndata\ndata\n\n", err: "too large"},
	{name: "limit resets per event", max: 3, in: "data: abc\n\ndata: def\n\n", want: []ev{d("abc"), d("def")}},
	{name: "name over limit", max: 3, in: "event: abcd\ndata: a\n\n", err: "too large"},
	{name: "id over limit", max: 3, in: "id: abcd\ndata: a\n\n", err: "too large"},
	{name: "long comment skipped", max: 4, in: ": " + strings.Repeat("x", 100) + "\ndata: a\n\n", want: []ev{d("a")}},
	{name: "long comment CRLF skipped", max: 4, in: ": " + strings.Repeat("x", 100) + "\r\ndata: a\r\n\r\n", want: []ev{d("a")}},
	{name: "long unknown field skipped", max: 4, in: "x-pad: " + strings.Repeat("x", 100) + "\ndata: a\n\n", want: []ev{d("a")}},
	{name: "long field name skipped", max: 4, in: strings.Repeat("x", 100) + ":data\ndata: a\n\n", want: []ev{d("a")}},
	{name: "long data line", max: 4, in: "data: " + strings.Repeat("x", 100) + "\n\n", err: "too large"},
	{name: "long retry line", max: 4, in: "retry: " + strings.Repeat("1", 100) + "\ndata: a\n\n", err: "too large"},
	{name: "long comment cut", max: 4, in: "data: a\n\n: " + strings.Repeat("x", 100), want: []ev{d("a")}, err: "truncated"},
}

func TestSSE(t *testing.T) {
	for _, tc := range sseCases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr := tc.err
			if wantErr == "" {
				wantErr = "EOF"
			}
			readers := map[string]func([]byte) io.Reader{
				"whole":    func(b []byte) io.Reader { return bytes.NewReader(b) },
				"bytewise": func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) },
				"data+EOF": func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) },
				"half":     func(b []byte) io.Reader { return iotest.HalfReader(bytes.NewReader(b)) },
			}
			for rname, mk := range readers {
				got, err := collect(t, NewSSE(mk([]byte(tc.in)), tc.max))
				if !sameEvents(got, tc.want) || class(err) != wantErr {
					t.Errorf("%s: got %v, %s; want %v, %s", rname, got, class(err), tc.want, wantErr)
				}
			}
			// Same through the reference parser, which the fuzz tests
			// trust.
			got, err := refSSE([]byte(tc.in), tc.max)
			if !sameEvents(got, tc.want) || class(err) != wantErr {
				t.Errorf("reference: got %v, %s; want %v, %s", got, class(err), tc.want, wantErr)
			}
		})
	}
}

// TestSSESplitEverywhere feeds every table case split in two at every
// position.
func TestSSESplitEverywhere(t *testing.T) {
	for _, tc := range sseCases {
		in := []byte(tc.in)
		want, wantErr := collect(t, NewSSE(bytes.NewReader(in), tc.max))
		for i := 0; i <= len(in); i++ {
			got, err := collect(t, NewSSE(splitReader(in, i), tc.max))
			if !sameEvents(got, want) || class(err) != class(wantErr) {
				t.Fatalf("%s split at %d: got %v, %s; want %v, %s", tc.name, i, got, class(err), want, class(wantErr))
			}
		}
	}
}

// TestSSECRLFSplit is the case the brief warns about: a CR ending one read
// and the LF starting the next are one line end, not a line end and a blank
// line; and the event is returned as soon as its blank line has arrived,
// without waiting for the next read to see whether an LF follows the CR.
func TestSSECRLFSplit(t *testing.T) {
	pr, pw := io.Pipe()
	release := make(chan struct{})
	go func() {
		pw.Write([]byte("data: a\r"))
		pw.Write([]byte("\ndata: b\r\n\r"))
		<-release
		pw.Write([]byte("\n"))
		pw.Write([]byte("data: c\r\n\r\n"))
		pw.Close()
	}()
	p := NewSSE(pr, 0)
	e := nextWithin(t, p, 5*time.Second)
	if string(e.Data) != "a\nb" {
		t.Fatalf("first event %q", e.Data)
	}
	close(release)
	got, err := collect(t, p)
	if want := []ev{d("c")}; !sameEvents(got, want) || err != io.EOF {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

// nextWithin calls r.Next, failing if it blocks longer than timeout.
func nextWithin(t *testing.T, r Reader, timeout time.Duration) Event {
	t.Helper()
	type result struct {
		e   Event
		err error
	}
	c := make(chan result, 1)
	go func() {
		e, err := r.Next()
		c <- result{e, err}
	}()
	select {
	case res := <-c:
		if res.err != nil {
			t.Fatal(res.err)
		}
		return res.e
	case <-time.After(timeout):
		t.Fatal("Next waited for more input than the event needs")
	}
	return Event{}
}

// TestSSEDispatchWithoutLookahead checks an event is returned as soon as its
// blank line has arrived, with the upstream still open.
func TestSSEDispatchWithoutLookahead(t *testing.T) {
	for _, end := range []string{"\n\n", "\r\n\r\n", "\r\r", "\n\r"} {
		pr, pw := io.Pipe()
		go pw.Write([]byte("data: a" + end))
		if e := nextWithin(t, NewSSE(pr, 0), 5*time.Second); string(e.Data) != "a" {
			t.Fatalf("%q: got %q", end, e.Data)
		}
		pw.Close()
	}
	// NDJSON likewise returns a line as soon as its "\n" is in.
	pr, pw := io.Pipe()
	go pw.Write([]byte("{}\n"))
	if e := nextWithin(t, NewNDJSON(pr, 0), 5*time.Second); string(e.Data) != "{}" {
		t.Fatalf("got %q", e.Data)
	}
	pw.Close()
}

func TestSSEReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	got, err := collect(t, NewSSE(r, 0))
	if !sameEvents(got, []ev{d("a")}) || !errors.Is(err, boom) || errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, %v", got, err)
	}
	if !strings.HasPrefix(err.Error(), "framing: read: ") {
		t.Errorf("error %q lacks the operation prefix", err)
	}
	// The events before a read error are returned first.
	r = iotest.TimeoutReader(strings.NewReader("data: a\n\n"))
	got, err = collect(t, NewSSE(r, 0))
	if !sameEvents(got, []ev{d("a")}) || !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("got %v, %v", got, err)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestNoProgress(t *testing.T) {
	for _, framing := range []string{"sse", "ndjson"} {
		_, err := readAll(t, framing, emptyReader{}, 0)
		if !errors.Is(err, io.ErrNoProgress) {
			t.Errorf("%s: got %v, want io.ErrNoProgress", framing, err)
		}
	}
}

func TestErrTruncatedWrapsUnexpectedEOF(t *testing.T) {
	_, err := collect(t, NewSSE(strings.NewReader("data: a\n"), 0))
	if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
}

func TestErrEventTooLarge(t *testing.T) {
	_, err := collect(t, NewSSE(strings.NewReader("data: abcdef\n\n"), 3))
	if !errors.Is(err, ErrEventTooLarge) || err.Error() != "framing: event too large (limit 3 bytes)" {
		t.Fatalf("got %v", err)
	}
}

// TestSSEBoundedMemory streams lines far longer than the limit and checks
// the buffers never grow past it.
func TestSSEBoundedMemory(t *testing.T) {
	const max = 1 << 10
	const n = 8 << 10 // 8 MiB of padding, 8192 times the limit
	pad := strings.Repeat("x", 1<<10)
	cases := []struct {
		name string
		r    io.Reader
		want []ev
		err  string
	}{
		{"endless data line", newEndless("data: ", pad, n, "\n\n"), nil, "too large"},
		{"endless comment", newEndless(": ", pad, n, "\r\ndata: ok\r\n\r\n"), []ev{d("ok")}, "EOF"},
		{"endless unknown field", newEndless("pad: ", pad, n, "\rdata: ok\r\r"), []ev{d("ok")}, "EOF"},
		{"endless name", newEndless("", pad, n, "\ndata: ok\n\n"), []ev{d("ok")}, "EOF"},
		{"many data lines", newEndless("", "data: "+pad[:100]+"\n", n, "\n"), nil, "too large"},
		{"many comments", newEndless("", ":"+pad[:100]+"\n", n, "data: ok\n\n"), []ev{d("ok")}, "EOF"},
		{"endless comment cut", newEndless(": ", pad, n, ""), nil, "truncated"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewSSE(tc.r, max)
			got, err := collect(t, p)
			if !sameEvents(got, tc.want) || class(err) != tc.err {
				t.Fatalf("got %v, %s; want %v, %s", got, class(err), tc.want, tc.err)
			}
			if c := cap(p.src.buf); c > max+lineSlack+1 {
				t.Errorf("input buffer grew to %d bytes", c)
			}
			if c := cap(p.data); c > 2*max+64 {
				t.Errorf("data buffer grew to %d bytes", c)
			}
		})
	}
}

// TestSSECROnlyLinear guards against rescanning the buffer for an LF on
// every line of a CR-only stream: 4 MiB of blank CR lines must be quick.
func TestSSECROnlyLinear(t *testing.T) {
	in := append(bytes.Repeat([]byte{'\r'}, 4<<20), "data: a\n\n"...)
	start := time.Now()
	got, err := collect(t, NewSSE(bytes.NewReader(in), 8<<20))
	if !sameEvents(got, []ev{d("a")}) || err != io.EOF {
		t.Fatalf("got %v, %v", got, err)
	}
	// A quadratic scan takes minutes; a linear one milliseconds.
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %v", el)
	}
}

func TestSSEReset(t *testing.T) {
	p := NewSSE(strings.NewReader("id: 1\nretry: 9\nevent: x\ndata: a\n"), 0)
	if _, err := collect(t, p); !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v", err)
	}
	p.Reset(strings.NewReader("\xEF\xBB\xBFdata: b\n\n"), 0)
	got, err := collect(t, p)
	if !sameEvents(got, []ev{d("b")}) || err != io.EOF {
		t.Fatalf("after Reset: got %v, %v", got, err)
	}
	// A smaller limit after a large buffer drops the buffer.
	p.Reset(strings.NewReader("data: "+strings.Repeat("x", 10000)+"\n\n"), 0)
	collect(t, p)
	p.Reset(strings.NewReader("data: abc\n\n"), 2)
	if _, err := collect(t, p); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("got %v", err)
	}
	if c := cap(p.src.buf); c > 2+lineSlack+1 {
		t.Errorf("buffer of %d bytes kept past the new limit", c)
	}
}

// TestEventAliasing documents that an Event is valid until the next Next.
func TestEventAliasing(t *testing.T) {
	p := NewSSE(strings.NewReader("data: aaaa\n\ndata: bbbb\n\n"), 0)
	e1, _ := p.Next()
	first := string(e1.Data)
	p.Next()
	if first != "aaaa" {
		t.Fatal(first)
	}
	if string(e1.Data) == first {
		t.Log("(the old event happens to survive; the contract does not promise it)")
	}
}
