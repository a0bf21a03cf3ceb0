package framing

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type ndjsonCase struct {
	name string
	in   string
	max  int
	want []ev
	err  string // "" means "EOF"
}

var ndjsonCases = []ndjsonCase{
	{name: "empty", in: ""},
	{name: "LF", in: "{\"a\":1}\n{\"b\":2}\n", want: []ev{d(`{"a":1}`), d(`{"b":2}`)}},
	{name: "CRLF", in: "{\"a\":1}\r\n{\"b\":2}\r\n", want: []ev{d(`{"a":1}`), d(`{"b":2}`)}},
	{name: "no final newline", in: "{\"a\":1}\n{\"b\":2}", want: []ev{d(`{"a":1}`), d(`{"b":2}`)}},
	{name: "no final newline CR", in: "{\"a\":1}\r", want: []ev{d(`{"a":1}`)}},
	{name: "blank lines", in: "\n\r\n  \n\t\r\n{}\n \t \n\n", want: []ev{d("{}")}},
	{name: "blank last line", in: "{}\n   ", want: []ev{d("{}")}},
	{name: "CR alone does not split", in: "1\r2\n", want: []ev{d("1\r2")}},
	{name: "only one CR stripped", in: "1\r\r\n", want: []ev{d("1\r")}},
	{name: "spaces kept", in: " {} \n", want: []ev{d(" {} ")}},
	{name: "BOM", in: "\xEF\xBB\xBF{}\n", want: []ev{d("{}")}},
	{name: "not JSON passes", in: "hello\n", want: []ev{d("hello")}},
	{name: "at limit", max: 4, in: "abcd\r\nefgh", want: []ev{d("abcd"), d("efgh")}},
	{name: "over limit", max: 4, in: "abcd\nabcde\n", want: []ev{d("abcd")}, err: "too large"},
	{name: "over limit CRLF", max: 4, in: "abcde\r\n", err: "too large"},
	{name: "over limit last line", max: 4, in: "abcde", err: "too large"},
	{name: "over limit blank line", max: 4, in: "       \n{}\n", err: "too large"},
	{name: "long stream of short lines", max: 2, in: strings.Repeat("{}\n", 1000), want: func() []ev {
		var w []ev
		for range 1000 {
			w = append(w, d("{}"))
		}
		return w
	}()},
}

func TestNDJSON(t *testing.T) {
	for _, tc := range ndjsonCases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr := tc.err
			if wantErr == "" {
				wantErr = "EOF"
			}
			for rname, r := range map[string]io.Reader{
				"whole":    strings.NewReader(tc.in),
				"bytewise": iotest.OneByteReader(strings.NewReader(tc.in)),
				"data+EOF": iotest.DataErrReader(strings.NewReader(tc.in)),
			} {
				got, err := collect(t, NewNDJSON(r, tc.max))
				if !sameEvents(got, tc.want) || class(err) != wantErr {
					t.Errorf("%s: got %v, %s; want %v, %s", rname, got, class(err), tc.want, wantErr)
				}
			}
			got, err := refNDJSON([]byte(tc.in), tc.max)
			if !sameEvents(got, tc.want) || class(err) != wantErr {
				t.Errorf("reference: got %v, %s; want %v, %s", got, class(err), tc.want, wantErr)
			}
		})
	}
}

func TestNDJSONSplitEverywhere(t *testing.T) {
	for _, tc := range ndjsonCases {
		in := []byte(tc.in)
		want, wantErr := collect(t, NewNDJSON(bytes.NewReader(in), tc.max))
		for i := 0; i <= len(in); i++ {
			got, err := collect(t, NewNDJSON(splitReader(in, i), tc.max))
			if !sameEvents(got, want) || class(err) != class(wantErr) {
				t.Fatalf("%s split at %d: got %v, %s; want %v, %s", tc.name, i, got, class(err), want, class(wantErr))
			}
		}
	}
}

func TestNDJSONReadError(t *testing.T) {
	boom := errors.New("boom")
	// A partial last line is not returned when the read failed: the
	// stream was cut, not finished.
	r := io.MultiReader(strings.NewReader("{}\n{\"a\""), iotest.ErrReader(boom))
	got, err := collect(t, NewNDJSON(r, 0))
	if !sameEvents(got, []ev{d("{}")}) || !errors.Is(err, boom) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestNDJSONBoundedMemory(t *testing.T) {
	const max = 1 << 10
	p := NewNDJSON(newEndless("", strings.Repeat("x", 1<<10), 8<<10, "\n"), max)
	if _, err := collect(t, p); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("got %v", err)
	}
	if c := cap(p.src.buf); c > max+2 {
		t.Errorf("buffer grew to %d bytes", c)
	}
}

func TestNDJSONReset(t *testing.T) {
	p := NewNDJSON(strings.NewReader("{}\n"), 0)
	collect(t, p)
	p.Reset(strings.NewReader("[1]\n"), 0)
	got, err := collect(t, p)
	if !sameEvents(got, []ev{d("[1]")}) || err != io.EOF {
		t.Fatalf("got %v, %v", got, err)
	}
}
