package framing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// ev is a copied Event, comparable with == and readable in failures.
type ev struct {
	Name, Data, ID string
	Retry          time.Duration
}

func (e ev) String() string {
	s := fmt.Sprintf("{%q %q", e.Name, e.Data)
	if e.ID != "" || e.Retry != 0 {
		s += fmt.Sprintf(" id=%q retry=%v", e.ID, e.Retry)
	}
	return s + "}"
}

// d is an event with data only.
func d(data string) ev { return ev{Data: data} }

// nd is an event with a name and data.
func nd(name, data string) ev { return ev{Name: name, Data: data} }

// collect reads r to its end (at most limit events, to stop runaway
// readers), copying each event.
func collect(t testing.TB, r Reader) ([]ev, error) {
	t.Helper()
	var out []ev
	for range 1 << 20 {
		e, err := r.Next()
		if err != nil {
			if e2, err2 := r.Next(); err2 != err || e2.Data != nil {
				t.Fatalf("error not sticky: %v then %v", err, err2)
			}
			return out, err
		}
		out = append(out, ev{string(e.Name), string(e.Data), string(e.ID), e.Retry})
	}
	t.Fatal("too many events")
	return nil, nil
}

// class names an end-of-stream error for comparisons.
func class(err error) string {
	switch {
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, ErrTruncated):
		return "truncated"
	case errors.Is(err, ErrEventTooLarge):
		return "too large"
	case err == nil:
		return "nil"
	}
	return "other: " + err.Error()
}

func sameEvents(a, b []ev) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// readAll frames in with framing ("sse" or "ndjson") read through r.
func readAll(t testing.TB, framing string, r io.Reader, max int) ([]ev, error) {
	t.Helper()
	fr, err := New(framing, r, max)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, fr)
}

// splitReader returns in as two reads, in[:i] and in[i:].
func splitReader(in []byte, i int) io.Reader {
	return io.MultiReader(bytes.NewReader(in[:i]), bytes.NewReader(in[i:]))
}

// chunkReader returns its data in pseudo-random pieces chosen by a seed:
// mostly short ones, sometimes long ones, sometimes an empty read, and
// sometimes io.EOF together with the last bytes.
type chunkReader struct {
	data  []byte
	rng   *rand.Rand
	empty int // empty reads in a row
}

func newChunkReader(data []byte, seed uint64) *chunkReader {
	return &chunkReader{data: data, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	var n int
	switch k := c.rng.IntN(16); {
	case k == 0 && c.empty < 3:
		c.empty++
		return 0, nil
	case k < 10:
		n = 1 + c.rng.IntN(4)
	case k < 14:
		n = 1 + c.rng.IntN(64)
	default:
		n = 1 + c.rng.IntN(4096)
	}
	c.empty = 0
	n = copy(p, c.data[:min(n, len(c.data))])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.rng.IntN(2) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// endlessReader yields head, then body repeated n times, then tail, without
// holding it all in memory.
type endlessReader struct {
	head, body, tail []byte
	n                int
	cur              []byte
}

func newEndless(head, body string, n int, tail string) *endlessReader {
	return &endlessReader{head: []byte(head), body: []byte(body), n: n, tail: []byte(tail)}
}

func (e *endlessReader) Read(p []byte) (int, error) {
	for len(e.cur) == 0 {
		switch {
		case e.head != nil:
			e.cur, e.head = e.head, nil
		case e.n > 0:
			e.cur, e.n = e.body, e.n-1
		case e.tail != nil:
			e.cur, e.tail = e.tail, nil
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, e.cur)
	e.cur = e.cur[n:]
	return n, nil
}

// show abbreviates an input for failure messages.
func show(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q… (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// lines joins s with "\n", for readable table inputs.
func lines(s ...string) string { return strings.Join(s, "\n") }
