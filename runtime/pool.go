package runtime

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/aignehub/hub/sdk/abi"
)

// instance is one instantiated module. It serves one call at a time: the
// pool hands it to exactly one caller, because api.Function is not safe for
// concurrent use. It caches its function handles and reuses one stack and
// one input buffer across calls.
type instance struct {
	mod      api.Module
	mem      api.Memory
	alloc    api.Function
	describe api.Function
	request  api.Function
	response api.Function
	stream   api.Function
	other    map[string]api.Function // other (ptr,len)->packed exports, by name
	stack    []uint64                // params and results of CallWithStack
	scratch  []byte                  // encoded input record
	result   []byte                  // a result read in place (see Plugin.do)
	out      *tailBuffer             // stdout and stderr
	// inPtr and inCap are the guest input buffer from the last hub_alloc:
	// per ABI.md §4 it stays valid until the next hub_alloc, so inputs that
	// fit are written there without calling the guest's allocator.
	inPtr, inCap uint32
}

// maxScratch is the largest input buffer an instance keeps between calls.
const maxScratch = 4 << 20

// function returns the handle of a (ptr,len)->packed export that the caller
// has checked exists.
func (inst *instance) function(export string) api.Function {
	switch export {
	case abi.ExportRequest:
		return inst.request
	case abi.ExportResponse:
		return inst.response
	case abi.ExportStreamEvent:
		return inst.stream
	}
	fn, ok := inst.other[export]
	if !ok {
		fn = inst.mod.ExportedFunction(export)
		if inst.other == nil {
			inst.other = make(map[string]api.Function)
		}
		inst.other[export] = fn
	}
	return fn
}

func (inst *instance) close() {
	_ = inst.mod.Close(context.Background())
}

// newInstance instantiates the module, running its _initialize. Like a
// call, instantiation is bounded by a deadline, not by ctx's cancellation.
func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(initTimeout, p.s.deadline))
	defer cancel()
	out := &tailBuffer{}
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, p.modCfg.WithStdout(out).WithStderr(out))
	if err != nil {
		kind, cause := classify(err)
		return nil, &CallError{Plugin: p.s.name, Export: "_initialize", Kind: kind, Err: cause, Stderr: out.String()}
	}
	if mod.IsClosed() {
		return nil, &CallError{Plugin: p.s.name, Export: "_initialize", Kind: Exit, Err: fmt.Errorf("module exited during initialization"), Stderr: out.String()}
	}
	inst := &instance{
		mod:      mod,
		mem:      mod.ExportedMemory("memory"),
		alloc:    mod.ExportedFunction(abi.ExportAlloc),
		describe: mod.ExportedFunction(abi.ExportDescribe),
		request:  mod.ExportedFunction(abi.ExportRequest),
		response: mod.ExportedFunction(abi.ExportResponse),
		stream:   mod.ExportedFunction(abi.ExportStreamEvent),
		stack:    make([]uint64, 2),
		out:      out,
	}
	p.created.Add(1)
	p.noteMemory(uint64(inst.mem.Size()))
	return inst, nil
}

// acquire hands out an idle instance, or creates one while fewer than
// PoolSize exist, or waits for one until ctx is done.
func (p *Plugin) acquire(ctx context.Context, export string) (*instance, error) {
	for {
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			return nil, &CallError{Plugin: p.s.name, Export: export, Kind: Closed, Err: ErrClosed}
		}
		if n := len(p.idle); n > 0 {
			inst := p.idle[n-1]
			p.idle[n-1] = nil
			p.idle = p.idle[:n-1]
			if inst.mod.IsClosed() {
				// Closed after its release by the watcher of its last
				// call's deadline (see release): replace it.
				p.live--
				p.mu.Unlock()
				inst.close()
				continue
			}
			p.busy++
			p.mu.Unlock()
			return inst, nil
		}
		if p.live < p.s.poolSize {
			p.live++
			p.busy++
			p.mu.Unlock()
			inst, err := p.newInstance(ctx)
			if err != nil {
				p.mu.Lock()
				p.live--
				p.busy--
				p.signalLocked()
				p.mu.Unlock()
				p.failures.Add(1)
				p.noteCrash()
				p.s.logger.Warn("plugin instance failed to start", "err", err)
				return nil, err
			}
			return inst, nil
		}
		ch := p.waitChanLocked()
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("plugin %q: %s: wait for a free instance: %w", p.s.name, export, ctx.Err())
		}
	}
}

// waitChanLocked returns the channel signalLocked will close next.
func (p *Plugin) waitChanLocked() chan struct{} {
	if p.wake == nil {
		p.wake = make(chan struct{})
	}
	return p.wake
}

// signalLocked wakes everyone waiting for an instance or a free slot (and
// Close waiting for the pool to drain). It allocates nothing when nobody
// waits, which is the steady state.
func (p *Plugin) signalLocked() {
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
}

// release returns a healthy instance after a call. An instance whose memory
// passed HighWater is closed and replaced instead (Go's Wasm memory never
// shrinks), as is every instance once Close has begun.
func (p *Plugin) release(inst *instance) {
	size := uint64(inst.mem.Size())
	p.noteMemory(size)
	// An untrusted call that returned just as its deadline passed can find
	// its module closed afterwards by wazero's watcher (which saw the
	// deadline before the call's end): the answer stands, but the instance
	// is dead and is replaced, never handed to the next call.
	recycle := size > p.s.highWater || inst.mod.IsClosed()
	if cap(inst.scratch) > maxScratch {
		inst.scratch = nil
	}
	p.mu.Lock()
	p.busy--
	closing := p.closing
	if recycle || closing {
		p.live--
		if !closing {
			p.replace++
		}
	} else {
		p.idle = append(p.idle, inst)
	}
	p.signalLocked()
	p.mu.Unlock()
	if recycle {
		p.recycled.Add(1)
		p.s.logger.Debug("plugin instance recycled", "memory_bytes", size, "high_water", p.s.highWater)
	}
	if recycle || closing {
		inst.close()
	}
	if recycle && !closing {
		p.refill()
	}
}

// discard closes an instance whose call failed and starts a refill.
func (p *Plugin) discard(inst *instance, cerr *CallError) {
	p.noteMemory(uint64(inst.mem.Size()))
	p.mu.Lock()
	p.busy--
	p.live--
	closing := p.closing
	if !closing {
		p.replace++
	}
	p.signalLocked()
	p.mu.Unlock()
	inst.close()
	p.discarded.Add(1)
	p.failures.Add(1)
	p.noteCrash()
	p.s.logger.Warn("plugin call failed, instance discarded", "export", cerr.Export, "kind", cerr.Kind.String(), "err", cerr.Err)
	if cerr.Stderr != "" {
		p.s.logger.Debug("plugin instance output", "export", cerr.Export, "stderr", cerr.Stderr)
	}
	if !closing {
		p.refill()
	}
}

// refill starts, unless one runs already, a background goroutine that
// replaces discarded and recycled instances and tops the pool up to MinIdle
// idle instances, never creating more than PoolSize. The caller has counted
// the instance it closed in p.replace.
func (p *Plugin) refill() {
	p.mu.Lock()
	if p.refilling || p.closing {
		p.mu.Unlock()
		return
	}
	p.refilling = true
	p.refills.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.refills.Done()
		for {
			p.mu.Lock()
			if p.closing || p.live >= p.s.poolSize || (p.replace == 0 && len(p.idle) >= p.s.minIdle) {
				// At PoolSize, callers grow the pool on demand instead.
				p.replace = 0
				p.refilling = false
				p.mu.Unlock()
				return
			}
			p.replace = max(p.replace-1, 0)
			p.live++
			p.mu.Unlock()

			inst, err := p.newInstance(context.Background())

			p.mu.Lock()
			if err != nil || p.closing {
				closing := p.closing
				p.live--
				p.replace = 0
				p.refilling = false
				p.signalLocked()
				p.mu.Unlock()
				switch {
				case err == nil:
					inst.close()
				case !closing:
					p.noteCrash()
					p.s.logger.Warn("plugin pool refill failed", "err", err)
				}
				return
			}
			p.idle = append(p.idle, inst)
			p.signalLocked()
			p.mu.Unlock()
		}
	}()
}
