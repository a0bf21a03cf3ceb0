package limits

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Limits are one API key's limits. Zero (or a negative value) means
// unlimited.
type Limits struct {
	// RPM is the most requests admitted in the last 60 seconds.
	RPM int
	// TPM is the tokens (input + output, as the upstream reported them) at
	// or above which, summed over the last 60 seconds, requests are refused.
	TPM int
	// Concurrency is the most requests in flight at once.
	Concurrency int
}

// Options configure a Limiter.
type Options struct {
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// IdleTTL is how long a key must go unused (no Acquire, no Release, no
	// request in flight) before its state is dropped. Zero means 10 minutes.
	// Values under the 60-second window (negative ones included) are
	// raised to it, so dropping a key's state never forgets a request
	// still in its window.
	IdleTTL time.Duration
}

// Limit names, as Refusal.Limit reports them.
const (
	LimitRPM         = "rpm"
	LimitTPM         = "tpm"
	LimitConcurrency = "concurrency"
)

// ConcurrencyRetryAfter is the RetryAfter hint of a concurrency refusal: a
// slot frees when some request of the key finishes, which cannot be
// predicted.
const ConcurrencyRetryAfter = time.Second

// Refusal says which limit refused a request and when to retry. Its Error
// text is safe to show to the client.
type Refusal struct {
	// Limit is LimitRPM, LimitTPM or LimitConcurrency.
	Limit string
	// Max is the limit's value.
	Max int
	// RetryAfter is when the request would be admitted if nothing else
	// happened meanwhile: always > 0, rounded up to whole seconds. For
	// concurrency it is only a hint (ConcurrencyRetryAfter).
	RetryAfter time.Duration
}

// Error is the client-facing message, such as "rate limit reached for
// requests per minute (limit 60): retry in 12s".
func (r *Refusal) Error() string {
	var what string
	switch r.Limit {
	case LimitRPM:
		what = "requests per minute"
	case LimitTPM:
		what = "tokens per minute"
	case LimitConcurrency:
		what = "concurrent requests"
	default:
		what = r.Limit
	}
	return fmt.Sprintf("rate limit reached for %s (limit %d): retry in %ds", what, r.Max, int64(r.RetryAfter/time.Second))
}

// Snapshot is a key's current use, for the admin API.
type Snapshot struct {
	// Requests admitted and Tokens released in the window (the last 60
	// seconds, at the window's one-second precision).
	Requests, Tokens int64
	// InFlight is the number of permits not yet released.
	InFlight int
}

const (
	// window is the length of the sliding window, in one-second buckets.
	window = 60
	// numShards is the number of independently locked parts of the key
	// map. A power of two.
	numShards = 256
	// shardBits is log2(numShards).
	shardBits = 8
	// rebuildMin is the peak size below which a shard's map is not rebuilt
	// after a sweep: small maps are not worth the copy.
	rebuildMin = 64
)

// Limiter enforces Limits per API key in memory. It is safe for concurrent
// use. The zero value is not usable: call New.
type Limiter struct {
	now     func() time.Time // Options.Now; nil for the monotonic clock
	start   time.Time        // when New ran, with its monotonic reading
	startNs int64            // start as Unix ns
	ttlSec  int64            // idle seconds after which a key's state is dropped
	// sweepStep is the time between two shard sweeps, in ns: every shard
	// is swept once per ttl/2.
	sweepStep int64
	nextSweep atomic.Int64 // Unix ns at which the next shard is due
	cursor    atomic.Uint32
	shards    [numShards]shard
}

// shard is one part of the key map, with its own lock.
type shard struct {
	mu   sync.Mutex
	m    map[int64]*keyState
	peak int            // largest len(m) since the map was last (re)built
	_    [128 - 24]byte // a shard per 128 bytes: no false sharing between shards
}

// keyState is one key's windows and in-flight count, guarded by its
// shard's lock. Bucket i of req and tok holds the second s with
// s mod 60 == i, for s in (head-60, head]; older seconds are zero.
type keyState struct {
	head     int64 // Unix second of the newest bucket
	last     int64 // Unix second of the last Acquire or Release
	reqSum   int64 // sum of req
	tokSum   int64 // sum of tok
	inFlight int
	req      [window]uint32
	tok      [window]int64
}

// New returns a Limiter.
func New(opts Options) *Limiter {
	l := &Limiter{now: opts.Now, start: time.Now()}
	l.startNs = l.start.UnixNano()
	ttl := opts.IdleTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	if ttl < window*time.Second {
		ttl = window * time.Second
	}
	l.ttlSec = int64((ttl + time.Second - 1) / time.Second)
	l.sweepStep = int64(ttl/2) / numShards
	for i := range l.shards {
		l.shards[i].m = make(map[int64]*keyState)
	}
	l.nextSweep.Store(l.clock() + l.sweepStep)
	return l
}

// clock is the current time in Unix ns. Without Options.Now it is read
// from the monotonic clock, which costs half a time.Now and cannot go
// back: the wall time at New plus the monotonic time since.
func (l *Limiter) clock() int64 {
	if l.now != nil {
		return l.now().UnixNano()
	}
	return l.startNs + int64(time.Since(l.start))
}

// shardOf spreads key IDs (often small and consecutive) over the shards.
func (l *Limiter) shardOf(keyID int64) *shard {
	return &l.shards[(uint64(keyID)*0x9E3779B97F4A7C15)>>(64-shardBits)]
}

// Permit is an admitted request. Release it exactly once when the request
// ends.
type Permit struct {
	l        *Limiter
	sh       *shard
	st       *keyState
	released atomic.Bool
}

// Acquire admits a request of key keyID under lim, or says why not. It
// checks concurrency, then RPM, then TPM; an admitted request counts
// against RPM and holds a concurrency slot until its Permit is released. A
// refused call changes nothing.
func (l *Limiter) Acquire(keyID int64, lim Limits) (*Permit, *Refusal) {
	now := l.clock()
	sec := floorDiv(now, int64(time.Second))
	sh := l.shardOf(keyID)

	sh.mu.Lock()
	st := sh.m[keyID]
	if st == nil {
		st = &keyState{head: sec, last: sec}
		sh.m[keyID] = st
		if len(sh.m) > sh.peak {
			sh.peak = len(sh.m)
		}
	}
	now, sec = st.advance(now, sec)
	if r := st.check(now, lim); r != nil {
		sh.mu.Unlock()
		return nil, r
	}
	st.req[mod(sec)]++
	st.reqSum++
	st.inFlight++
	st.last = sec
	sh.mu.Unlock()

	if now >= l.nextSweep.Load() {
		l.sweep(now, sec)
	}
	return &Permit{l: l, sh: sh, st: st}, nil
}

// check returns the first limit of lim that st's current use reaches.
func (st *keyState) check(now int64, lim Limits) *Refusal {
	if lim.Concurrency > 0 && st.inFlight >= lim.Concurrency {
		return &Refusal{Limit: LimitConcurrency, Max: lim.Concurrency, RetryAfter: ConcurrencyRetryAfter}
	}
	if lim.RPM > 0 && st.reqSum >= int64(lim.RPM) {
		return &Refusal{Limit: LimitRPM, Max: lim.RPM, RetryAfter: retryAfter(&st.req, st.head, now, int64(lim.RPM), st.reqSum)}
	}
	if lim.TPM > 0 && st.tokSum >= int64(lim.TPM) {
		return &Refusal{Limit: LimitTPM, Max: lim.TPM, RetryAfter: retryAfter(&st.tok, st.head, now, int64(lim.TPM), st.tokSum)}
	}
	return nil
}

// retryAfter is the time from now until the sum of window w, whose newest
// second is head and whose sum (>= max) is sum, drops below max, rounded up
// to whole seconds. The bucket of second s leaves the window at s+60.
func retryAfter[T uint32 | int64](w *[window]T, head, now, max, sum int64) time.Duration {
	for s := head - window + 1; s <= head; s++ {
		sum -= int64(w[mod(s)])
		if sum < max {
			return ceilSeconds((s+window)*int64(time.Second) - now)
		}
	}
	return time.Second // unreachable: the window's buckets add up to sum
}

// advance moves the window to second sec, dropping the buckets that left
// it. A clock that went back is taken as still at the newest second seen:
// the returned now and sec are never before st.head.
func (st *keyState) advance(now, sec int64) (int64, int64) {
	if sec <= st.head {
		if sec < st.head {
			return st.head * int64(time.Second), st.head
		}
		return now, sec
	}
	if sec-st.head >= window {
		st.req, st.tok = [window]uint32{}, [window]int64{}
		st.reqSum, st.tokSum = 0, 0
	} else {
		for s := st.head + 1; s <= sec; s++ {
			i := mod(s)
			st.reqSum -= int64(st.req[i])
			st.tokSum -= st.tok[i]
			st.req[i], st.tok[i] = 0, 0
		}
	}
	st.head = sec
	return now, sec
}

// Release ends the permit's request: it frees the concurrency slot and
// adds tokens (input + output) to the key's TPM window at the current time.
// Only the first call has an effect; a nil Permit is ignored.
func (p *Permit) Release(tokens int64) {
	if p == nil || !p.released.CompareAndSwap(false, true) {
		return
	}
	now := p.l.clock()
	sec := floorDiv(now, int64(time.Second))
	p.sh.mu.Lock()
	st := p.st
	_, sec = st.advance(now, sec)
	if tokens > 0 {
		st.tok[mod(sec)] += tokens
		st.tokSum += tokens
	}
	st.inFlight--
	st.last = sec
	p.sh.mu.Unlock()
}

// Usage returns key keyID's current use. A key without state (never seen,
// or evicted) has a zero Snapshot.
func (l *Limiter) Usage(keyID int64) Snapshot {
	now := l.clock()
	sec := floorDiv(now, int64(time.Second))
	sh := l.shardOf(keyID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.m[keyID]
	if st == nil {
		return Snapshot{}
	}
	st.advance(now, sec)
	return Snapshot{Requests: st.reqSum, Tokens: st.tokSum, InFlight: st.inFlight}
}

// sweep drops idle key state from the shards now due, one shard per
// sweepStep in turn, so that every shard is swept once per IdleTTL/2 while
// requests arrive. After a lull it catches up, at most one full round. The
// caller holds no shard lock.
func (l *Limiter) sweep(now, sec int64) {
	next := l.nextSweep.Load()
	if now < next {
		return
	}
	due := (now-next)/l.sweepStep + 1
	if due > numShards {
		due = numShards
	}
	after := next + due*l.sweepStep // keeps the cadence
	if after <= now {
		after = now + l.sweepStep // capped after a lull
	}
	if !l.nextSweep.CompareAndSwap(next, after) {
		return // another call took this turn
	}
	end := l.cursor.Add(uint32(due))
	for i := end - uint32(due); i != end; i++ {
		l.shards[i%numShards].sweep(sec - l.ttlSec)
	}
}

// sweep drops the state of keys with no request in flight whose last use
// is at or before second idleBefore, and rebuilds the map once it holds a
// quarter of its peak, since a Go map keeps its memory after deletes.
func (sh *shard) sweep(idleBefore int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for id, st := range sh.m {
		if st.inFlight == 0 && st.last <= idleBefore {
			delete(sh.m, id)
		}
	}
	if sh.peak >= rebuildMin && len(sh.m) <= sh.peak/4 {
		m := make(map[int64]*keyState, len(sh.m))
		for id, st := range sh.m {
			m[id] = st
		}
		sh.m = m
		sh.peak = len(m)
	}
}

// keys is the number of keys with state, for tests.
func (l *Limiter) keys() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func mod(s int64) int {
	i := s % window
	if i < 0 {
		i += window
	}
	return int(i)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// ceilSeconds rounds d ns up to whole seconds, at least one.
func ceilSeconds(d int64) time.Duration {
	s := (d + int64(time.Second) - 1) / int64(time.Second)
	if s < 1 {
		s = 1
	}
	return time.Duration(s) * time.Second
}
