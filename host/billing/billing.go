// Package billing charges model calls exactly, through a billing policy
// plugin (Wasm, like the providers) and the store's double-entry ledger.
//
// The flow of one call: before the upstream request, the policy quotes the
// worst case on each of the call's targets (quote), the Biller holds the
// largest quote on the caller's account, atomically against its balance, or
// refuses with 402 insufficient_quota; after the call the policy prices the
// actual usage (settle), and the hold is captured up to that amount and the
// rest released. A call that delivered nothing releases everything.
//
// # Balances
//
// The Biller keeps each account's available balance in memory and decides
// holds there, under a per-account lock: concurrent calls can never spend
// more than the account has, and the decision costs no database round trip.
// Ledger operations are written by one writer goroutine, batched into one
// transaction (group commit). Changes made by other processes (a
// grant from the CLI) are noticed by comparing the database balance with the
// balance this process expects, while no write of its own is in flight.
//
// # Durability
//
// With Options.Strict ("durability = strict"), a call's hold is committed
// before its upstream request is sent, and its settlement is committed
// before its final bytes are sent: every response a client saw complete is
// in the ledger, even if the hub is killed a moment later. Holds of calls
// cut short by a crash are released at the next start (Recover).
// By default ("batched") a hold lives in memory only, and each call is
// written once, as one charge, queued and committed in batches within a few
// milliseconds: much cheaper, still atomic per batch, and balances are
// never overdrawn because the decision is made in memory first. With
// Options.RecordCarries (as the hub runs) the charge rides with the call
// record, in the call recorder's transaction, so billing adds no commit of
// its own; and a call whose client is not told its cost is settled there
// too (SettleLater): the recorder runs the policy's settle for each call of
// a batch, one after another, before writing them, off the requests' path.
// Until then the hold is held; Begin waits for those settlements
// (Options.FlushRecords) before refusing a call for want of credit. A crash
// loses at most the charges still queued (the calls of the last few
// milliseconds go unbilled, never double-billed); the ledger stays
// consistent.
package billing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// Policy is a billing policy plugin; *runtime.Plugin implements it.
type Policy interface {
	Quote(ctx context.Context, in *abi.QuoteIn) (abi.QuoteOut, error)
	Settle(ctx context.Context, in *abi.SettleIn) (abi.SettleOut, error)
}

// A Pinner is a Policy that can be replaced while the hub runs (a plugin
// reload): Pin returns the version serving now, held until unpin is
// called, so that a call is quoted and settled by the same version.
type Pinner interface {
	Pin() (p Policy, unpin func())
}

// Store is what the Biller needs from the database.
type Store interface {
	ApplyLedger(ctx context.Context, ops []store.LedgerOp) ([]store.LedgerResult, error)
	Balances(ctx context.Context, ids []int64) (map[int64]store.AccountBalance, error)
	ChargedSince(ctx context.Context, accountID int64, since time.Time) (int64, error)
	ListModelRates(ctx context.Context) ([]store.ModelRate, error)
	OpenHolds(ctx context.Context) ([]store.OpenHold, error)
	Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) (store.LedgerResult, error)
}

var _ Store = (*store.Store)(nil)

// Options configure a Biller. Zero values take the documented defaults.
type Options struct {
	// Store is the ledger. Required.
	Store Store
	// Policy prices calls. Required.
	Policy Policy
	// Strict commits each hold before the upstream request and each
	// settlement before the final bytes (see the package doc).
	Strict bool
	// RecordCarries says that, in batched durability, the caller writes
	// each call's charge with its call record: Settle leaves the charge
	// on the proxy.Charge (TakeLedger) for the engine to attach to the
	// store.Call, and the call recorder applies it in the transaction
	// that records the call. Otherwise the Biller's own writer does.
	RecordCarries bool
	// FlushRecords, with RecordCarries, waits until the call records
	// handed to the recorder so far are written: the charges settled late
	// (SettleLater) are settled by then. Begin calls it before refusing a
	// call for want of credit while some of the account's holds wait for
	// their late settlement. Nil: Begin refuses at once.
	FlushRecords func(context.Context) error
	// DefaultMaxOutputTokens is the output assumed by the quote of a
	// request that sets no max_tokens. Zero means 4096.
	DefaultMaxOutputTokens int64
	// MaxQuotedTargets bounds how many of a call's targets are quoted (the
	// hold covers the most expensive of them). Zero means 4.
	MaxQuotedTargets int
	// Linger is how long the writer waits for more operations before it
	// commits a batch. Zero means 2ms with Strict (a call waits for it)
	// and 20ms otherwise (nobody waits; bigger batches mean fewer fsyncs);
	// negative means none.
	Linger time.Duration
	// PollInterval is how often rates and other processes' balance changes
	// are re-read. Zero means 1s.
	PollInterval time.Duration
	// Logger receives ledger failures. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// Biller implements proxy.Billing.
type Biller struct {
	opts Options

	mu       sync.Mutex
	accounts map[int64]*account

	rates atomic.Pointer[map[string]store.ModelRate]

	queue  chan *op
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

var _ proxy.Billing = (*Biller)(nil)

// account is one account's balance as this process sees it.
type account struct {
	id int64
	mu sync.Mutex
	// avail is what calls may still hold: the persisted balance, minus
	// holds and charges queued but not committed, plus releases queued.
	avail int64
	// persisted is the database balance as this process's committed
	// operations left it.
	persisted int64
	// inflight counts operations queued for the writer or carried by a
	// call record not yet committed.
	inflight int
	// commits counts the commits of this process's operations on the
	// account, so that resync can tell whether one happened while it read
	// the database.
	commits uint64
	// day (days since the epoch, UTC) and charged: what the account was
	// charged that day, for policies with daily allowances.
	day     int64
	charged int64
	// late counts the calls whose settlement waits for their call record
	// (SettleLater): their holds are still in avail's reckoning.
	late int
}

// op is one unit of work for the writer: ledger operations applied in one
// transaction, with their effect on the account's persisted balance.
type op struct {
	acct   *account
	ledger []store.LedgerOp
	// persist is the change of the account's balance once committed;
	// availOnCommit is added to avail at commit (grants: not spendable
	// before they are durable).
	persist, availOnCommit int64
	// grant, when set, is written through Store.Grant (audited) instead.
	grant *grantReq
	done  chan error // nil: nobody waits
}

type grantReq struct {
	ctx     context.Context
	amount  int64
	memo    string
	expires time.Time
}

// New returns a Biller; Run must be running for writes to happen.
func New(opts Options) *Biller {
	if opts.DefaultMaxOutputTokens <= 0 {
		opts.DefaultMaxOutputTokens = 4096
	}
	if opts.MaxQuotedTargets <= 0 {
		opts.MaxQuotedTargets = 4
	}
	if opts.Linger == 0 {
		opts.Linger = 20 * time.Millisecond
		if opts.Strict {
			opts.Linger = 2 * time.Millisecond
		}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	b := &Biller{opts: opts, accounts: map[int64]*account{}, queue: make(chan *op, 4096),
		stop: make(chan struct{}), done: make(chan struct{})}
	empty := map[string]store.ModelRate{}
	b.rates.Store(&empty)
	return b
}

// Recover releases the holds that no call will settle: those left by a
// previous process that stopped (or crashed) mid-call. Call it at start,
// before serving.
func (b *Biller) Recover(ctx context.Context) (int, error) {
	holds, err := b.opts.Store.OpenHolds(ctx)
	if err != nil {
		return 0, fmt.Errorf("recover holds: %w", err)
	}
	var ops []store.LedgerOp
	for _, h := range holds {
		if h.Left() <= 0 {
			continue
		}
		ops = append(ops, store.LedgerOp{Kind: store.LedgerRelease, AccountID: h.AccountID, Amount: h.Left(), RequestID: h.RequestID,
			Memo: "released at start: the hub stopped before the call settled"})
	}
	if len(ops) == 0 {
		return 0, nil
	}
	res, err := b.opts.Store.ApplyLedger(ctx, ops)
	if err != nil {
		return 0, fmt.Errorf("recover holds: %w", err)
	}
	for i, r := range res {
		if r.Err != nil {
			return 0, fmt.Errorf("recover hold of request %s: %w", ops[i].RequestID, r.Err)
		}
	}
	return len(ops), nil
}

// LoadRates (re)reads the model rates.
func (b *Biller) LoadRates(ctx context.Context) error {
	rs, err := b.opts.Store.ListModelRates(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]store.ModelRate, len(rs))
	for _, r := range rs {
		m[r.Model] = r
	}
	b.rates.Store(&m)
	return nil
}

// Rates returns the rates in force (re-read every PollInterval), keyed by
// "provider/model" or bare model. The map must not be changed.
func (b *Biller) Rates() map[string]store.ModelRate { return *b.rates.Load() }

// rate finds the rate of provider/model, else of the bare model.
func (b *Biller) rate(provider, model string) abi.Rate {
	m := *b.rates.Load()
	r, ok := m[provider+"/"+model]
	if !ok {
		r, ok = m[model]
	}
	if !ok {
		return abi.Rate{}
	}
	return abi.Rate{Found: true, InputPerM: r.InputPerM, OutputPerM: r.OutputPerM, CachedReadPerM: r.CachedReadPerM,
		CacheWritePerM: r.CacheWritePerM, PerImage: r.PerImage, MinPerCall: r.MinPerCall}
}

func dayOf(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// account returns the account's state, loading it on first use.
func (b *Biller) account(ctx context.Context, id int64) (*account, error) {
	b.mu.Lock()
	a := b.accounts[id]
	if a == nil {
		a = &account{id: id, day: -1}
		b.accounts[id] = a
	}
	b.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.day >= 0 {
		b.rollDay(ctx, a)
		return a, nil
	}
	bals, err := b.opts.Store.Balances(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	bal := bals[id]
	a.avail, a.persisted = bal.Balance, bal.Balance
	now := b.opts.Now()
	a.day = dayOf(now)
	if a.charged, err = b.opts.Store.ChargedSince(ctx, id, time.Unix(a.day*86400, 0)); err != nil {
		a.day = -1
		return nil, err
	}
	return a, nil
}

// rollDay resets the day's charges at midnight UTC. a.mu is held.
func (b *Biller) rollDay(_ context.Context, a *account) {
	if d := dayOf(b.opts.Now()); d != a.day {
		a.day, a.charged = d, 0
	}
}

// estimate returns the quote's inputs from the canonical request body.
func (b *Biller) estimate(c *proxy.Call) (in, maxOut, images int64) {
	// Tokens are about 4 bytes of English but 1 token per character of CJK
	// (3 bytes): a third of the bytes over-estimates safely; the hold is
	// only a bound, settled to the exact usage.
	in = (int64(len(c.Body)) + 2) / 3
	if c.Limits.Known && c.API == abi.APIChatCompletions {
		// Read by the server while it validated the body.
		maxOut = c.Limits.MaxOutputTokens
		if maxOut <= 0 {
			maxOut = b.opts.DefaultMaxOutputTokens
		}
		return in, maxOut, 0
	}
	r := gjson.GetManyBytes(c.Body, "max_completion_tokens", "max_tokens", "n")
	switch {
	case r[0].Type == gjson.Number && r[0].Int() > 0:
		maxOut = r[0].Int()
	case r[1].Type == gjson.Number && r[1].Int() > 0:
		maxOut = r[1].Int()
	default:
		maxOut = b.opts.DefaultMaxOutputTokens
	}
	if c.API == abi.APIImages {
		images = 1
		if r[2].Type == gjson.Number && r[2].Int() > 0 {
			images = r[2].Int()
		}
		maxOut = 0
	}
	if c.API == abi.APIEmbeddings {
		maxOut = 0
	}
	return in, maxOut, images
}

// errInsufficient is the 402 for a balance that cannot cover the hold.
func errInsufficient(need, have int64) *apierr.Error {
	return &apierr.Error{Status: 402, Type: "insufficient_quota", Code: "insufficient_quota",
		Message: fmt.Sprintf("Your account's credit balance (%s) does not cover this request's worst case (%s). Add credits or lower max_tokens.",
			formatCredits(have), formatCredits(need))}
}

func formatCredits(v int64) string {
	neg := v < 0
	if neg {
		v = -v
	}
	s := fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if neg {
		s = "-" + s
	}
	return s + " credits"
}

// Begin implements proxy.Billing: quote every target (up to
// MaxQuotedTargets), drop the ones the policy will not price, and hold the
// largest quote.
func (b *Biller) Begin(ctx context.Context, c *proxy.Call, targets []proxy.Target) (proxy.Charge, []proxy.Target, *apierr.Error) {
	a, err := b.account(ctx, c.Key.AccountID)
	if err != nil {
		return nil, nil, apierr.Internal(fmt.Errorf("load account %d: %w", c.Key.AccountID, err))
	}
	in, maxOut, images := b.estimate(c)
	now := b.opts.Now()
	pol, unpin := b.opts.Policy, func() {}
	if p, ok := pol.(Pinner); ok {
		pol, unpin = p.Pin()
	}
	ok := false
	defer func() {
		if !ok {
			unpin()
		}
	}()
	a.mu.Lock()
	avail, charged := a.avail, a.charged
	a.mu.Unlock()
	// One allocation for the call's billing state: the charge holds the
	// policy's input records and, for the usual one or two targets, the
	// rates quoted.
	ch := &charge{b: b, a: a, c: c, at: now, pol: pol, unpin: unpin}
	quoted := min(len(targets), b.opts.MaxQuotedTargets)
	ch.rates = ch.rates0[:0]
	var allowed []proxy.Target
	var refusal *apierr.Error
	qin := &ch.qin
	for i, t := range targets[:quoted] {
		rate := b.rate(t.Provider.Name, t.Model)
		ch.rates = append(ch.rates, quotedRate{t.Provider.Name, t.Model, rate})
		*qin = abi.QuoteIn{AccountID: c.Key.AccountID, KeyID: c.Key.ID, API: c.API,
			Provider: t.Provider.Name, Model: t.Model, RequestedModel: c.Model, EstInputTokens: in, MaxOutputTokens: maxOut,
			Images: images, UnixMS: now.UnixMilli(), Rate: rate, Balance: avail, ChargedToday: charged}
		q, err := pol.Quote(ctx, qin)
		if err != nil {
			return nil, nil, &apierr.Error{Status: 500, Type: apierr.TypeServer, Code: "billing_failed",
				Message: "The hub's billing policy failed; the call was not made.", Cause: err}
		}
		if !q.Allow {
			if refusal == nil {
				refusal = policyRefusal(q, c.Model)
			}
			if allowed == nil {
				allowed = append(make([]proxy.Target, 0, quoted), targets[:i]...) // those allowed so far
			}
			continue
		}
		if allowed != nil {
			allowed = append(allowed, t)
		}
		ch.hold = max(ch.hold, q.Hold)
	}
	if allowed == nil {
		allowed = targets[:quoted:quoted] // every target quoted is allowed
	}
	if len(allowed) == 0 {
		return nil, nil, refusal
	}
	hold := ch.hold
	if hold > 0 {
		a.mu.Lock()
		if a.avail < hold && a.late > 0 && b.opts.FlushRecords != nil {
			// Holds of finished calls may be what is missing: let their
			// late settlements run, then look again.
			a.mu.Unlock()
			if err := b.opts.FlushRecords(ctx); err != nil {
				b.opts.Logger.Warn("billing: wait for late settlements", "account", a.id, "err", err)
			}
			a.mu.Lock()
		}
		if a.avail < hold {
			have := a.avail
			a.mu.Unlock()
			return nil, nil, errInsufficient(hold, have)
		}
		a.avail -= hold
		if !b.opts.Strict {
			// Batched: the hold lives in memory only (a crash forgets it
			// with the call); the call is written once, as a charge.
			a.mu.Unlock()
			ok = true
			return ch, allowed, nil
		}
		a.inflight++
		a.mu.Unlock()
		err := b.enqueue(ctx, &op{acct: a, persist: -hold,
			ledger: []store.LedgerOp{{Kind: store.LedgerHold, AccountID: a.id, Amount: hold, RequestID: c.RequestID, Memo: c.Model}}}, true)
		if err != nil {
			return nil, nil, &apierr.Error{Status: 503, Type: apierr.TypeUnavailable, Message: "The hub could not record the credit hold; try again.", Retryable: true, Cause: err}
		}
		ch.written = true
	}
	ok = true
	return ch, allowed, nil
}

func policyRefusal(q abi.QuoteOut, model string) *apierr.Error {
	msg := q.Reason
	if q.Code == "unpriced_model" {
		if msg == "" {
			msg = "The model `" + model + "` has no price set; ask an administrator to set its rate."
		}
		return &apierr.Error{Status: 400, Type: apierr.TypeInvalidRequest, Code: "unpriced_model", Param: "model", Message: msg}
	}
	if msg == "" {
		msg = "The billing policy refused this call."
	}
	code := q.Code
	if code == "" {
		code = "policy_denied"
	}
	return &apierr.Error{Status: 403, Type: apierr.TypePermission, Code: code, Message: msg}
}

// quotedRate is the rate a call was quoted at on one target.
type quotedRate struct {
	provider, model string
	rate            abi.Rate
}

// charge is one call's hold. A call is settled at its quote's time and
// rates, so a price change (or a night tariff ending) while it runs does
// not change what it costs.
type charge struct {
	b     *Biller
	a     *account
	c     *proxy.Call
	hold  int64
	at    time.Time
	rates []quotedRate
	// rates0 backs rates for up to two targets; qin and sin are the
	// policy's input records.
	rates0 [2]quotedRate
	qin    abi.QuoteIn
	sin    abi.SettleIn
	// ledger0 backs the ledger operations of a batched settlement, and
	// op carries them to the writer or the call record.
	ledger0 [1]store.LedgerOp
	op      op
	// written says the hold is in the ledger (strict durability); else
	// it is in memory only and the call is written as one charge.
	written bool
	// carried is the charge for the call record to carry (see
	// Options.RecordCarries), until TakeLedger takes it.
	carried *store.LedgerAttachment
	// pol is the policy version that quoted the call, which settles it;
	// unpin lets it go (see Pinner), once.
	pol   Policy
	unpin func()
	// settleLate says the call is settled late (SettleLater), with late.
	settleLate bool
	late       lateSettle
}

// done lets the policy version go: the call is settled or released.
func (ch *charge) done() {
	if ch.unpin != nil {
		ch.unpin()
		ch.unpin = nil
	}
}

var _ proxy.LedgerCarrier = (*charge)(nil)

// TakeLedger implements proxy.LedgerCarrier: the settled charge, for the
// call record to carry, once.
func (ch *charge) TakeLedger() *store.LedgerAttachment {
	a := ch.carried
	ch.carried = nil
	return a
}

// carry makes o's ledger operations the charge's attachment: applied with
// the call record, or handed to the writer if the record is not written.
func (ch *charge) carry(o *op) {
	b := ch.b
	att := ch.carried // the attachment of a call settled late, else a new one
	if att == nil {
		att = &store.LedgerAttachment{}
		ch.carried = att
	}
	att.Ops, att.Done = o.ledger, func(res []store.LedgerResult, err error) {
		if err != nil {
			// Not recorded: the writer writes it instead, as any other
			// operation (not minted: the lookup finds a charge that was
			// written after all).
			for i := range o.ledger {
				o.ledger[i].Minted = false
			}
			b.enqueue(context.Background(), o, false)
			return
		}
		var refused error
		for _, r := range res {
			if r.Err != nil {
				refused = r.Err
			}
		}
		b.committed(o, refused)
	}
}

var _ proxy.LateSettler = (*charge)(nil)

// lateSettle is what a call settled late is settled with.
type lateSettle struct {
	t                  proxy.Target
	u                  abi.Usage
	estimated, aborted bool
}

// SettleLater implements proxy.LateSettler: in batched durability with
// RecordCarries, the charge keeps the usage and its ledger attachment
// settles it when the call recorder writes the record (prepare), on the
// recorder's goroutine, one call after another: the policy's settle runs
// off the request's path, and warm. The hold stays held until then (at
// most the recorder's linger and a commit); Begin waits for it rather than
// refuse a call for want of credit it holds.
func (ch *charge) SettleLater(t proxy.Target, u abi.Usage, estimated, aborted bool) bool {
	b, a := ch.b, ch.a
	if ch.written || !b.opts.RecordCarries || ch.settleLate {
		return false
	}
	ch.settleLate, ch.late = true, lateSettle{t: t, u: u, estimated: estimated, aborted: aborted}
	a.mu.Lock()
	a.late++
	a.mu.Unlock()
	att := &store.LedgerAttachment{}
	att.Prepare = func() int64 { return ch.prepare(att) }
	ch.carried = att
	return true
}

// prepare settles a call settled late into att, the attachment its record
// carries, and returns the amount charged.
func (ch *charge) prepare(att *store.LedgerAttachment) int64 {
	l := &ch.late
	ch.carried = att // Settle's carry fills it in
	amount, err := ch.Settle(context.Background(), l.t, l.u, l.estimated, l.aborted)
	if err != nil {
		ch.b.opts.Logger.Error("billing: late settlement", "request_id", ch.c.RequestID, "err", err)
	}
	ch.carried = nil
	ch.a.mu.Lock()
	ch.a.late--
	ch.a.mu.Unlock()
	return amount
}

// Settle implements proxy.Charge.
func (ch *charge) Settle(ctx context.Context, t proxy.Target, u abi.Usage, estimated, aborted bool) (int64, error) {
	b, a := ch.b, ch.a
	a.mu.Lock()
	b.rollDay(ctx, a)
	charged := a.charged
	a.mu.Unlock()
	rate, ok := abi.Rate{}, false
	for _, q := range ch.rates {
		if q.provider == t.Provider.Name && q.model == t.Model {
			rate, ok = q.rate, true
			break
		}
	}
	if !ok {
		rate = b.rate(t.Provider.Name, t.Model)
	}
	defer ch.done()
	ch.sin = abi.SettleIn{AccountID: a.id, KeyID: ch.c.Key.ID, API: ch.c.API, Provider: t.Provider.Name,
		Model: t.Model, RequestedModel: ch.c.Model, UnixMS: ch.at.UnixMilli(), Rate: rate,
		ChargedToday: charged, Held: ch.hold, Usage: u, Estimated: estimated, Aborted: aborted}
	so, err := ch.pol.Settle(ctx, &ch.sin)
	if err != nil {
		// A policy that fails cannot price the call: nothing is charged
		// (the hold is released), and the failure is logged loudly.
		b.opts.Logger.Error("billing policy failed to settle; the call is not charged", "request_id", ch.c.RequestID, "err", err)
		ch.Release(ctx)
		return 0, nil
	}
	amount := max(so.Amount, 0)
	capture := min(amount, ch.hold)
	release := ch.hold - capture
	extra := amount - capture
	detail := lineItems(so.Items)
	memo := t.Provider.Name + "/" + t.Model
	a.mu.Lock()
	a.avail += release
	if extra > 0 {
		// The call used more than its worst case was quoted for (a model
		// that ignored max_tokens): charge the excess from what is left,
		// never below zero.
		take := min(extra, max(a.avail, 0))
		if take < extra {
			b.opts.Logger.Warn("call cost more than the account had left; the shortfall is not charged", "request_id", ch.c.RequestID,
				"account", a.id, "shortfall", extra-take)
		}
		a.avail -= take
		extra = take
		amount = capture + take
	}
	ledger := ch.ledger0[:0]
	var persist int64
	if ch.written {
		if capture > 0 {
			ledger = append(ledger, store.LedgerOp{Kind: store.LedgerCapture, AccountID: a.id, Amount: capture, RequestID: ch.c.RequestID, Memo: memo, Detail: detail})
		}
		if release > 0 {
			ledger = append(ledger, store.LedgerOp{Kind: store.LedgerRelease, AccountID: a.id, Amount: release, RequestID: ch.c.RequestID})
		}
		persist = release
		if extra > 0 {
			// Its own request id: a request has one capture, and this
			// charge comes on top of it.
			ledger = append(ledger, store.LedgerOp{Kind: store.LedgerCharge, AccountID: a.id, Amount: extra, RequestID: ch.c.RequestID + "#over",
				Memo: "usage over the quoted worst case"})
			persist -= extra
		}
	} else if amount > 0 {
		ledger = append(ledger, store.LedgerOp{Kind: store.LedgerCharge, AccountID: a.id, Amount: amount, RequestID: ch.c.RequestID, Memo: memo, Detail: detail})
		persist = -amount
	}
	// The day's total counts each call's value before discounts (ABI.md
	// §9), so a free allowance runs out.
	value := amount
	var listed int64
	for _, it := range so.Items {
		if it.Amount > 0 {
			listed += it.Amount
		}
	}
	a.charged += max(value, listed)
	if len(ledger) > 0 {
		a.inflight++
	}
	a.mu.Unlock()
	if len(ledger) == 0 {
		return amount, nil
	}
	ch.op = op{acct: a, persist: persist, ledger: ledger}
	o := &ch.op
	if !ch.written && b.opts.RecordCarries {
		// The call record carries the charge: its request ID is new and
		// its detail is lineItems' compact JSON.
		o.ledger[0].Minted = true
		ch.carry(o)
		return amount, nil
	}
	if err := b.enqueue(ctx, o, b.opts.Strict); err != nil {
		return amount, err
	}
	return amount, nil
}

// Release implements proxy.Charge.
func (ch *charge) Release(ctx context.Context) {
	ch.done()
	if ch.hold <= 0 {
		return
	}
	a := ch.a
	a.mu.Lock()
	a.avail += ch.hold
	if !ch.written {
		a.mu.Unlock()
		return
	}
	a.inflight++
	a.mu.Unlock()
	ch.b.enqueue(ctx, &op{acct: a, persist: ch.hold,
		ledger: []store.LedgerOp{{Kind: store.LedgerRelease, AccountID: a.id, Amount: ch.hold, RequestID: ch.c.RequestID, Memo: "nothing delivered"}}}, ch.b.opts.Strict)
}

// lineItems encodes the policy's line items as the ledger entry's detail:
// a JSON array of {"name","quantity","amount"}.
func lineItems(items []abi.LineItem) []byte {
	if len(items) == 0 {
		return nil
	}
	out := make([]byte, 0, 64*len(items))
	out = append(out, '[')
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"name":`...)
		out = appendJSONString(out, it.Name)
		out = append(out, `,"quantity":`...)
		out = strconv.AppendInt(out, it.Quantity, 10)
		out = append(out, `,"amount":`...)
		out = strconv.AppendInt(out, it.Amount, 10)
		out = append(out, '}')
	}
	return append(out, ']')
}

// appendJSONString appends s as a JSON string. The name comes from the
// policy plugin, so any byte may be in it: control characters are escaped
// and invalid UTF-8 becomes U+FFFD (Go's %q would write \x01, which is not
// JSON, and the ledger would refuse the charge).
func appendJSONString(out []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	out = append(out, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			out = append(out, '\\', byte(r))
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			out = append(out, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			out = utf8.AppendRune(out, r) // an invalid byte comes as U+FFFD
		}
	}
	return append(out, '"')
}

// Grant adds credits to an account through the writer (so this process's
// view of the balance stays exact), audited with ctx's actor.
func (b *Biller) Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) error {
	if amount <= 0 {
		return errors.New("grant: amount must be positive")
	}
	a, err := b.account(ctx, accountID)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.inflight++
	a.mu.Unlock()
	return b.enqueue(ctx, &op{acct: a, persist: amount, availOnCommit: amount,
		grant: &grantReq{ctx: ctx, amount: amount, memo: memo, expires: expires}}, true)
}

// Balance returns an account's available balance as this process sees it.
func (b *Biller) Balance(ctx context.Context, accountID int64) (int64, error) {
	a, err := b.account(ctx, accountID)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.avail, nil
}

var errClosed = errors.New("billing: closed")

// enqueue hands o to the writer and, when wait, waits for its commit.
func (b *Biller) enqueue(ctx context.Context, o *op, wait bool) error {
	if wait {
		o.done = make(chan error, 1)
	}
	if b.closed.Load() {
		b.commitFailed(o, errClosed)
		return errClosed
	}
	select {
	case b.queue <- o:
	case <-b.done:
		b.commitFailed(o, errClosed)
		return errClosed
	}
	if !wait {
		return nil
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		// The operation is queued and will be written; only the wait ends.
		return ctx.Err()
	}
}

// commitFailed undoes an operation's in-memory effect that never reached
// the writer.
func (b *Biller) commitFailed(o *op, err error) {
	a := o.acct
	a.mu.Lock()
	a.inflight--
	a.avail -= o.persist - o.availOnCommit
	a.mu.Unlock()
	if o.done != nil {
		o.done <- err
	}
}
