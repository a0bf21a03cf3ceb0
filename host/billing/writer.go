package billing

import (
	"context"
	"errors"
	"time"

	"github.com/aignehub/hub/store"
)

// Writer backoff after a failed batch commit.
const (
	minBackoff = 10 * time.Millisecond
	maxBackoff = 2 * time.Second
	maxBatch   = 512
)

// Run writes queued ledger operations until Close, and re-reads rates and
// other processes' balance changes every PollInterval while idle.
func (b *Biller) Run(ctx context.Context) {
	defer close(b.done)
	if err := b.LoadRates(ctx); err != nil {
		b.opts.Logger.Warn("billing: load rates", "err", err)
	}
	tick := time.NewTicker(b.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case o := <-b.queue:
			b.writeBatch(ctx, b.gather(o))
		case <-tick.C:
			b.poll(ctx)
		case <-b.stop:
			// Drain what is queued, then stop.
			for {
				select {
				case o := <-b.queue:
					b.writeBatch(ctx, b.gather(o))
				default:
					return
				}
			}
		}
	}
}

// Close stops the writer after it has written every queued operation.
func (b *Biller) Close(ctx context.Context) error {
	if b.closed.Swap(true) {
		return nil
	}
	close(b.stop)
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// gather takes first and what else arrives within Linger.
func (b *Biller) gather(first *op) []*op {
	batch := []*op{first}
	var timer <-chan time.Time
	if b.opts.Linger > 0 {
		t := time.NewTimer(b.opts.Linger)
		defer t.Stop()
		timer = t.C
	}
	for len(batch) < maxBatch {
		if timer == nil {
			select {
			case o := <-b.queue:
				batch = append(batch, o)
				continue
			default:
			}
			return batch
		}
		select {
		case o := <-b.queue:
			batch = append(batch, o)
		case <-timer:
			return batch
		}
	}
	return batch
}

// writeBatch commits the batch's ledger operations in one transaction
// (retrying the transaction until it commits), then the grants, and
// applies each operation's effect on its account.
func (b *Biller) writeBatch(ctx context.Context, batch []*op) {
	var ledger []store.LedgerOp
	var owners []int // index into batch for each ledger op
	for i, o := range batch {
		for _, l := range o.ledger {
			ledger = append(ledger, l)
			owners = append(owners, i)
		}
	}
	errs := make([]error, len(batch))
	if len(ledger) > 0 {
		wctx := context.WithoutCancel(ctx)
		backoff := minBackoff
		for {
			res, err := b.opts.Store.ApplyLedger(wctx, ledger)
			if err == nil {
				for j, r := range res {
					if r.Err != nil && errs[owners[j]] == nil {
						errs[owners[j]] = r.Err
					}
				}
				break
			}
			b.opts.Logger.Error("billing: ledger commit failed; retrying", "ops", len(ledger), "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			backoff = min(2*backoff, maxBackoff)
		}
	}
	for i, o := range batch {
		if o.grant != nil {
			g := o.grant
			_, errs[i] = b.opts.Store.Grant(context.WithoutCancel(g.ctx), o.acct.id, g.amount, g.memo, g.expires)
		}
	}
	for i, o := range batch {
		if errs[i] != nil {
			b.committed(o, errs[i])
			b.resync(ctx, o.acct)
		} else {
			b.committed(o, nil)
		}
		if o.done != nil {
			o.done <- errs[i]
		}
	}
}

// committed applies o's effect on its account once its transaction has
// committed, or undoes it when the database refused it (err: its balance
// differs from ours, changed by another process; resync corrects it).
func (b *Biller) committed(o *op, err error) {
	a := o.acct
	if err != nil {
		b.opts.Logger.Error("billing: ledger refused an operation", "account", a.id, "err", err)
	}
	a.mu.Lock()
	a.inflight--
	if err != nil {
		a.avail -= o.persist - o.availOnCommit
	} else {
		a.persisted += o.persist
		a.avail += o.availOnCommit
		a.commits++
	}
	a.mu.Unlock()
}

// poll re-reads rates and reconciles balances changed by other processes.
func (b *Biller) poll(ctx context.Context) {
	if err := b.LoadRates(ctx); err != nil && ctx.Err() == nil {
		b.opts.Logger.Warn("billing: reload rates", "err", err)
	}
	b.mu.Lock()
	accts := make([]*account, 0, len(b.accounts))
	for _, a := range b.accounts {
		accts = append(accts, a)
	}
	b.mu.Unlock()
	for _, a := range accts {
		b.resync(ctx, a)
	}
}

// resync folds a change made by another process into the account: the
// difference between the database balance and the balance this process's
// own commits account for. It counts only while none of the account's
// operations is in flight and none committed while it read the database
// (commits are made by the writer and by the call recorder), so the
// comparison is exact.
func (b *Biller) resync(ctx context.Context, a *account) {
	a.mu.Lock()
	idle := a.inflight == 0 && a.day >= 0
	seq := a.commits
	a.mu.Unlock()
	if !idle {
		return
	}
	bals, err := b.opts.Store.Balances(ctx, []int64{a.id})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			b.opts.Logger.Warn("billing: read balance", "account", a.id, "err", err)
		}
		return
	}
	bal := bals[a.id].Balance
	a.mu.Lock()
	if a.inflight == 0 && a.commits == seq && bal != a.persisted {
		a.avail += bal - a.persisted
		a.persisted = bal
	}
	a.mu.Unlock()
}
