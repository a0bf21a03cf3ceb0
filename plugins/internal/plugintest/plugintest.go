// Package plugintest runs a plugin's golden tests twice: natively, through
// the SDK's dispatcher, and as the real .wasm module built from the same
// source and run by the hub's runtime. Both exchange the exact records the
// host sends, so a test written once checks the plugin as the hub really
// runs it. Provider plugins use [Target] and [Both], billing policies
// [Policy] and [BothPolicy].
//
// It also feeds upstream stream bodies through the host's own framers,
// split at adversarial boundaries (every byte, random cuts) and handed to
// the plugin in varying batches, and checks that every split gives the same
// canonical output.
package plugintest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/aignehub/hub/host/framing"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

// Target is a provider plugin under test, native or Wasm.
type Target interface {
	Manifest() abi.Manifest
	Request(in *abi.RequestIn) (abi.RequestOut, error)
	Response(in *abi.ResponseIn) (abi.ResponseOut, error)
	StreamEvent(in *abi.StreamIn) (abi.StreamOut, error)
	// Call runs any export on a raw input record and returns the success
	// record, or the plugin's *abi.Error.
	Call(export string, input []byte) ([]byte, error)
}

// Native wraps a plugin value so it runs through the SDK's dispatcher.
func Native(p provider.Plugin) Target { return native{p} }

type native struct{ p provider.Plugin }

func (n native) Manifest() abi.Manifest {
	var m abi.Manifest
	rec := result(provider.Invoke(n.p, abi.ExportDescribe, nil))
	var f [1][]byte
	abi.Fields(rec.rec, f[:])
	json.Unmarshal(f[0], &m)
	return m
}

func (n native) Request(in *abi.RequestIn) (abi.RequestOut, error) {
	var out abi.RequestOut
	r := result(provider.Invoke(n.p, abi.ExportRequest, in.Append(nil)))
	if r.err != nil {
		return out, r.err
	}
	return out, out.Parse(r.rec)
}

func (n native) Response(in *abi.ResponseIn) (abi.ResponseOut, error) {
	var out abi.ResponseOut
	r := result(provider.Invoke(n.p, abi.ExportResponse, in.Append(nil)))
	if r.err != nil {
		return out, r.err
	}
	return out, out.Parse(r.rec)
}

func (n native) StreamEvent(in *abi.StreamIn) (abi.StreamOut, error) {
	var out abi.StreamOut
	r := result(provider.Invoke(n.p, abi.ExportStreamEvent, in.Append(nil)))
	if r.err != nil {
		return out, r.err
	}
	return out, out.Parse(r.rec)
}

func (n native) Call(export string, input []byte) ([]byte, error) {
	r := result(provider.Invoke(n.p, export, input))
	return r.rec, r.err
}

type decoded struct {
	rec []byte
	err error
}

// result splits an export's result into its record or its *abi.Error.
func result(res []byte) decoded {
	status, rec, err := abi.SplitResult(res)
	if err != nil {
		return decoded{err: err}
	}
	if status == abi.StatusError {
		var f [1][]byte
		abi.Fields(rec, f[:])
		ae := new(abi.Error)
		if err := json.Unmarshal(f[0], ae); err != nil {
			return decoded{err: err}
		}
		return decoded{err: ae}
	}
	return decoded{rec: rec}
}

type wasm struct{ p *runtime.Plugin }

func (w wasm) Manifest() abi.Manifest { return w.p.Manifest() }
func (w wasm) Request(in *abi.RequestIn) (abi.RequestOut, error) {
	return w.p.Request(context.Background(), in)
}
func (w wasm) Response(in *abi.ResponseIn) (abi.ResponseOut, error) {
	return w.p.Response(context.Background(), in)
}
func (w wasm) StreamEvent(in *abi.StreamIn) (abi.StreamOut, error) {
	return w.p.StreamEvent(context.Background(), in)
}
func (w wasm) Call(export string, input []byte) ([]byte, error) {
	return w.p.Call(context.Background(), export, input)
}

var (
	buildMu sync.Mutex
	built   = map[string][]byte{}
)

// Build builds plugins/NAME for wasip1 (once per test binary) and returns
// the module.
func Build(tb testing.TB, name string) []byte {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := built[name]; ok {
		return b
	}
	root, err := moduleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "plugintest-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, name+".wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./plugins/"+name)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build plugins/%s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	built[name] = b
	return b
}

// moduleRoot finds the directory of the hub's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/aignehub/hub\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("plugintest: go.mod of github.com/aignehub/hub not found")
		}
		dir = parent
	}
}

// cache is a compilation cache shared by the test binary's loads (nil,
// compiling every time, if the directory cannot be made).
var cache = sync.OnceValue(func() wazero.CompilationCache {
	c, err := runtime.NewCache(filepath.Join(os.TempDir(), "aignehub-plugintest-cache"))
	if err != nil {
		return nil
	}
	return c
})

// Wasm loads plugins/NAME, built from source, with config as its config.
func Wasm(tb testing.TB, name string, config []byte) Target {
	tb.Helper()
	return wasm{load(tb, name, config)}
}

// load loads plugins/NAME, built from source, with config as its config,
// and closes it when the test ends.
func load(tb testing.TB, name string, config []byte) *runtime.Plugin {
	tb.Helper()
	p, err := runtime.Load(context.Background(), runtime.Options{Name: name, Wasm: Build(tb, name), Config: config, Trusted: true, Cache: cache()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Both runs fn as two subtests, "native" on p and "wasm" on the module
// built from plugins/NAME loaded with config (which should be what p was
// made from). Skip the wasm half with -short.
func Both(t *testing.T, p provider.Plugin, name string, config []byte, fn func(t *testing.T, tg Target)) {
	t.Run("native", func(t *testing.T) { fn(t, Native(p)) })
	t.Run("wasm", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the wasm half needs a build")
		}
		fn(t, Wasm(t, name, config))
	})
}

// StreamResult is the canonical output of a whole upstream stream.
type StreamResult struct {
	Chunks []string
	Usage  *abi.Usage
	Done   bool
	// Err is the error that ended the stream: one the plugin returned in
	// StreamOut.Error, or a framing error.
	Err *abi.Error
	// FramingErr is set when the host's framer failed (a truncated
	// stream); the plugin saw every whole event before it.
	FramingErr error
}

// String renders the result for comparisons and failure messages.
func (r StreamResult) String() string {
	var b strings.Builder
	for _, c := range r.Chunks {
		b.WriteString(c)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "usage=%+v done=%v", r.Usage, r.Done)
	if r.Err != nil {
		fmt.Fprintf(&b, " err=%+v", *r.Err)
	}
	if r.FramingErr != nil {
		fmt.Fprintf(&b, " framing=%v", r.FramingErr)
	}
	return b.String()
}

// Stream runs body, an upstream stream in the plugin's framing, through
// the host's framer and the plugin, starting from state (RequestOut.State):
// first whole, one event per call; then split after every byte; then at
// random cuts with events handed over in random batches. It fails the test
// unless every way gives the same result, and returns that result.
func Stream(t testing.TB, tg Target, state, body []byte) StreamResult {
	t.Helper()
	fr := tg.Manifest().StreamFraming
	want := runStream(t, tg, fr, state, body, readerOf(body, nil), func() int { return 1 })
	everyByte := make([]int, len(body))
	for i := range everyByte {
		everyByte[i] = 1
	}
	if got := runStream(t, tg, fr, state, body, readerOf(body, everyByte), func() int { return 2 }); got.String() != want.String() {
		t.Fatalf("stream split after every byte differs:\n%s\nwant:\n%s", got, want)
	}
	rng := rand.New(rand.NewPCG(uint64(len(body)), 7))
	for round := 0; round < 8; round++ {
		var cuts []int
		for left := len(body); left > 0; {
			n := 1 + rng.IntN(min(left, 97))
			cuts = append(cuts, n)
			left -= n
		}
		batch := func() int { return 1 + rng.IntN(5) }
		if got := runStream(t, tg, fr, state, body, readerOf(body, cuts), batch); got.String() != want.String() {
			t.Fatalf("stream split at %v differs:\n%s\nwant:\n%s", cuts, got, want)
		}
	}
	return want
}

// splitReader returns body in reads of the given sizes (the rest at once).
type splitReader struct {
	body  []byte
	sizes []int
}

func readerOf(body []byte, sizes []int) io.Reader { return &splitReader{body: body, sizes: sizes} }

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.body) == 0 {
		return 0, io.EOF
	}
	n := len(r.body)
	if len(r.sizes) > 0 {
		n = min(n, r.sizes[0])
		r.sizes = r.sizes[1:]
	}
	n = copy(p, r.body[:n])
	r.body = r.body[n:]
	return n, nil
}

// runStream frames and converts one stream, handing the plugin batches of
// batch() events, as the engine would.
func runStream(t testing.TB, tg Target, fr string, state, body []byte, r io.Reader, batch func() int) StreamResult {
	t.Helper()
	rd, err := framing.New(fr, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	var res StreamResult
	in := abi.StreamIn{State: state}
	var pending []abi.Event
	flush := func() bool {
		if len(pending) == 0 {
			return true
		}
		in.Events = pending
		out, err := tg.StreamEvent(&in)
		pending = nil
		if err != nil {
			t.Fatalf("stream event: %v", err)
		}
		in.State = append([]byte(nil), out.State...)
		for _, c := range out.Chunks {
			res.Chunks = append(res.Chunks, string(c))
		}
		if out.Usage != nil {
			u := *out.Usage
			res.Usage = &u
		}
		if out.Error != nil {
			res.Err = out.Error
			return false
		}
		if out.Flags&abi.StreamDone != 0 {
			res.Done = true
			return false
		}
		return true
	}
	want := batch()
	for {
		ev, err := rd.Next()
		if err != nil {
			if flush() && !errors.Is(err, io.EOF) {
				res.FramingErr = err
			}
			return res
		}
		pending = append(pending, abi.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data)})
		if len(pending) >= want {
			if !flush() {
				return res
			}
			want = batch()
		}
	}
}

// Fixture reads a file of the plugin's testdata folder.
func Fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// ErrorOf returns err as an *abi.Error, failing the test if it is not one.
func ErrorOf(tb testing.TB, err error) *abi.Error {
	tb.Helper()
	var ae *abi.Error
	if !errors.As(err, &ae) {
		tb.Fatalf("error %v (%T) is not an *abi.Error", err, err)
	}
	return ae
}

// JSONEqual fails the test unless a and b are the same JSON value
// (whitespace and member order ignored).
func JSONEqual(tb testing.TB, what string, got, want []byte) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("%s: invalid JSON %s: %v", what, got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		tb.Fatalf("%s: invalid wanted JSON %s: %v", what, want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		tb.Fatalf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}
