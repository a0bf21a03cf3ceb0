package runtime

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/tetratelabs/wazero"
)

// Defaults applied by [Load] to zero [Options] fields.
const (
	DefaultMemoryLimit = 64 << 20
	DefaultDeadline    = 2 * time.Second
	DefaultMaxOutput   = 16 << 20
	DefaultPoolSize    = 4
	DefaultMinIdle     = 1
)

const pageSize = 65536

// Options configure one plugin. Only Name and Wasm are required.
type Options struct {
	// Name identifies the plugin in errors, logs and metrics (usually the
	// name it has in hub.toml). Required.
	Name string

	// Wasm is the module's binary. Required. Load does not keep it.
	Wasm []byte

	// Config is the plugin's config JSON object, what hub_v1.config hands
	// the guest. Nil means "{}". It must be valid JSON.
	Config []byte

	// Cache is the compilation cache shared by all plugin runtimes (see
	// [NewCache]). Nil means an in-memory cache private to this plugin, so
	// the module is compiled again on the next Load. The caller owns it:
	// [Plugin.Close] does not close it.
	Cache wazero.CompilationCache

	// MemoryLimit caps each instance's linear memory, in bytes (rounded
	// down to whole 64 KiB pages). Zero means 64 MiB. A guest that needs
	// more fails to grow its memory; a Go guest then aborts (Exit).
	MemoryLimit uint64

	// Deadline bounds each call; the effective deadline is the earlier of
	// the context's and now+Deadline. Zero means 2s.
	Deadline time.Duration

	// MaxOutput caps a call's result in bytes; a longer result fails the
	// call (OutputTooLarge). Zero means 16 MiB.
	MaxOutput int

	// PoolSize is the most instances that exist at once, which is also the
	// most calls that run at once; further callers wait. Zero means 4.
	PoolSize int

	// MinIdle is how many warm instances Load creates and the background
	// refill keeps ready after instances are discarded. Zero means 1 (Load
	// needs one instance for hub_describe anyway). At most PoolSize.
	MinIdle int

	// HighWater is the linear-memory size in bytes past which an instance is
	// closed and replaced after its call instead of going back to the pool
	// (Go's Wasm memory never shrinks). Zero means 3/4 of MemoryLimit.
	HighWater uint64

	// Trusted runs the plugin without wazero's context checks. False (the
	// default) builds the runtime with WithCloseOnContextDone(true), so a
	// guest stuck in a loop is stopped at its deadline. That check is not
	// free: wazero starts a watcher goroutine per guest call and leaves
	// machine code for Go at every loop back-edge, so a small Go echo call
	// measured 2.9µs trusted and 12µs untrusted, and loop-heavy guest code
	// slows down more. True skips the checks: an over-deadline call is only
	// detected when it returns, reported as a Timeout and its instance
	// discarded, and a guest that never returns holds its goroutine (and a
	// CPU) forever. Mark only built-in or hash-pinned plugins trusted.
	Trusted bool

	// Logger receives the plugin's hub_v1.log messages and the runtime's
	// own events, with the attribute plugin=Name. Nil means slog.Default().
	Logger *slog.Logger
}

// settings are Options with the defaults applied and checked.
type settings struct {
	name        string
	config      []byte
	cache       wazero.CompilationCache
	memoryPages uint32
	memoryLimit uint64
	deadline    time.Duration
	maxOutput   int
	poolSize    int
	minIdle     int
	highWater   uint64
	trusted     bool
	logger      *slog.Logger
}

// settings applies defaults and reports every invalid option at once.
func (o *Options) settings() (settings, error) {
	s := settings{
		name:        o.Name,
		cache:       o.Cache,
		memoryLimit: o.MemoryLimit,
		deadline:    o.Deadline,
		maxOutput:   o.MaxOutput,
		poolSize:    o.PoolSize,
		minIdle:     o.MinIdle,
		highWater:   o.HighWater,
		trusted:     o.Trusted,
		logger:      o.Logger,
	}
	var errs problems
	if s.name == "" {
		errs.add("Options.Name is empty")
	}
	if len(o.Wasm) == 0 {
		errs.add("Options.Wasm is empty")
	}
	if o.Config == nil {
		s.config = []byte("{}")
	} else if !json.Valid(o.Config) {
		errs.add("Options.Config is not valid JSON")
	} else {
		s.config = append([]byte(nil), o.Config...)
	}
	if s.memoryLimit == 0 {
		s.memoryLimit = DefaultMemoryLimit
	}
	switch pages := s.memoryLimit / pageSize; {
	case pages == 0:
		errs.add("Options.MemoryLimit %d is below one 64 KiB page", s.memoryLimit)
	case pages >= 65536:
		errs.add("Options.MemoryLimit %d is 4 GiB or more", s.memoryLimit)
	default:
		s.memoryPages = uint32(pages)
		s.memoryLimit = pages * pageSize
	}
	if s.deadline == 0 {
		s.deadline = DefaultDeadline
	} else if s.deadline < 0 {
		errs.add("Options.Deadline %v is negative", s.deadline)
	}
	if s.maxOutput == 0 {
		s.maxOutput = DefaultMaxOutput
	} else if s.maxOutput < 0 {
		errs.add("Options.MaxOutput %d is negative", s.maxOutput)
	}
	if s.poolSize == 0 {
		s.poolSize = DefaultPoolSize
	} else if s.poolSize < 0 {
		errs.add("Options.PoolSize %d is negative", s.poolSize)
	}
	if s.minIdle == 0 {
		s.minIdle = DefaultMinIdle
	} else if s.minIdle < 0 {
		errs.add("Options.MinIdle %d is negative", s.minIdle)
	}
	if s.poolSize > 0 && s.minIdle > s.poolSize {
		errs.add("Options.MinIdle %d is above PoolSize %d", s.minIdle, s.poolSize)
	}
	if s.highWater == 0 {
		s.highWater = s.memoryLimit / 4 * 3
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.logger = s.logger.With("plugin", s.name)
	return s, errs.err()
}
