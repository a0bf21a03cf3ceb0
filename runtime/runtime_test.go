package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/sdk/abi"
)

// echo calls the behaviour plugin's "echo" and checks the result.
func echo(ctx context.Context, p *Plugin, body []byte) error {
	out, err := p.Request(ctx, &abi.RequestIn{API: abi.APIChatCompletions, Model: "echo", Body: body})
	if err != nil {
		return err
	}
	if !bytes.Equal(out.Body, body) || string(out.State) != "s" || out.Method != "POST" {
		return fmt.Errorf("echo returned %+v", out)
	}
	return nil
}

// waitFor polls cond for up to 20s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestCalls(t *testing.T) {
	ctx := context.Background()
	p := loadBehaviour(t, Options{})

	if m := p.Manifest(); m.Name != "behaviour" || m.ABI != 1 || m.StreamFraming != abi.FramingSSE {
		t.Errorf("Manifest() = %+v", m)
	}
	if p.Name() != "behaviour" {
		t.Errorf("Name() = %q", p.Name())
	}

	first, err := p.Request(ctx, &abi.RequestIn{Model: "echo", Body: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	if first.Method != "POST" || first.Path != "/echo" || len(first.Headers) != 1 || first.Headers[0] != (abi.Header{Name: "X-Test", Value: "1"}) {
		t.Errorf("Request = %+v", first)
	}
	// Results are copies: a later call on the same instance (whose guest
	// reuses its output buffer) must not change them.
	if err := echo(ctx, p, []byte("XXXXXXXXXXXXXXXXXXXX")); err != nil {
		t.Fatal(err)
	}
	if string(first.Body) != "first" || string(first.State) != "s" {
		t.Errorf("first result changed after a second call: %+v", first)
	}

	resp, err := p.Response(ctx, &abi.ResponseIn{State: []byte("s"), Status: 200, Body: []byte(`{"id":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Body) != `{"id":"x"}` || resp.Usage == nil || *resp.Usage != (abi.Usage{InputTokens: 1, OutputTokens: 2}) {
		t.Errorf("Response = %+v", resp)
	}

	ev, err := p.StreamEvent(ctx, &abi.StreamIn{State: []byte("s"), Events: []abi.Event{{Name: []byte("done"), Data: []byte("d")}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.State) != "s!" || len(ev.Chunks) != 1 || string(ev.Chunks[0]) != "d" || ev.Flags != abi.StreamDone {
		t.Errorf("StreamEvent = %+v", ev)
	}

	// Call is the generic form: raw input record, raw success record.
	in := (&abi.RequestIn{Model: "echo", Body: []byte("raw")}).Append(nil)
	rec, err := p.Call(ctx, abi.ExportRequest, in)
	if err != nil {
		t.Fatal(err)
	}
	var out abi.RequestOut
	if err := out.Parse(rec); err != nil || string(out.Body) != "raw" {
		t.Errorf("Call record = %q (%v)", rec, err)
	}

	// An upstream error normalized by the plugin is an *abi.Error.
	_, err = p.Response(ctx, &abi.ResponseIn{Status: 503})
	var ae *abi.Error
	if !errors.As(err, &ae) || ae.Status != 503 {
		t.Errorf("Response(503) error = %v", err)
	}

	st := p.Stats()
	if st.Calls != 6 || st.Errors != 1 || st.Failures != 0 || st.Discarded != 0 || st.InFlight != 0 || st.Instances != 1 || st.Created != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestHostile runs every hostile behaviour against one plugin while other
// goroutines keep calling "echo" on it: each failure must be clean and
// typed, the instance replaced, the next call must succeed, and the
// concurrent calls must never fail.
func TestHostile(t *testing.T) {
	const limit = 32 << 20
	ctx := context.Background()
	p := loadBehaviour(t, Options{MemoryLimit: limit, MaxOutput: 1 << 20, PoolSize: 3})

	stop := make(chan struct{})
	var bg sync.WaitGroup
	var bgCalls atomic.Int64
	bgErrs := make(chan error, 1)
	for range 1 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := echo(ctx, p, []byte("background")); err != nil {
					bgErrs <- err
					return
				}
				bgCalls.Add(1)
			}
		}()
	}

	tests := []struct {
		model    string
		body     string
		timeout  time.Duration // of the call's context; 0: none
		kind     ErrorKind     // 0: an *abi.Error
		status   int           // of the *abi.Error
		stderr   string        // the CallError's Stderr must contain this
		contains string        // the error text must contain this
	}{
		{model: "loop", timeout: time.Second, kind: Timeout, contains: "stopped at its deadline"},
		{model: "bomb", kind: Trap, stderr: "out of memory", contains: "fatal error: out of memory"},
		{model: "panic", kind: Trap, stderr: "panic: behaviour: guest panic", contains: `(stderr: "panic: behaviour: guest panic")`},
		{model: "exit", kind: Exit, contains: "exit_code(3)"},
		{model: "trap", kind: Trap, contains: "out of bounds memory access"},
		{model: "big", kind: OutputTooLarge, contains: "exceeds the limit of 1048576"},
		{model: "badresult", kind: Malformed, contains: "outside memory"},
		{model: "badstatus", kind: Malformed, contains: "unknown result status 7"},
		{model: "abierr", status: 429},
		{model: "nosuch", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			before := p.Stats()
			cctx, cancel := ctx, context.CancelFunc(func() {})
			if tt.timeout > 0 {
				cctx, cancel = context.WithTimeout(ctx, tt.timeout)
			}
			defer cancel()
			start := time.Now()
			_, err := p.Request(cctx, &abi.RequestIn{Model: tt.model, Body: []byte(tt.body)})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("call succeeded")
			}
			if tt.kind == 0 {
				var ae *abi.Error
				if !errors.As(err, &ae) {
					t.Fatalf("error %v (%T), want *abi.Error", err, err)
				}
				if ae.Status != tt.status || (tt.status == 429 && !ae.Retryable) {
					t.Errorf("abi.Error = %+v", ae)
				}
				if st := p.Stats(); st.Discarded != before.Discarded || st.Errors != before.Errors+1 {
					t.Errorf("an *abi.Error changed the pool: before %+v, after %+v", before, st)
				}
			} else {
				var ce *CallError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v (%T), want *CallError", err, err)
				}
				if ce.Kind != tt.kind || ce.Plugin != "behaviour" || ce.Export != abi.ExportRequest {
					t.Errorf("CallError{Kind: %v, Plugin: %q, Export: %q}, want kind %v: %v", ce.Kind, ce.Plugin, ce.Export, tt.kind, err)
				}
				if !strings.Contains(ce.Stderr, tt.stderr) {
					t.Errorf("Stderr = %q, want it to contain %q", ce.Stderr, tt.stderr)
				}
				if !strings.Contains(err.Error(), tt.contains) {
					t.Errorf("error %q does not contain %q", err, tt.contains)
				}
				if st := p.Stats(); st.Discarded != before.Discarded+1 || st.Failures != before.Failures+1 {
					t.Errorf("instance not discarded: before %+v, after %+v", before, st)
				}
				// The pool refills: a new instance appears.
				waitFor(t, "a replacement instance", func() bool { return p.Stats().Created > before.Created })
			}
			if tt.kind == Timeout {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("timeout error %v does not match context.DeadlineExceeded", err)
				}
				if elapsed < tt.timeout || elapsed > 10*tt.timeout {
					t.Errorf("loop stopped after %v, want about %v", elapsed, tt.timeout)
				}
			}
			if err := echo(ctx, p, []byte("next")); err != nil {
				t.Fatalf("the next call failed: %v", err)
			}
		})
	}

	close(stop)
	bg.Wait()
	select {
	case err := <-bgErrs:
		t.Fatalf("a concurrent echo call failed: %v", err)
	default:
	}
	st := p.Stats()
	t.Logf("%d concurrent echo calls; stats %+v", bgCalls.Load(), st)
	if bgCalls.Load() == 0 {
		t.Error("no concurrent echo call ran")
	}
	if st.MemoryBytes > limit {
		t.Errorf("MemoryBytes %d exceeds the limit %d", st.MemoryBytes, limit)
	}
	if st.Instances > 3 || st.InFlight != 0 {
		t.Errorf("pool out of bounds: %+v", st)
	}
	if !st.CrashLoop || st.RecentFailures != crashLoopFailures {
		t.Errorf("8 failures within a minute not reported as a crash loop: %+v", st)
	}
}

// TestDeadline checks that Options.Deadline stops an untrusted guest stuck
// in a loop.
func TestDeadline(t *testing.T) {
	const deadline = 500 * time.Millisecond
	p := loadBehaviour(t, Options{Deadline: deadline})
	start := time.Now()
	_, err := p.Request(context.Background(), &abi.RequestIn{Model: "loop"})
	elapsed := time.Since(start)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Kind != Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a Timeout", err)
	}
	t.Logf("loop stopped after %v (deadline %v): %v", elapsed, deadline, err)
	if elapsed < deadline || elapsed > 10*deadline {
		t.Errorf("loop stopped after %v, want about %v", elapsed, deadline)
	}
	if err := echo(context.Background(), p, []byte("next")); err != nil {
		t.Fatal(err)
	}
}

func TestMemoryLimit(t *testing.T) {
	const limit = 32 << 20
	p := loadBehaviour(t, Options{MemoryLimit: limit, PoolSize: 1})
	_, err := p.Request(context.Background(), &abi.RequestIn{Model: "bomb"})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Kind != Trap || !strings.Contains(ce.Stderr, "out of memory") {
		t.Fatalf("bomb: %v", err)
	}
	st := p.Stats()
	t.Logf("bomb stopped at %d bytes (limit %d): %v", st.MemoryBytes, limit, err)
	if st.MemoryBytes > limit || st.MemoryBytes < limit/2 {
		t.Errorf("MemoryBytes = %d, want close to and at most %d", st.MemoryBytes, limit)
	}
	if err := echo(context.Background(), p, []byte("after")); err != nil {
		t.Fatal(err)
	}
}

func TestHighWaterRecycle(t *testing.T) {
	p := loadBehaviour(t, Options{MemoryLimit: 128 << 20, HighWater: 32 << 20, PoolSize: 1})
	ctx := context.Background()
	if err := echo(ctx, p, []byte("small")); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Recycled != 0 {
		t.Fatalf("a small call recycled its instance: %+v", st)
	}
	if _, err := p.Request(ctx, &abi.RequestIn{Model: "grow"}); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Recycled != 1 || st.Discarded != 0 || st.MemoryBytes <= 32<<20 {
		t.Fatalf("after grow: %+v", st)
	}
	if err := echo(ctx, p, []byte("after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replacement", func() bool { st := p.Stats(); return st.Created == 2 && st.Idle == 1 })
}

func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	t.Run("trusted plugin over its deadline", func(t *testing.T) {
		// A trusted plugin is not interrupted; a call that ends past its
		// deadline is reported as a timeout afterwards. (The mini module:
		// a trusted behaviour module would cost another compile.)
		p, err := Load(ctx, Options{Name: "mini", Wasm: miniModule(miniManifest), Logger: quiet, Trusted: true, Deadline: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		_, err = p.Request(ctx, &abi.RequestIn{})
		var ce *CallError
		if !errors.As(err, &ce) || ce.Kind != Timeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want a Timeout", err)
		}
		if st := p.Stats(); st.Discarded != 1 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("cancel does not interrupt a call", func(t *testing.T) {
		// Canceling the caller's context does not stop a running call (that
		// would cost the instance); the deadline does.
		const deadline = 300 * time.Millisecond
		p := loadBehaviour(t, Options{Deadline: deadline})
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := p.Request(cctx, &abi.RequestIn{Model: "loop"})
		var ce *CallError
		if !errors.As(err, &ce) || ce.Kind != Timeout || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) < deadline {
			t.Fatalf("error = %v after %v, want a Timeout at the deadline", err, time.Since(start))
		}
		if err := echo(ctx, p, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a call finishes although its context is canceled midway", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		logger, _ := newLogRecorder(func(e logEntry) {
			if e.Msg == "cancel me" {
				cancel()
			}
		})
		p := loadBehaviour(t, Options{Logger: logger})
		out, err := p.Request(cctx, &abi.RequestIn{Model: "log", Body: []byte("cancel me")})
		if err != nil || string(out.Body) != "cancel me" || cctx.Err() == nil {
			t.Fatalf("Request = %+v, %v (ctx err %v)", out, err, cctx.Err())
		}
		if st := p.Stats(); st.Failures != 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("context deadline earlier than Deadline", func(t *testing.T) {
		p := loadBehaviour(t, Options{Deadline: time.Minute})
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := p.Request(cctx, &abi.RequestIn{Model: "loop"})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
			t.Fatalf("error = %v after %v", err, time.Since(start))
		}
	})
	t.Run("context already done", func(t *testing.T) {
		p := loadBehaviour(t, Options{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := echo(cctx, p, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v", err)
		}
		if st := p.Stats(); st.Calls != 0 || st.Discarded != 0 {
			t.Errorf("a call with a done context reached an instance: %+v", st)
		}
	})
}

func TestConfig(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		config []byte
		want   string
	}{
		{"nil is an empty object", nil, "{}"},
		{"longer than the guest's first buffer", []byte(`{"base_url":"https://api.example.com/v1","models":["a","b"]}`), `{"base_url":"https://api.example.com/v1","models":["a","b"]}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := loadBehaviour(t, Options{Config: tt.config})
			out, err := p.Request(ctx, &abi.RequestIn{Model: "config"})
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Body) != tt.want {
				t.Errorf("config = %q, want %q", out.Body, tt.want)
			}
		})
	}
}

func TestLog(t *testing.T) {
	ctx := context.Background()
	t.Run("message", func(t *testing.T) {
		logger, logs := newLogRecorder(nil)
		p := loadBehaviour(t, Options{Logger: logger})
		if _, err := p.Request(ctx, &abi.RequestIn{Model: "log", Body: []byte("hello host")}); err != nil {
			t.Fatal(err)
		}
		got := logs.find("hello host")
		if len(got) != 1 || got[0].Level != slog.LevelWarn || got[0].Attrs["plugin"] != "behaviour" {
			t.Fatalf("log entries = %+v", got)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		logger, logs := newLogRecorder(nil)
		p := loadBehaviour(t, Options{Logger: logger})
		long := strings.Repeat("é", 3000) // 6000 bytes; the cut falls inside a rune
		if _, err := p.Request(ctx, &abi.RequestIn{Model: "log", Body: []byte(long)}); err != nil {
			t.Fatal(err)
		}
		want := strings.Repeat("é", maxLogMessage/2)
		got := logs.find(want)
		if len(got) != 1 || got[0].Attrs["truncated"] != true || got[0].Attrs["len"] != int64(6000) {
			t.Fatalf("want one truncated entry of %d bytes; got %d entries", len(want), len(got))
		}
	})
	t.Run("rate limited", func(t *testing.T) {
		logger, logs := newLogRecorder(nil)
		p := loadBehaviour(t, Options{Logger: logger})
		if _, err := p.Request(ctx, &abi.RequestIn{Model: "logflood", Body: []byte("flood")}); err != nil {
			t.Fatal(err)
		}
		got := len(logs.find("flood"))
		st := p.Stats()
		t.Logf("1000 messages: %d logged, %d dropped", got, st.LogsDropped)
		if got > 2*logBurst || got+int(st.LogsDropped) != 1000 {
			t.Errorf("%d logged and %d dropped of 1000", got, st.LogsDropped)
		}
	})
}

// TestPoolBound fills a pool of 2 with calls blocked inside hub_v1.log: a
// third caller waits, gives up when its context ends, and gets an instance
// as soon as one is free.
func TestPoolBound(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	logger := blockingLogger(started, release)
	p := loadBehaviour(t, Options{Logger: logger, PoolSize: 2})

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := p.Request(ctx, &abi.RequestIn{Model: "log", Body: []byte("block")})
			errs <- err
		}()
	}
	<-started
	<-started
	if st := p.Stats(); st.InFlight != 2 || st.Instances != 2 || st.Idle != 0 {
		t.Fatalf("with 2 blocked calls: %+v", st)
	}

	// A third caller cannot get an instance before its context ends.
	wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := echo(wctx, p, []byte("waiting"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "wait for a free instance") {
		t.Fatalf("third caller: %v", err)
	}
	var ce *CallError
	if errors.As(err, &ce) {
		t.Fatalf("waiting is not a plugin failure: %v", err)
	}

	// A fourth waits until a blocked call finishes.
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs <- echo(ctx, p, []byte("fourth"))
	}()
	time.Sleep(50 * time.Millisecond)
	if st := p.Stats(); st.Instances != 2 {
		t.Fatalf("pool grew past PoolSize: %+v", st)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if st := p.Stats(); st.Instances != 2 || st.Idle != 2 || st.InFlight != 0 || st.Calls != 3 {
		t.Errorf("after: %+v", st)
	}
}

// TestHammer runs 8 goroutines × 500 calls on a pool of 4.
func TestHammer(t *testing.T) {
	const goroutines, calls = 8, 500
	p := loadBehaviour(t, Options{PoolSize: 4, MinIdle: 2})
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range calls {
				body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
				if err := echo(context.Background(), p, body); err != nil {
					errs <- err
					return
				}
				if i%50 == 0 {
					if st := p.Stats(); st.Instances > 4 || st.InFlight > 4 || st.Idle > st.Instances {
						errs <- fmt.Errorf("inconsistent stats %+v", st)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := p.Stats()
	if st.Calls != goroutines*calls || st.Failures != 0 || st.InFlight != 0 || st.Idle != st.Instances || st.Instances > 4 || st.Created != uint64(st.Instances) {
		t.Errorf("Stats = %+v", st)
	}
}

// TestMemoryFlat guards the Go GC issue (see DESIGN.md): every echo call
// allocates 64 KiB in the guest; instance memory must stay flat.
func TestMemoryFlat(t *testing.T) {
	// Either way the guest allocates many times its 64 MiB memory limit.
	calls := 20000
	if raceEnabled || testing.Short() {
		calls = 8000
	}
	p := loadBehaviour(t, Options{PoolSize: 1})
	ctx := context.Background()
	body := bytes.Repeat([]byte("m"), 64<<10)
	var after1k uint64
	for i := range calls {
		if err := echo(ctx, p, body); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if i == 999 {
			after1k = p.Stats().MemoryBytes
		}
	}
	st := p.Stats()
	t.Logf("memory after 1k calls: %d KiB; after %d calls: %d KiB", after1k>>10, calls, st.MemoryBytes>>10)
	if st.MemoryBytes > after1k+4<<20 || st.Recycled != 0 || st.Created != 1 {
		t.Errorf("memory grew from %d to %d bytes: %+v", after1k, st.MemoryBytes, st)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	logger := blockingLogger(started, release)
	p, err := Load(ctx, Options{Name: "closing", Wasm: guestWasm(t, "behaviour"), Cache: testCache, Logger: logger, MinIdle: 2, Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	inflight := make(chan error, 1)
	go func() {
		_, err := p.Request(ctx, &abi.RequestIn{Model: "log", Body: []byte("block")})
		inflight <- err
	}()
	<-started

	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	waitFor(t, "Close to begin", func() bool { return p.Stats().Idle == 0 })

	// New calls fail at once with Closed.
	err = echo(ctx, p, nil)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Kind != Closed || !errors.Is(err, ErrClosed) {
		t.Fatalf("call during Close: %v", err)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a call was in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	// A second Close waits for the first.
	second := make(chan error, 1)
	go func() { second <- p.Close(ctx) }()

	close(release)
	if err := <-inflight; err != nil {
		t.Errorf("the in-flight call failed: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := p.Stats(); st.Instances != 0 || st.Idle != 0 || st.InFlight != 0 {
		t.Errorf("after Close: %+v", st)
	}
}

func TestCloseGivesUp(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	logger := blockingLogger(started, release)
	p, err := Load(ctx, Options{Name: "stuck", Wasm: guestWasm(t, "behaviour"), Cache: testCache, Logger: logger, Deadline: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Request(ctx, &abi.RequestIn{Model: "log", Body: []byte("block")})
	}()
	<-started
	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Close(sctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 instances still busy") {
		t.Errorf("Close = %v", err)
	}
	close(release)
	<-done
}

// TestCompileCache loads the behaviour module twice through a file cache in
// a fresh directory, with a new cache object each time as after a restart.
func TestCompileCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wasm := guestWasm(t, "behaviour")
	load := func() time.Duration {
		cache, err := NewCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer cache.Close(ctx)
		start := time.Now()
		p, err := Load(ctx, Options{Name: "cached", Wasm: wasm, Cache: cache, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		if err := echo(ctx, p, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cold := load()
	var files int
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files == 0 {
		t.Fatal("the cache directory is empty after a load")
	}
	warm := load()
	t.Logf("Load with an empty file cache: %v; with a warm one: %v (%d cache files)", cold, warm, files)
}

// The host reuses the guest's input buffer for inputs that fit (ABI.md §4)
// and calls hub_alloc again only for larger ones; every size must arrive
// intact either way.
func TestInputBufferReuse(t *testing.T) {
	p := loadBehaviour(t, Options{PoolSize: 1})
	ctx := context.Background()
	for i, n := range []int{10, 1000, 5, 100000, 7, 100001, 0, 64} {
		body := bytes.Repeat([]byte{byte('a' + i)}, n)
		out, err := p.Request(ctx, &abi.RequestIn{Model: "echo", Body: body})
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		if !bytes.Equal(out.Body, body) {
			t.Fatalf("size %d: body came back as %d bytes", n, len(out.Body))
		}
	}
}

// blockingLogger returns a logger on which a guest's "block" log message
// signals started and then holds the guest until release is closed.
func blockingLogger(started chan<- struct{}, release <-chan struct{}) *slog.Logger {
	logger, _ := newLogRecorder(func(e logEntry) {
		if e.Msg == "block" {
			started <- struct{}{}
			<-release
		}
	})
	return logger
}

// TestClosedInstanceReplaced: an untrusted call that returns just as its
// deadline passes can have its module closed afterwards by wazero's
// deadline watcher. Such an instance, whether found at release or idle in
// the pool, is replaced: the next call is served by a live one.
func TestClosedInstanceReplaced(t *testing.T) {
	p := loadBehaviour(t, Options{PoolSize: 1})
	ctx := context.Background()
	if err := echo(ctx, p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	// Closed while idle, as the watcher would after the release.
	p.mu.Lock()
	if len(p.idle) != 1 {
		p.mu.Unlock()
		t.Fatalf("%d idle instances, want 1", len(p.idle))
	}
	idle := p.idle[0]
	p.mu.Unlock()
	if err := idle.mod.CloseWithExitCode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := echo(ctx, p, []byte("second")); err != nil {
		t.Fatalf("the call after a closed idle instance: %v", err)
	}
	if st := p.Stats(); st.Discarded != 0 || st.Failures != 0 {
		t.Fatalf("a closed idle instance counted as a failure: %+v", st)
	}
	// Closed during the call, before its release.
	inst, err := p.acquire(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	inst.mod.CloseWithExitCode(ctx, 0)
	p.release(inst)
	if err := echo(ctx, p, []byte("third")); err != nil {
		t.Fatalf("the call after an instance released closed: %v", err)
	}
}
