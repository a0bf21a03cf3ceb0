package limits

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// base is a whole Unix second: offsets from it say where in a second an
// event falls.
var base = time.Unix(1_700_000_000, 0)

// fakeClock is a clock the test moves; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(base.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Set puts the clock at base + off.
func (c *fakeClock) Set(off time.Duration) { c.ns.Store(base.Add(off).UnixNano()) }

func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func newLimiter(c *fakeClock) *Limiter { return New(Options{Now: c.Now}) }

func mustAcquire(t *testing.T, l *Limiter, key int64, lim Limits) *Permit {
	t.Helper()
	p, r := l.Acquire(key, lim)
	if r != nil {
		t.Fatalf("Acquire(%d, %+v) refused: %v", key, lim, r)
	}
	if p == nil {
		t.Fatalf("Acquire(%d, %+v): nil permit and nil refusal", key, lim)
	}
	return p
}

func mustRefuse(t *testing.T, l *Limiter, key int64, lim Limits, limit string, retry time.Duration) {
	t.Helper()
	p, r := l.Acquire(key, lim)
	if r == nil {
		p.Release(0)
		t.Fatalf("Acquire(%d, %+v) admitted, want %s refusal", key, lim, limit)
	}
	if p != nil {
		t.Fatalf("Acquire(%d, %+v): refusal with a permit", key, lim)
	}
	want := map[string]int{LimitRPM: lim.RPM, LimitTPM: lim.TPM, LimitConcurrency: lim.Concurrency}[limit]
	if r.Limit != limit || r.Max != want || (retry > 0 && r.RetryAfter != retry) {
		t.Fatalf("Acquire(%d, %+v) = %+v, want {Limit:%s Max:%d RetryAfter:%v}", key, lim, *r, limit, want, retry)
	}
	if r.RetryAfter <= 0 || r.RetryAfter%time.Second != 0 {
		t.Fatalf("RetryAfter %v: want > 0, whole seconds", r.RetryAfter)
	}
}

func TestRPM(t *testing.T) {
	const s = time.Second
	for _, tc := range []struct {
		name     string
		rpm      int
		at       []time.Duration // offsets of the admitted requests
		refuseAt time.Duration   // offset of the refused one
		free     time.Duration   // first offset at which one more is admitted
	}{
		{"burst at a second's start", 3, []time.Duration{0, 0, 0}, 0, 60 * s},
		{"burst mid-second", 3, []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond}, 700 * time.Millisecond, 60 * s},
		{"spread", 3, []time.Duration{0, 10 * s, 20500 * time.Millisecond}, 30250 * time.Millisecond, 60 * s},
		{"limit 1 at a second's end", 1, []time.Duration{59900 * time.Millisecond}, 59950 * time.Millisecond, 119 * s},
		{"earlier requests already left", 2, []time.Duration{0, 45 * s}, 50 * s, 60 * s},
		{"refused long after", 2, []time.Duration{5 * s, 5 * s}, 64*s + 999*time.Millisecond, 65 * s},
		{"sixty", 60, func() (at []time.Duration) {
			for i := range 60 {
				at = append(at, time.Duration(i)*s)
			}
			return at
		}(), 59 * s, 60 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := newLimiter(c)
			lim := Limits{RPM: tc.rpm}
			for _, off := range tc.at {
				c.Set(off)
				mustAcquire(t, l, 1, lim).Release(0)
			}
			c.Set(tc.refuseAt)
			retry := (tc.free - tc.refuseAt + time.Second - 1).Truncate(time.Second)
			mustRefuse(t, l, 1, lim, LimitRPM, retry)
			c.Set(tc.free - time.Nanosecond)
			mustRefuse(t, l, 1, lim, LimitRPM, time.Second)
			if got := l.Usage(1).Requests; got != int64(tc.rpm) {
				t.Fatalf("Usage.Requests = %d, want %d", got, tc.rpm)
			}
			c.Set(tc.free)
			mustAcquire(t, l, 1, lim).Release(0)
			// Waiting RetryAfter from the refusal also admits.
			c2 := newClock()
			l2 := newLimiter(c2)
			for _, off := range tc.at {
				c2.Set(off)
				mustAcquire(t, l2, 1, lim).Release(0)
			}
			c2.Set(tc.refuseAt)
			_, r := l2.Acquire(1, lim)
			c2.Add(r.RetryAfter)
			mustAcquire(t, l2, 1, lim).Release(0)
		})
	}
}

// TestRPMExactPerWindow admits exactly RPM requests per window, window
// after window, at every position in the second.
func TestRPMExactPerWindow(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	lim := Limits{RPM: 5}
	c.Set(300 * time.Millisecond)
	for w := range 4 {
		admitted := 0
		for range 20 {
			if p, r := l.Acquire(7, lim); r == nil {
				admitted++
				p.Release(0)
			}
		}
		if admitted != 5 {
			t.Fatalf("window %d: admitted %d, want 5", w, admitted)
		}
		c.Add(time.Minute)
	}
}

func TestTPM(t *testing.T) {
	const s = time.Second
	type release struct {
		at     time.Duration
		tokens int64
	}
	for _, tc := range []struct {
		name     string
		tpm      int
		releases []release
		refuseAt time.Duration
		free     time.Duration
	}{
		{"one bucket reaches", 1000, []release{{0, 1000}}, 10 * s, 60 * s},
		{"two buckets reach", 1000, []release{{0, 600}, {5 * s, 400}}, 10 * s, 60 * s},
		{"over by much", 100, []release{{2500 * time.Millisecond, 5000}}, 3 * s, 62 * s},
		{"several buckets must leave", 100, []release{{0, 60}, {10 * s, 60}, {20 * s, 60}}, 30 * s, 70 * s},
		{"zero and negative tokens count nothing", 100, []release{{0, 0}, {1 * s, -50}, {2 * s, 100}}, 3 * s, 62 * s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := newLimiter(c)
			lim := Limits{TPM: tc.tpm}
			// All start at 0, before any tokens are known; each counts
			// from its release.
			var held []*Permit
			for range tc.releases {
				held = append(held, mustAcquire(t, l, 1, lim))
			}
			var total int64
			for i, rel := range tc.releases {
				c.Set(rel.at)
				held[i].Release(rel.tokens)
				total += max(rel.tokens, 0)
			}
			c.Set(tc.refuseAt)
			if got := l.Usage(1).Tokens; got != total {
				t.Fatalf("Usage.Tokens = %d, want %d", got, total)
			}
			retry := (tc.free - tc.refuseAt + time.Second - 1).Truncate(time.Second)
			mustRefuse(t, l, 1, lim, LimitTPM, retry)
			c.Set(tc.free - time.Nanosecond)
			mustRefuse(t, l, 1, lim, LimitTPM, time.Second)
			c.Set(tc.free)
			mustAcquire(t, l, 1, lim).Release(0)
		})
	}
}

// TestTPMCountsReleasedTokens: tokens count when the request ends, at the
// release time, not when it starts.
func TestTPMCountsReleasedTokens(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	lim := Limits{TPM: 100}
	p1 := mustAcquire(t, l, 1, lim)
	p2 := mustAcquire(t, l, 1, lim) // nothing released yet: nothing counted
	if u := l.Usage(1); u.Tokens != 0 || u.InFlight != 2 {
		t.Fatalf("Usage = %+v, want 0 tokens, 2 in flight", u)
	}
	c.Set(30 * time.Second)
	p1.Release(99)
	mustAcquire(t, l, 1, lim).Release(0) // 99 < 100
	c.Set(40 * time.Second)
	p2.Release(1)
	// 100 reached; the 99 leave at 90 s (released at second 30).
	c.Set(45 * time.Second)
	mustRefuse(t, l, 1, lim, LimitTPM, 45*time.Second)
	c.Set(90 * time.Second)
	mustAcquire(t, l, 1, lim).Release(0)
	if u := l.Usage(1); u.Tokens != 1 || u.InFlight != 0 {
		t.Fatalf("Usage = %+v, want 1 token, 0 in flight", u)
	}
}

func TestConcurrency(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		c := newClock()
		l := newLimiter(c)
		lim := Limits{Concurrency: n}
		var held []*Permit
		for range n {
			held = append(held, mustAcquire(t, l, 1, lim))
		}
		mustRefuse(t, l, 1, lim, LimitConcurrency, ConcurrencyRetryAfter)
		if got := l.Usage(1).InFlight; got != n {
			t.Fatalf("n=%d: InFlight = %d", n, got)
		}
		// Another key is not affected.
		mustAcquire(t, l, 2, lim).Release(0)
		held[0].Release(10)
		held[0].Release(10) // no-op: frees no second slot, adds no tokens
		held[0] = mustAcquire(t, l, 1, lim)
		mustRefuse(t, l, 1, lim, LimitConcurrency, ConcurrencyRetryAfter)
		if u := l.Usage(1); u.InFlight != n || u.Tokens != 10 {
			t.Fatalf("n=%d: Usage = %+v, want %d in flight, 10 tokens", n, u, n)
		}
		for _, p := range held {
			p.Release(0)
		}
		if got := l.Usage(1).InFlight; got != 0 {
			t.Fatalf("n=%d: InFlight after releases = %d", n, got)
		}
	}
}

func TestDoubleReleaseConcurrent(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	lim := Limits{Concurrency: 2}
	other := mustAcquire(t, l, 1, lim)
	p := mustAcquire(t, l, 1, lim)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { p.Release(5) })
	}
	wg.Wait()
	if u := l.Usage(1); u.InFlight != 1 || u.Tokens != 5 {
		t.Fatalf("Usage = %+v, want 1 in flight, 5 tokens", u)
	}
	other.Release(0)
	var nilPermit *Permit
	nilPermit.Release(1) // ignored
}

func TestRefusedConsumesNothing(t *testing.T) {
	c := newClock()
	l := newLimiter(c)

	// Concurrency refusals count no request.
	lim := Limits{Concurrency: 1, RPM: 2}
	p := mustAcquire(t, l, 1, lim)
	for range 100 {
		mustRefuse(t, l, 1, lim, LimitConcurrency, 0)
	}
	if u := l.Usage(1); u.Requests != 1 || u.InFlight != 1 {
		t.Fatalf("after concurrency refusals: %+v", u)
	}
	p.Release(0)
	mustAcquire(t, l, 1, lim).Release(0)

	// RPM refusals neither count nor hold a slot.
	for range 100 {
		mustRefuse(t, l, 1, lim, LimitRPM, 60*time.Second)
	}
	if u := l.Usage(1); u.Requests != 2 || u.InFlight != 0 {
		t.Fatalf("after rpm refusals: %+v", u)
	}
	c.Set(time.Minute)
	mustAcquire(t, l, 1, lim).Release(0)
	mustAcquire(t, l, 1, lim).Release(0)

	// TPM refusals neither.
	lim = Limits{TPM: 10, RPM: 3}
	mustAcquire(t, l, 2, lim).Release(10)
	for range 100 {
		mustRefuse(t, l, 2, lim, LimitTPM, 60*time.Second)
	}
	if u := l.Usage(2); u.Requests != 1 || u.Tokens != 10 || u.InFlight != 0 {
		t.Fatalf("after tpm refusals: %+v", u)
	}
}

func TestCheckOrder(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	held := mustAcquire(t, l, 1, Limits{})
	mustAcquire(t, l, 1, Limits{}).Release(100)
	all := Limits{Concurrency: 1, RPM: 2, TPM: 100}
	mustRefuse(t, l, 1, all, LimitConcurrency, 0)
	held.Release(0)
	mustRefuse(t, l, 1, all, LimitRPM, 0)
	mustRefuse(t, l, 1, Limits{Concurrency: 1, TPM: 100}, LimitTPM, 0)
	mustAcquire(t, l, 1, Limits{Concurrency: 1, RPM: 3, TPM: 101}).Release(0)
}

// TestLimitsChange: each call is held to the limits it passes; what the
// window counted under the old limits still counts.
func TestLimitsChange(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	for i := range 5 {
		c.Set(time.Duration(i) * 10 * time.Second)
		mustAcquire(t, l, 1, Limits{RPM: 10}).Release(0)
	}
	// Lowered to 3 with 5 in the window: room again once 3 have left, the
	// third at second 20 leaving at 80.
	c.Set(45 * time.Second)
	mustRefuse(t, l, 1, Limits{RPM: 3}, LimitRPM, 35*time.Second)
	mustAcquire(t, l, 1, Limits{RPM: 6}).Release(0)
	mustRefuse(t, l, 1, Limits{RPM: 6}, LimitRPM, 15*time.Second)
	mustAcquire(t, l, 1, Limits{}).Release(0) // limit removed
	// At 80 s the window holds 30, 40, 45, 45.
	c.Set(80 * time.Second)
	mustRefuse(t, l, 1, Limits{RPM: 3}, LimitRPM, 20*time.Second)
	mustAcquire(t, l, 1, Limits{RPM: 5}).Release(0)
	mustRefuse(t, l, 1, Limits{RPM: 5}, LimitRPM, 10*time.Second)

	// Concurrency lowered below what is in flight.
	a := mustAcquire(t, l, 2, Limits{Concurrency: 3})
	b := mustAcquire(t, l, 2, Limits{Concurrency: 3})
	mustRefuse(t, l, 2, Limits{Concurrency: 1}, LimitConcurrency, 0)
	a.Release(0)
	mustRefuse(t, l, 2, Limits{Concurrency: 1}, LimitConcurrency, 0)
	b.Release(0)
	mustAcquire(t, l, 2, Limits{Concurrency: 1}).Release(0)

	// TPM raised past what is in the window.
	mustAcquire(t, l, 3, Limits{TPM: 50}).Release(50)
	mustRefuse(t, l, 3, Limits{TPM: 50}, LimitTPM, 60*time.Second)
	mustAcquire(t, l, 3, Limits{TPM: 51}).Release(0)
}

func TestUnlimited(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	var held []*Permit
	for range 10_000 {
		held = append(held, mustAcquire(t, l, 1, Limits{}))
	}
	mustAcquire(t, l, 1, Limits{RPM: -1, TPM: -1, Concurrency: -1}).Release(0)
	for _, p := range held {
		p.Release(1)
	}
	if u := l.Usage(1); u != (Snapshot{Requests: 10_001, Tokens: 10_000}) {
		t.Fatalf("Usage = %+v", u)
	}
}

func TestUsage(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	if u := l.Usage(42); u != (Snapshot{}) {
		t.Fatalf("unknown key: %+v", u)
	}
	p := mustAcquire(t, l, 1, Limits{})
	c.Set(30 * time.Second)
	mustAcquire(t, l, 1, Limits{}).Release(7)
	if u := l.Usage(1); u != (Snapshot{Requests: 2, Tokens: 7, InFlight: 1}) {
		t.Fatalf("at 30s: %+v", u)
	}
	c.Set(60 * time.Second) // the first request left the window
	if u := l.Usage(1); u != (Snapshot{Requests: 1, Tokens: 7, InFlight: 1}) {
		t.Fatalf("at 60s: %+v", u)
	}
	c.Set(200 * time.Second)
	p.Release(3)
	if u := l.Usage(1); u != (Snapshot{Tokens: 3}) {
		t.Fatalf("at 200s: %+v", u)
	}
	if u := l.Usage(2); u != (Snapshot{}) {
		t.Fatalf("other key: %+v", u)
	}
}

// TestClockBack: a clock that goes back is taken as standing still.
func TestClockBack(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	lim := Limits{RPM: 2}
	c.Set(100 * time.Second)
	mustAcquire(t, l, 1, lim).Release(0)
	c.Set(10 * time.Second)
	mustAcquire(t, l, 1, lim).Release(5)
	mustRefuse(t, l, 1, lim, LimitRPM, 60*time.Second)
	if u := l.Usage(1); u != (Snapshot{Requests: 2, Tokens: 5}) {
		t.Fatalf("Usage = %+v", u)
	}
	c.Set(160 * time.Second)
	mustAcquire(t, l, 1, lim).Release(0)
}

func TestRefusalError(t *testing.T) {
	for _, tc := range []struct {
		r    Refusal
		want string
	}{
		{Refusal{LimitRPM, 60, 12 * time.Second}, "rate limit reached for requests per minute (limit 60): retry in 12s"},
		{Refusal{LimitTPM, 10000, 60 * time.Second}, "rate limit reached for tokens per minute (limit 10000): retry in 60s"},
		{Refusal{LimitConcurrency, 5, time.Second}, "rate limit reached for concurrent requests (limit 5): retry in 1s"},
	} {
		if got := tc.r.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	var err error = &Refusal{LimitRPM, 1, time.Second}
	if err.Error() == "" {
		t.Fatal("empty error")
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestEviction: the state of 100k keys used once is dropped once they are
// idle, memory included; a key with a request in flight, or idle for less
// than IdleTTL, is kept.
func TestEviction(t *testing.T) {
	c := newClock()
	const ttl = 5 * time.Minute
	l := New(Options{Now: c.Now, IdleTTL: ttl})
	const n = 100_000
	before := heapAlloc()
	for k := range int64(n) {
		mustAcquire(t, l, 1000+k, Limits{RPM: 1}).Release(1)
	}
	held := mustAcquire(t, l, 1, Limits{Concurrency: 1})
	grown := heapAlloc()
	if got := l.keys(); got != n+1 {
		t.Fatalf("keys = %d, want %d", got, n+1)
	}

	// Steady traffic on key 2 sweeps shard after shard; nothing is idle
	// for IdleTTL yet, so nothing goes.
	for range ttl/time.Second - 1 {
		c.Add(time.Second)
		mustAcquire(t, l, 2, Limits{}).Release(0)
	}
	if got := l.keys(); got != n+2 {
		t.Fatalf("before IdleTTL: keys = %d, want %d", got, n+2)
	}
	// Within IdleTTL/2 past it, every shard has been swept.
	for range ttl/2/time.Second + 2 {
		c.Add(time.Second)
		mustAcquire(t, l, 2, Limits{}).Release(0)
	}
	if got := l.keys(); got != 2 {
		t.Fatalf("after IdleTTL: keys = %d, want 2 (the busy key and the one in flight)", got)
	}
	after := heapAlloc()
	t.Logf("heap: %d before, %d with %d keys, %d after eviction", before, grown, n, after)
	// The key states are most of it; the rebuilt maps give back the rest
	// (a Go map keeps its memory after deletes: without the rebuild some
	// 2.5 MB stay).
	if grown < before || after > before+(grown-before)/64 {
		t.Fatalf("heap: %d before, %d with %d keys, %d after eviction: not given back", before, grown, n, after)
	}

	// The key in flight kept its state: its slot is still held.
	if u := l.Usage(1); u.InFlight != 1 {
		t.Fatalf("held key: %+v", u)
	}
	mustRefuse(t, l, 1, Limits{Concurrency: 1}, LimitConcurrency, 0)
	held.Release(0)
	mustAcquire(t, l, 1, Limits{Concurrency: 1}).Release(0)

	// An evicted key starts afresh.
	mustAcquire(t, l, 1000, Limits{RPM: 1}).Release(0)
}

// TestEvictionAfterLull: the first Acquire after a long quiet spell sweeps
// every shard.
func TestEvictionAfterLull(t *testing.T) {
	c := newClock()
	l := New(Options{Now: c.Now}) // IdleTTL 10 minutes
	for k := range int64(5000) {
		mustAcquire(t, l, k, Limits{}).Release(0)
	}
	c.Add(9 * time.Minute)
	mustAcquire(t, l, 1, Limits{}).Release(0)
	if got := l.keys(); got != 5000 {
		t.Fatalf("after 9 minutes: keys = %d, want 5000", got)
	}
	c.Add(16 * time.Minute)
	mustAcquire(t, l, -1, Limits{}).Release(0)
	if got := l.keys(); got != 1 {
		t.Fatalf("after a lull: keys = %d, want 1", got)
	}
}

// TestShortIdleTTL: IdleTTL under the window is raised to it, so a key
// whose requests are still in the window keeps them.
func TestShortIdleTTL(t *testing.T) {
	c := newClock()
	l := New(Options{Now: c.Now, IdleTTL: time.Second})
	lim := Limits{RPM: 1}
	mustAcquire(t, l, 1, lim).Release(0)
	for range 59 {
		c.Add(time.Second)
		mustRefuse(t, l, 1, lim, LimitRPM, 0)
		mustAcquire(t, l, 2, Limits{}).Release(0) // drives sweeps
	}
	c.Add(time.Second)
	mustAcquire(t, l, 1, lim).Release(0)
}

// TestHammer: many goroutines on a few keys with a frozen clock. In flight
// never exceeds Concurrency, and exactly RPM requests per key are admitted.
func TestHammer(t *testing.T) {
	c := newClock()
	l := newLimiter(c)
	const (
		keys       = 4
		workers    = 16
		rpm        = 20_000
		concurrent = 5
	)
	lim := Limits{RPM: rpm, Concurrency: concurrent, TPM: 1 << 40}
	var inFlight, admitted, maxSeen [keys]atomic.Int64
	var done [keys]atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; ; i++ {
				k := i % keys
				if done[k].Load() {
					all := true
					for j := range keys {
						all = all && done[j].Load()
					}
					if all {
						return
					}
					continue
				}
				p, r := l.Acquire(int64(k), lim)
				if r != nil {
					if r.Limit == LimitRPM {
						done[k].Store(true)
					}
					continue
				}
				admitted[k].Add(1)
				n := inFlight[k].Add(1)
				for m := maxSeen[k].Load(); n > m && !maxSeen[k].CompareAndSwap(m, n); m = maxSeen[k].Load() {
				}
				if i%7 == 0 {
					runtime.Gosched()
				}
				inFlight[k].Add(-1) // before Release, which frees the slot
				p.Release(1)
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if got := maxSeen[k].Load(); got > concurrent || got < 1 {
			t.Errorf("key %d: max in flight %d, want 1..%d", k, got, concurrent)
		}
		if got := admitted[k].Load(); got != rpm {
			t.Errorf("key %d: admitted %d, want exactly %d", k, got, rpm)
		}
		if u := l.Usage(int64(k)); u != (Snapshot{Requests: rpm, Tokens: rpm}) {
			t.Errorf("key %d: Usage = %+v", k, u)
		}
	}
}

// TestHammerSweeping: Acquire, Release, Usage and sweeps race on many keys
// with a clock running fast and a short IdleTTL; permits outlive their
// key's idle time, and the slot accounting stays exact.
func TestHammerSweeping(t *testing.T) {
	c := newClock()
	l := New(Options{Now: c.Now, IdleTTL: time.Minute})
	const (
		keys       = 300
		workers    = 8
		concurrent = 5
	)
	lim := Limits{Concurrency: concurrent, RPM: 1 << 30}
	var inFlight [keys]atomic.Int64
	var over atomic.Int64
	stop := make(chan struct{})
	var clockWG, wg sync.WaitGroup
	clockWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				c.Add(50 * time.Millisecond)
				runtime.Gosched()
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			var held []*Permit
			var heldKeys []int
			for i := range 20_000 {
				k := (i*7 + w*13) % keys
				if i%11 == 0 {
					l.Usage(int64(k))
				}
				if p, r := l.Acquire(int64(k), lim); r == nil {
					if inFlight[k].Add(1) > concurrent {
						over.Add(1)
					}
					held, heldKeys = append(held, p), append(heldKeys, k)
				}
				if len(held) > 3 || i%3 == 0 && len(held) > 0 {
					inFlight[heldKeys[0]].Add(-1)
					held[0].Release(int64(i % 100))
					held, heldKeys = held[1:], heldKeys[1:]
				}
			}
			for j, p := range held {
				inFlight[heldKeys[j]].Add(-1)
				p.Release(0)
			}
		})
	}
	wg.Wait()
	close(stop)
	clockWG.Wait()
	if n := over.Load(); n > 0 {
		t.Fatalf("%d admissions over the concurrency limit", n)
	}
	for k := range keys {
		if u := l.Usage(int64(k)); u.InFlight != 0 {
			t.Fatalf("key %d: %d in flight after all releases", k, u.InFlight)
		}
	}
}

// TestRealClock: without Options.Now the limiter runs on the monotonic
// clock.
func TestRealClock(t *testing.T) {
	l := New(Options{})
	lim := Limits{RPM: 1}
	p := mustAcquire(t, l, 1, lim)
	_, r := l.Acquire(1, lim)
	if r == nil || r.Limit != LimitRPM || r.RetryAfter < 59*time.Second || r.RetryAfter > 60*time.Second {
		t.Fatalf("second request: %+v, want an rpm refusal retrying in 59-60s", r)
	}
	p.Release(10)
	if u := l.Usage(1); u != (Snapshot{Requests: 1, Tokens: 10}) {
		t.Fatalf("Usage = %+v", u)
	}
	if d := time.Duration(l.clock() - time.Now().UnixNano()); d < -time.Second || d > time.Second {
		t.Fatalf("clock is %v off the wall clock", d)
	}
}
