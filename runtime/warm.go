package runtime

import (
	"context"
	"fmt"
)

// Warm instantiates idle instances until n exist (at most PoolSize), so that
// the first calls after a hot swap do not pay for instantiation. Instances
// past MinIdle stay in the pool like any other; the pool never shrinks on
// its own, as before. It returns the first instantiation error; the
// instances made before it stay. Warm on a closed plugin returns a
// *CallError of Kind Closed.
func (p *Plugin) Warm(ctx context.Context, n int) error {
	n = min(n, p.s.poolSize)
	for {
		p.mu.Lock()
		if p.closing {
			p.mu.Unlock()
			return &CallError{Plugin: p.s.name, Export: "_initialize", Kind: Closed, Err: ErrClosed}
		}
		if p.live >= n {
			p.mu.Unlock()
			return nil
		}
		p.live++
		p.mu.Unlock()
		if err := ctx.Err(); err != nil {
			p.mu.Lock()
			p.live--
			p.signalLocked()
			p.mu.Unlock()
			return fmt.Errorf("warm plugin %q: %w", p.s.name, err)
		}
		inst, err := p.newInstance(ctx)
		p.mu.Lock()
		if err != nil || p.closing {
			p.live--
			p.signalLocked()
			p.mu.Unlock()
			if err != nil {
				p.failures.Add(1)
				p.noteCrash()
				return err
			}
			inst.close()
			return &CallError{Plugin: p.s.name, Export: "_initialize", Kind: Closed, Err: ErrClosed}
		}
		p.idle = append(p.idle, inst)
		p.signalLocked()
		p.mu.Unlock()
	}
}
