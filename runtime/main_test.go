package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
)

// testCache is the in-memory compilation cache shared by the tests, so each
// guest module is compiled once per test binary run.
var testCache wazero.CompilationCache

// buildDir holds the guest modules built by this test binary run.
var buildDir string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hub-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	buildDir = dir
	testCache = wazero.NewCompilationCache()
	defer testCache.Close(context.Background())
	return m.Run()
}

type guestBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

var guestBuilds sync.Map // name -> *guestBuild

// guestWasm builds runtime/testdata/NAME for GOOS=wasip1 as a reactor, once
// per test binary run, and returns the module's bytes.
func guestWasm(tb testing.TB, name string) []byte {
	tb.Helper()
	v, _ := guestBuilds.LoadOrStore(name, new(guestBuild))
	b := v.(*guestBuild)
	b.once.Do(func() {
		out := filepath.Join(buildDir, name+".wasm")
		// Build from the module root so that go.mod (and its replace of the
		// sdk module) applies.
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "./runtime/testdata/"+name)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", name, err, msg)
			return
		}
		b.wasm, b.err = os.ReadFile(out)
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.wasm
}

var quiet = slog.New(slog.DiscardHandler)

// loadBehaviour loads the behaviour test plugin with opts (Name, Wasm, Cache
// and Logger filled in when empty) and closes it when the test ends. The
// Deadline defaults to 30s, not 2s, so that calls do not time out on a
// loaded machine under the race detector unless a test means them to.
func loadBehaviour(tb testing.TB, opts Options) *Plugin {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "behaviour"
	}
	if opts.Wasm == nil {
		opts.Wasm = guestWasm(tb, "behaviour")
	}
	if opts.Cache == nil {
		opts.Cache = testCache
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Deadline == 0 {
		opts.Deadline = 30 * time.Second
	}
	p, err := Load(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return p
}

// logEntry is one record captured by logRecorder.
type logEntry struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

// logRecorder is a slog.Handler that keeps every record. hook, when set,
// runs in Handle before the record is stored (tests use it to block a
// guest inside hub_v1.log).
type logRecorder struct {
	st    *logStore
	attrs []slog.Attr
}

type logStore struct {
	mu      sync.Mutex
	entries []logEntry
	hook    func(logEntry)
}

func newLogRecorder(hook func(logEntry)) (*slog.Logger, *logStore) {
	st := &logStore{hook: hook}
	return slog.New(&logRecorder{st: st}), st
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	e := logEntry{Level: r.Level, Msg: r.Message, Attrs: map[string]any{}}
	for _, a := range h.attrs {
		e.Attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		e.Attrs[a.Key] = a.Value.Any()
		return true
	})
	if h.st.hook != nil {
		h.st.hook(e)
	}
	h.st.mu.Lock()
	h.st.entries = append(h.st.entries, e)
	h.st.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{st: h.st, attrs: append(slices.Clip(h.attrs), as...)}
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// find returns the entries whose message is msg.
func (s *logStore) find(msg string) []logEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logEntry
	for _, e := range s.entries {
		if e.Msg == msg {
			out = append(out, e)
		}
	}
	return out
}
