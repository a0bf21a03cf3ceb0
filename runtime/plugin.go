package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/aignehub/hub/sdk/abi"
)

// Crash-loop detection: a plugin whose instances failed crashLoopFailures
// times within crashLoopWindow is reported as crash-looping by Stats.
const (
	crashLoopFailures = 5
	crashLoopWindow   = time.Minute
)

// initTimeout bounds instantiation (the guest's _initialize) and the
// hub_describe call at load; the per-call Deadline applies when it is longer.
const initTimeout = 10 * time.Second

// Plugin is one loaded plugin module: its own wazero runtime (with the
// plugin's memory limit), the compiled module and a pool of instances. It is
// safe for concurrent use; see the package documentation for the model.
type Plugin struct {
	s        settings
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	exports  map[string]api.FunctionDefinition
	modCfg   wazero.ModuleConfig
	manifest abi.Manifest
	sha256   string
	logLimit logLimiter

	// The pool. mu guards the fields up to wake.
	mu        sync.Mutex
	idle      []*instance // LIFO: the most recently used instance is warmest
	live      int         // instances idle, busy or being created
	busy      int         // instances handed out to calls
	closing   bool
	refilling bool
	replace   int           // instances discarded or recycled and not yet replaced
	wake      chan struct{} // closed when an instance or slot frees up; nil when nobody waits
	refills   sync.WaitGroup
	done      chan struct{} // closed when Close has closed the runtime

	calls, plugErrs, failures, discarded, recycled, created atomic.Uint64
	maxMemory                                               atomic.Uint64

	failMu    sync.Mutex
	failTimes [crashLoopFailures]time.Time // ring of the latest failures
	failNext  int
}

// Stats is a snapshot of a plugin's pool and counters.
type Stats struct {
	// Instances exist now: idle, busy or being created. At most PoolSize.
	Instances int
	// Idle instances wait in the pool.
	Idle int
	// InFlight instances are running a call.
	InFlight int
	// Calls counts calls that ran on an instance.
	Calls uint64
	// Errors counts calls that returned an *abi.Error (the instance stays).
	Errors uint64
	// Failures counts calls that failed with a *CallError other than
	// Closed: the instance misbehaved, or a new one failed to start.
	Failures uint64
	// Discarded counts instances closed because a call on them failed.
	Discarded uint64
	// Recycled counts healthy instances closed because their memory passed
	// HighWater.
	Recycled uint64
	// Created counts instances instantiated, including Load's.
	Created uint64
	// MemoryBytes is the largest linear memory any instance has had. It never
	// exceeds MemoryLimit.
	MemoryBytes uint64
	// LogsDropped counts guest log messages dropped by the rate limit.
	LogsDropped uint64
	// RecentFailures counts instance failures (in calls or background
	// refills) within the last minute, up to 5.
	RecentFailures int
	// CrashLoop reports 5 failures within a minute: the plugin is probably
	// broken, not unlucky. A caller may stop routing to it.
	CrashLoop bool
}

// Load compiles, validates and warms a plugin. Validation happens before any
// guest code runs: the module may import only hub_v1 and WASI functions the
// host provides, with matching signatures, and must export its memory,
// hub_abi_v1, hub_alloc and hub_describe with the ABI's signatures. Then Load
// instantiates one instance, calls hub_describe, checks the manifest (ABI
// version, kind, and the exports the kind needs), and warms MinIdle
// instances. Every error names the plugin and the problem.
func Load(ctx context.Context, opts Options) (*Plugin, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, fmt.Errorf("load plugin %q: %w", opts.Name, err)
	}
	sum := sha256.Sum256(opts.Wasm)
	p := &Plugin{s: s, sha256: hex.EncodeToString(sum[:]), modCfg: moduleConfig(), done: make(chan struct{})}

	cfg := wazero.NewRuntimeConfig().
		WithMemoryLimitPages(s.memoryPages).
		WithCloseOnContextDone(!s.trusted)
	if s.cache != nil {
		cfg = cfg.WithCompilationCache(s.cache)
	}
	p.rt = wazero.NewRuntimeWithConfig(ctx, cfg)
	if err := p.load(ctx, opts.Wasm); err != nil {
		_ = p.rt.Close(context.WithoutCancel(ctx))
		return nil, newLoadError(s.name, err)
	}
	s.logger.Debug("plugin loaded", "version", p.manifest.Version, "kind", p.manifest.Kind,
		"sha256", p.sha256, "trusted", s.trusted, "instances", len(p.idle))
	return p, nil
}

// load is Load's work in p's fresh runtime.
func (p *Plugin) load(ctx context.Context, wasm []byte) error {
	if err := p.instantiateHostModules(ctx); err != nil {
		return err
	}
	compiled, err := p.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	host := map[string]map[string]api.FunctionDefinition{
		abi.ImportModule: p.rt.Module(abi.ImportModule).ExportedFunctionDefinitions(),
		abi.WASIModule:   p.rt.Module(abi.WASIModule).ExportedFunctionDefinitions(),
	}
	if err := validateModule(compiled, host); err != nil {
		return err
	}
	p.compiled, p.exports = compiled, compiled.ExportedFunctions()
	if err := ctx.Err(); err != nil {
		return err
	}

	first, err := p.newInstance(ctx)
	if err != nil {
		return fmt.Errorf("instantiate: %w", err)
	}
	p.idle, p.live = append(p.idle, first), 1
	if p.manifest, err = p.describe(ctx, first); err != nil {
		return err
	}
	if err := validateManifest(p.manifest, p.exports); err != nil {
		return err
	}
	for len(p.idle) < p.s.minIdle {
		inst, err := p.newInstance(ctx)
		if err != nil {
			return fmt.Errorf("instantiate: %w", err)
		}
		p.idle, p.live = append(p.idle, inst), p.live+1
	}
	return nil
}

// describe calls hub_describe on inst and decodes the manifest.
func (p *Plugin) describe(ctx context.Context, inst *instance) (abi.Manifest, error) {
	var m manifestRecord
	res, cerr := p.invoke(ctx, inst, abi.ExportDescribe, inst.describe, nil, nil, false, max(initTimeout, p.s.deadline), nil)
	if cerr == nil {
		var aerr error
		_, aerr, cerr = p.decode(abi.ExportDescribe, res, &m)
		if aerr != nil {
			return m.m, fmt.Errorf("%s returned an error: %w", abi.ExportDescribe, aerr)
		}
	}
	if cerr != nil {
		cerr.Stderr = inst.out.String()
		return m.m, cerr
	}
	return m.m, nil
}

// Name returns Options.Name.
func (p *Plugin) Name() string { return p.s.name }

// Manifest returns what the plugin's hub_describe returned at load. Its
// slices are shared: do not modify them.
func (p *Plugin) Manifest() abi.Manifest { return p.manifest }

// SHA256 returns the hex SHA-256 of the module's bytes, the identity an
// operator pins to mark a plugin trusted.
func (p *Plugin) SHA256() string { return p.sha256 }

// Stats returns a snapshot of the pool and the counters.
func (p *Plugin) Stats() Stats {
	p.mu.Lock()
	st := Stats{Instances: p.live, Idle: len(p.idle), InFlight: p.busy}
	p.mu.Unlock()
	st.Calls = p.calls.Load()
	st.Errors = p.plugErrs.Load()
	st.Failures = p.failures.Load()
	st.Discarded = p.discarded.Load()
	st.Recycled = p.recycled.Load()
	st.Created = p.created.Load()
	st.MemoryBytes = p.maxMemory.Load()
	st.LogsDropped = p.logLimit.droppedTotal()
	now := time.Now()
	p.failMu.Lock()
	for _, t := range p.failTimes {
		if !t.IsZero() && now.Sub(t) < crashLoopWindow {
			st.RecentFailures++
		}
	}
	p.failMu.Unlock()
	st.CrashLoop = st.RecentFailures >= crashLoopFailures
	return st
}

// noteCrash records an instance failure for crash-loop detection.
func (p *Plugin) noteCrash() {
	p.failMu.Lock()
	p.failTimes[p.failNext] = time.Now()
	p.failNext = (p.failNext + 1) % len(p.failTimes)
	p.failMu.Unlock()
}

func (p *Plugin) noteMemory(size uint64) {
	for {
		old := p.maxMemory.Load()
		if size <= old || p.maxMemory.CompareAndSwap(old, size) {
			return
		}
	}
}

// Close stops handing out instances (later calls fail with Kind Closed),
// closes the idle instances, lets calls in flight finish on their instance
// and closes each as it comes back, then closes the runtime. If ctx ends
// first, Close closes the runtime anyway, which stops untrusted guests still
// running, and returns an error. Close does not close Options.Cache. Calling
// Close again waits for the first to finish.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("close plugin %q: %w", p.s.name, ctx.Err())
		}
	}
	p.closing = true
	idle := p.idle
	p.idle = nil
	p.live -= len(idle)
	p.signalLocked()
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}

	var err error
	for err == nil {
		p.mu.Lock()
		if p.live == 0 {
			p.mu.Unlock()
			break
		}
		ch := p.waitChanLocked()
		n := p.live
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			err = fmt.Errorf("close plugin %q: %d instances still busy: %w", p.s.name, n, ctx.Err())
		}
	}
	if err == nil {
		p.refills.Wait()
	}
	if cerr := p.rt.Close(context.WithoutCancel(ctx)); cerr != nil && err == nil {
		err = fmt.Errorf("close plugin %q: %w", p.s.name, cerr)
	}
	close(p.done)
	return err
}

// manifestRecord decodes hub_describe's success record.
type manifestRecord struct{ m abi.Manifest }

func (r *manifestRecord) Parse(rec []byte) error {
	var f [1][]byte
	if _, err := abi.Fields(rec, f[:]); err != nil {
		return err
	}
	if len(f[0]) == 0 {
		return errors.New("empty manifest")
	}
	if err := json.Unmarshal(f[0], &r.m); err != nil {
		return fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	return nil
}
