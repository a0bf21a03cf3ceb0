package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/aignehub/hub/sdk/abi"
)

// Limits of the hub_v1 host functions.
const (
	// maxLogMessage is the longest guest log message kept; longer ones are
	// truncated (ABI: "messages over 4 KiB are truncated").
	maxLogMessage = 4 << 10
	// logBurst is how many guest log messages a plugin may write per
	// logWindow; the rest are dropped and counted.
	logBurst  = 100
	logWindow = time.Second
	// stderrTail is how many bytes of an instance's stdout+stderr are kept.
	stderrTail = 8 << 10
)

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// instantiateHostModules instantiates, in p's runtime, the two modules a
// plugin may import from: hub_v1 (below) and WASI. WASI gets nothing from the
// host: each instance's ModuleConfig has no filesystem, environment or
// arguments, wazero's fake clocks and deterministic random source, and
// stdout/stderr going to a bounded per-instance buffer.
func (p *Plugin) instantiateHostModules(ctx context.Context) error {
	b := p.rt.NewHostModuleBuilder(abi.ImportModule)

	// log: (level i32, ptr i32, len i32) -> ()
	//
	// Writes the UTF-8 message at memory[ptr:ptr+len] to the plugin's
	// Logger at level 0 debug, 1 info, 2 warn, 3 error (others are clamped),
	// with attribute plugin=Name. Messages over 4 KiB are truncated; past
	// logBurst messages per second the rest are dropped and counted, and the
	// count is logged when the next window opens. A range outside memory
	// traps the guest.
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(p.hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export(abi.ImportLog)

	// config: (ptr i32, cap i32) -> (len i32)
	//
	// Copies min(cap, len(config)) bytes of the plugin's config JSON
	// (Options.Config, "{}" when nil) to memory[ptr:] and returns the full
	// length, so a guest whose buffer was too small calls again with a
	// bigger one. A range outside memory traps the guest.
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(p.hostConfig), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "cap").
		WithResultNames("len").
		Export(abi.ImportConfig)

	if _, err := b.Instantiate(ctx); err != nil {
		return fmt.Errorf("instantiate %s: %w", abi.ImportModule, err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, p.rt); err != nil {
		return fmt.Errorf("instantiate %s: %w", abi.WASIModule, err)
	}
	return nil
}

// moduleConfig is the base configuration of every plugin instance; see
// instantiateHostModules. Instances are anonymous so that many can coexist
// in one runtime. "_initialize" runs Go's (and other reactors') runtime
// initialization; wazero skips it when the module does not export it.
func moduleConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize")
}

func (p *Plugin) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	level, ptr, n := int32(stack[0]), uint32(stack[1]), uint32(stack[2])
	if uint64(ptr)+uint64(n) > uint64(mod.Memory().Size()) {
		panic(fmt.Errorf("%s.%s: message [%#x, +%d) is outside memory", abi.ImportModule, abi.ImportLog, ptr, n))
	}
	lvl := guestLevel(level)
	if !p.s.logger.Enabled(ctx, lvl) || !p.logLimit.allow(p.s.logger) {
		return
	}
	keep := min(n, maxLogMessage)
	b, _ := mod.Memory().Read(ptr, keep)
	var attrs []slog.Attr
	if keep < n {
		b = trimPartialRune(b)
		attrs = append(attrs, slog.Bool("truncated", true), slog.Int("len", int(n)))
	}
	msg := strings.ToValidUTF8(string(b), "\uFFFD")
	p.s.logger.LogAttrs(ctx, lvl, msg, attrs...)
}

// trimPartialRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

func guestLevel(l int32) slog.Level {
	switch {
	case l <= abi.LogDebug:
		return slog.LevelDebug
	case l == abi.LogInfo:
		return slog.LevelInfo
	case l == abi.LogWarn:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func (p *Plugin) hostConfig(_ context.Context, mod api.Module, stack []uint64) {
	ptr, capacity := uint32(stack[0]), uint32(stack[1])
	n := min(uint64(capacity), uint64(len(p.s.config)))
	if n > 0 && !mod.Memory().Write(ptr, p.s.config[:n]) {
		panic(fmt.Errorf("%s.%s: buffer [%#x, +%d) is outside memory", abi.ImportModule, abi.ImportConfig, ptr, n))
	}
	stack[0] = uint64(len(p.s.config))
}

// logLimiter is a fixed-window rate limit on one plugin's guest log lines.
type logLimiter struct {
	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int    // in the current window
	total   uint64 // ever; reported by Stats
}

// allow reports whether one more message may be logged now. When a window
// opens after drops, it logs how many were dropped.
func (l *logLimiter) allow(logger *slog.Logger) bool {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.start) >= logWindow {
		dropped := l.dropped
		l.start, l.n, l.dropped = now, 0, 0
		if dropped > 0 {
			l.mu.Unlock()
			logger.Warn("plugin log messages dropped by rate limit", "dropped", dropped, "limit_per_second", logBurst)
			l.mu.Lock()
		}
	}
	ok := l.n < logBurst
	if ok {
		l.n++
	} else {
		l.dropped++
		l.total++
	}
	l.mu.Unlock()
	return ok
}

func (l *logLimiter) droppedTotal() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// tailBuffer keeps the last stderrTail bytes written to it: an instance's
// stdout and stderr, where a Go guest prints its panics and fatal errors.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= stderrTail {
		t.buf = append(t.buf[:0], p[len(p)-stderrTail:]...)
		return len(p), nil
	}
	if len(t.buf)+len(p) > 2*stderrTail {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-(stderrTail-len(p)):]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// String returns at most the last stderrTail bytes written.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > stderrTail {
		b = b[len(b)-stderrTail:]
	}
	return string(b)
}
