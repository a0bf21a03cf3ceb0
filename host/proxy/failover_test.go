package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// errPlugin is fakePlugin with upstream errors normalized the way real
// plugins do (sdk/oai.Normalize): non-2xx answers become *abi.Error, and a
// stream event "error:<status>" is an in-stream error.
type errPlugin struct{ fakePlugin }

func (f errPlugin) Response(ctx context.Context, in *abi.ResponseIn) (abi.ResponseOut, error) {
	if in.Status >= 400 {
		e := &abi.Error{Status: int(in.Status), Type: "upstream_error", Message: "upstream said " + strconv.Itoa(int(in.Status))}
		switch {
		case in.Status == 401 || in.Status == 403:
			e.Status = 502
		case in.Status == 429:
			e.Retryable = true
			for _, h := range in.Headers {
				if strings.EqualFold(h.Name, "Retry-After") {
					e.RetryAfterMS = abi.RetryAfterMS(h.Value)
				}
			}
		case in.Status >= 500:
			e.Status, e.Retryable = 502, true
		}
		return abi.ResponseOut{}, e
	}
	return f.fakePlugin.Response(ctx, in)
}

func (f errPlugin) StreamEvent(ctx context.Context, in *abi.StreamIn) (abi.StreamOut, error) {
	var out abi.StreamOut
	for _, ev := range in.Events {
		if s, ok := strings.CutPrefix(string(ev.Data), "error:"); ok {
			st, _ := strconv.Atoi(s)
			out.Error = &abi.Error{Status: st, Type: "upstream_error", Message: "overloaded", Retryable: st >= 500}
			return out, nil
		}
		if string(ev.Data) == "[DONE]" {
			out.Flags |= abi.StreamDone
			break
		}
		out.Chunks = append(out.Chunks, ev.Data)
	}
	return out, nil
}

// upstream is a scripted provider: behave decides each request's answer
// from the credential it carries; it counts requests per credential.
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	hits   map[string]int
	behave func(w http.ResponseWriter, r *http.Request, secret string)
}

func newUpstream(t *testing.T, behave func(w http.ResponseWriter, r *http.Request, secret string)) *upstream {
	u := &upstream{hits: map[string]int{}, behave: behave}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		secret := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		u.mu.Lock()
		u.hits[secret]++
		u.mu.Unlock()
		u.behave(w, r, secret)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) count(secret string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[secret]
}

func (u *upstream) total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, v := range u.hits {
		n += v
	}
	return n
}

func ok(w http.ResponseWriter, _ *http.Request, _ string) { w.Write([]byte(`{"ok":true}`)) }

func status(code int) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, _ string) {
		w.WriteHeader(code)
		w.Write([]byte(`{"error":"x"}`))
	}
}

func provider(name string, u *upstream, secrets ...string) *Provider {
	p := &Provider{Name: name, BaseURL: u.URL, Plugin: errPlugin{fakePlugin{auth: abi.AuthBearer}}, Models: []string{"m"}}
	for i, s := range secrets {
		p.Credentials = append(p.Credentials, Credential{ID: int64(100 + i), Name: name + "-" + strconv.Itoa(i+1), Secret: s, Weight: 1})
	}
	return p
}

func serve(e *Engine, model string, stream bool) (*sinkRecorder, *chunkSink) {
	if stream {
		cs := &chunkSink{}
		e.Serve(context.Background(), &Call{RequestID: "r", API: abi.APIChatCompletions, Model: model, Stream: true, Body: []byte(`{}`), Start: time.Now()}, cs)
		return nil, cs
	}
	s := &sinkRecorder{}
	e.Serve(context.Background(), &Call{RequestID: "r", API: abi.APIChatCompletions, Model: model, Body: []byte(`{}`), Start: time.Now()}, s)
	return s, nil
}

type chunkSink struct {
	chunks []string
	done   bool
	err    *apierr.Error
}

func (s *chunkSink) WriteResponse(b []byte) error { return errors.New("unexpected") }
func (s *chunkSink) WriteChunk(b []byte) error    { s.chunks = append(s.chunks, string(b)); return nil }
func (s *chunkSink) WriteDone() error             { s.done = true; return nil }
func (s *chunkSink) Flush() error                 { return nil }
func (s *chunkSink) WriteError(e *apierr.Error)   { s.err = e }

func attemptsOf(c store.Call) string {
	var parts []string
	for _, a := range c.AttemptLog {
		parts = append(parts, a.Provider+":"+a.Status+":"+strconv.Itoa(a.HTTPStatus))
	}
	return strings.Join(parts, ",")
}

func TestFailoverAcrossProviders(t *testing.T) {
	for _, tt := range []struct {
		name     string
		behave   func(http.ResponseWriter, *http.Request, string)
		attempts string
	}{
		{"500 retried then failed over", status(500), "a:error:500,a:error:500,b:ok:200"},
		{"503 overloaded", status(503), "a:error:503,a:error:503,b:ok:200"},
		{"429 switches at once", status(429), "a:error:429,b:ok:200"},
		{"401 disables and fails over", status(401), "a:error:401,b:ok:200"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ua, ub := newUpstream(t, tt.behave), newUpstream(t, ok)
			log := &callLog{}
			e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}),
				Options{Recorder: log, RetriesPerTarget: 1, Backoff: time.Millisecond})
			sink, _ := serve(e, "m", false)
			if sink.err != nil || string(sink.body) != `{"ok":true}` {
				t.Fatalf("client got %v %s", sink.err, sink.body)
			}
			c := log.calls[0]
			if got := attemptsOf(c); got != tt.attempts {
				t.Fatalf("attempts %s, want %s", got, tt.attempts)
			}
			if c.Attempts != len(c.AttemptLog) || c.Provider != "b" || c.CredentialID != 100 || c.Status != store.CallOK || c.HTTPStatus != 200 {
				t.Fatalf("record %+v", c)
			}
		})
	}
}

func TestNonRetryableErrorDoesNotFailOver(t *testing.T) {
	ua, ub := newUpstream(t, status(400)), newUpstream(t, ok)
	log := &callLog{}
	e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}), Options{Recorder: log, RetriesPerTarget: 2})
	sink, _ := serve(e, "m", false)
	if sink.err == nil || sink.err.Status != 400 || ub.total() != 0 || ua.total() != 1 {
		t.Fatalf("err %v, a %d b %d", sink.err, ua.total(), ub.total())
	}
	if c := log.calls[0]; c.Attempts != 1 || c.Status != store.CallError || c.HTTPStatus != 400 {
		t.Fatalf("record %+v", c)
	}
}

func TestAttemptBudgetAndLastError(t *testing.T) {
	var us []*upstream
	var ps []*Provider
	for i := range 4 {
		u := newUpstream(t, status(500))
		us = append(us, u)
		ps = append(ps, provider(string(rune('a'+i)), u, "k"))
	}
	log := &callLog{}
	e := NewEngine(NewRouter(ps), Options{Recorder: log, MaxAttempts: 3, RetriesPerTarget: 1, Backoff: time.Millisecond})
	sink, _ := serve(e, "m", false)
	if sink.err == nil || sink.err.Status != 502 {
		t.Fatalf("err %v", sink.err)
	}
	if got := attemptsOf(log.calls[0]); got != "a:error:500,a:error:500,b:error:500" {
		t.Fatalf("attempts %s", got)
	}
	if us[2].total()+us[3].total() != 0 {
		t.Fatal("attempt budget exceeded")
	}
}

func TestStreamFailsOverOnlyBeforeOutput(t *testing.T) {
	sse := func(events ...string) func(http.ResponseWriter, *http.Request, string) {
		return func(w http.ResponseWriter, _ *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, ev := range events {
				io.WriteString(w, "data: "+ev+"\n\n")
			}
		}
	}
	t.Run("error event first: fail over", func(t *testing.T) {
		ua, ub := newUpstream(t, sse("error:529")), newUpstream(t, sse("b1", "[DONE]"))
		log := &callLog{}
		e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}), Options{Recorder: log})
		_, cs := serve(e, "m", true)
		if cs.err != nil || !cs.done || strings.Join(cs.chunks, "|") != "b1" {
			t.Fatalf("client got %+v", cs)
		}
		if got := attemptsOf(log.calls[0]); got != "a:error:200,b:ok:200" {
			t.Fatalf("attempts %s", got)
		}
	})
	t.Run("stream cut before output: fail over", func(t *testing.T) {
		ua, ub := newUpstream(t, sse()), newUpstream(t, sse("b1", "[DONE]"))
		log := &callLog{}
		e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}), Options{Recorder: log})
		_, cs := serve(e, "m", true)
		if cs.err != nil || !cs.done || log.calls[0].Attempts != 2 {
			t.Fatalf("client got %+v, record %+v", cs, log.calls[0])
		}
	})
	t.Run("error after output: no failover", func(t *testing.T) {
		ua, ub := newUpstream(t, sse("a1", "error:529")), newUpstream(t, sse("b1", "[DONE]"))
		log := &callLog{}
		e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}), Options{Recorder: log})
		_, cs := serve(e, "m", true)
		if cs.err == nil || cs.done || strings.Join(cs.chunks, "|") != "a1" || ub.total() != 0 {
			t.Fatalf("client got %+v, b hit %d", cs, ub.total())
		}
		if c := log.calls[0]; c.Attempts != 1 || c.Status != store.CallError {
			t.Fatalf("record %+v", c)
		}
	})
}

func TestAttemptTimeoutAndDeadline(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request, _ string) { <-r.Context().Done() }
	t.Run("attempt timeout fails over", func(t *testing.T) {
		ua, ub := newUpstream(t, hang), newUpstream(t, ok)
		log := &callLog{}
		e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}),
			Options{Recorder: log, AttemptTimeout: 50 * time.Millisecond})
		sink, _ := serve(e, "m", false)
		if sink.err != nil {
			t.Fatalf("client got %v", sink.err)
		}
		c := log.calls[0]
		if got := attemptsOf(c); got != "a:error:0,b:ok:200" || c.AttemptLog[0].ErrorType != apierr.TypeTimeout {
			t.Fatalf("attempts %s %+v", got, c.AttemptLog)
		}
	})
	t.Run("deadline ends the call", func(t *testing.T) {
		ua, ub := newUpstream(t, hang), newUpstream(t, hang)
		e := NewEngine(NewRouter([]*Provider{provider("a", ua, "ka"), provider("b", ub, "kb")}),
			Options{Deadline: 100 * time.Millisecond})
		start := time.Now()
		sink, _ := serve(e, "m", false)
		if sink.err == nil || sink.err.Status != 504 || time.Since(start) > 5*time.Second {
			t.Fatalf("client got %v after %v", sink.err, time.Since(start))
		}
	})
}

func TestWeightedRoundRobin(t *testing.T) {
	u := newUpstream(t, ok)
	p := provider("a", u, "w1", "w2", "w7")
	p.Credentials[1].Weight, p.Credentials[2].Weight = 2, 7
	e := NewEngine(NewRouter([]*Provider{p}), Options{})
	var seq strings.Builder
	for i := range 1000 {
		serve(e, "m", false)
		if i < 10 {
			seq.WriteString(strings.TrimPrefix(lastSecret(u), "w"))
		}
	}
	if u.count("w1") != 100 || u.count("w2") != 200 || u.count("w7") != 700 {
		t.Fatalf("distribution %v", u.hits)
	}
	// Smooth: the heavy credential never runs more than its share in a row.
	if s := seq.String(); strings.Contains(s, "7777") {
		t.Fatalf("not smooth: %s", s)
	}
}

// lastSecret is only used single-threaded: it finds the secret with the
// most recent increment by diffing counts.
var lastCounts = map[*upstream]map[string]int{}

func lastSecret(u *upstream) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	prev := lastCounts[u]
	if prev == nil {
		prev = map[string]int{}
		lastCounts[u] = prev
	}
	for k, v := range u.hits {
		if prev[k] != v {
			prev[k] = v
			return k
		}
	}
	return ""
}

func TestRateLimitCooldownShiftsTraffic(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, secret string) {
		if secret == "hot" {
			w.Header().Set("Retry-After", "3")
			status(429)(w, r, secret)
			return
		}
		ok(w, r, secret)
	})
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := NewHealth(HealthOptions{Now: clock})
	p := provider("a", u, "hot", "cold")
	e := NewEngine(NewRouter([]*Provider{p}), Options{Health: h})
	for range 20 {
		if sink, _ := serve(e, "m", false); sink.err != nil {
			t.Fatalf("client got %v", sink.err)
		}
	}
	if u.count("hot") != 1 || u.count("cold") != 20 {
		t.Fatalf("hits %v", u.hits)
	}
	st := p.State(nil)
	if st.Credentials[0].Status != "cooling_down" || st.Credentials[0].CoolingUntil == nil ||
		!st.Credentials[0].CoolingUntil.Equal(now.Add(3*time.Second)) || st.Credentials[1].Status != "active" {
		t.Fatalf("state %+v", st)
	}
	mu.Lock()
	now = now.Add(3 * time.Second)
	mu.Unlock()
	serve(e, "m", false)
	serve(e, "m", false)
	if u.count("hot") != 2 {
		t.Fatalf("hot credential not back in rotation after its Retry-After: %v", u.hits)
	}
}

func TestEveryCredentialRateLimitedAnswers429(t *testing.T) {
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, s string) {
		w.Header().Set("Retry-After", "7")
		status(429)(w, r, s)
	})
	e := NewEngine(NewRouter([]*Provider{provider("a", u, "k1", "k2")}), Options{})
	sink, _ := serve(e, "m", false)
	if sink.err == nil || sink.err.Status != 429 || sink.err.RetryAfter < 6*time.Second {
		t.Fatalf("client got %+v", sink.err)
	}
	// Both are cooling: the next call is refused without an upstream request.
	sink, _ = serve(e, "m", false)
	if sink.err == nil || sink.err.Status != 429 || u.total() != 2 {
		t.Fatalf("client got %+v after %d upstream requests", sink.err, u.total())
	}
}

func TestAuthFailureDisablesThenRecovers(t *testing.T) {
	var fixed atomic.Bool
	u := newUpstream(t, func(w http.ResponseWriter, r *http.Request, secret string) {
		if secret == "bad" && !fixed.Load() {
			status(401)(w, r, secret)
			return
		}
		ok(w, r, secret)
	})
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p := provider("a", u, "bad", "good")
	e := NewEngine(NewRouter([]*Provider{p}), Options{Health: NewHealth(HealthOptions{Now: clock, AuthBackoff: time.Minute})})
	for range 10 {
		if sink, _ := serve(e, "m", false); sink.err != nil {
			t.Fatalf("client got %v", sink.err)
		}
	}
	if u.count("bad") != 1 || u.count("good") != 10 {
		t.Fatalf("hits %v", u.hits)
	}
	st := p.State(nil).Credentials[0]
	if st.Status != "disabled" || !strings.Contains(st.Reason, "401") || st.NextCheck == nil || !st.NextCheck.Equal(now.Add(time.Minute)) {
		t.Fatalf("state %+v", st)
	}
	// Not due yet: no check.
	e.checkDisabled(context.Background())
	if u.count("bad") != 1 {
		t.Fatal("checked before its backoff")
	}
	// Due, still refused: backoff doubles.
	advance(time.Minute)
	e.checkDisabled(context.Background())
	st = p.State(nil).Credentials[0]
	if u.count("bad") != 2 || st.Status != "disabled" || !st.NextCheck.Equal(now.Add(2*time.Minute)) {
		t.Fatalf("after failed check: hits %v state %+v", u.hits, st)
	}
	// Fixed upstream side: the next check re-enables it.
	fixed.Store(true)
	advance(2 * time.Minute)
	e.checkDisabled(context.Background())
	if st := p.State(nil).Credentials[0]; st.Status != "active" {
		t.Fatalf("not recovered: %+v", st)
	}
	before := u.count("bad")
	for range 10 {
		serve(e, "m", false)
	}
	if u.count("bad")-before != 5 {
		t.Fatalf("recovered credential does not take its share: %v", u.hits)
	}
}

func TestProviderCooldownAfterRepeatedFailures(t *testing.T) {
	ua, ub := newUpstream(t, status(502)), newUpstream(t, ok)
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pa := provider("a", ua, "ka")
	e := NewEngine(NewRouter([]*Provider{pa, provider("b", ub, "kb")}),
		Options{Health: NewHealth(HealthOptions{Now: clock, FailureThreshold: 3, Cooldown: time.Minute})})
	for range 10 {
		if sink, _ := serve(e, "m", false); sink.err != nil {
			t.Fatalf("client got %v", sink.err)
		}
	}
	if ua.total() != 3 {
		t.Fatalf("cooled-down provider still called: %d", ua.total())
	}
	if st := pa.State(nil); st.Status != "cooling_down" || st.LastError == "" {
		t.Fatalf("state %+v", st)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	serve(e, "m", false) // probation: one failure cools it down again
	serve(e, "m", false)
	if ua.total() != 4 {
		t.Fatalf("probation: a called %d times", ua.total())
	}
}

func TestAliasesAndAllowList(t *testing.T) {
	ua, ub := newUpstream(t, status(500)), newUpstream(t, ok)
	a, b := provider("a", ua, "ka"), provider("b", ub, "kb")
	b.Models = []string{"m2"}
	r := NewRouter([]*Provider{a, b})
	r.SetAliases(map[string][]string{"fast": {"a/m", "b/m2", "gone/x"}})
	ts, err := r.Resolve("fast")
	if err != nil || len(ts) != 2 || ts[0].Provider != a || ts[1].Model != "m2" {
		t.Fatalf("resolve fast: %v %v", ts, err)
	}
	log := &callLog{}
	e := NewEngine(r, Options{Recorder: log})
	if sink, _ := serve(e, "fast", false); sink.err != nil || log.calls[0].Provider != "b" || log.calls[0].UpstreamModel != "m2" {
		t.Fatalf("alias failover: %v %+v", sink.err, log.calls)
	}

	call := func(model string, allowed ...string) *apierr.Error {
		s := &sinkRecorder{}
		e.Serve(context.Background(), &Call{API: abi.APIChatCompletions, Model: model, Body: []byte(`{}`), Start: time.Now(),
			Key: store.APIKey{ID: 1, AllowedModels: allowed}}, s)
		return s.err
	}
	if err := call("fast", "b/*"); err != nil {
		t.Fatalf("alias filtered to allowed targets: %v", err)
	}
	if err := call("b/m2", "m2"); err != nil {
		t.Fatalf("bare allow-list entry: %v", err)
	}
	if err := call("m", "b/*"); err == nil || err.Status != 403 || err.Code != "model_not_allowed" {
		t.Fatalf("disallowed model: %v", err)
	}
}

func TestKeyLimits(t *testing.T) {
	u := newUpstream(t, ok)
	log := &callLog{}
	e := NewEngine(NewRouter([]*Provider{provider("a", u, "k")}), Options{Recorder: log, Limiter: limits.New(limits.Options{})})
	key := store.APIKey{ID: 7, RPM: 2}
	var errs []*apierr.Error
	for range 3 {
		s := &sinkRecorder{}
		e.Serve(context.Background(), &Call{API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`), Start: time.Now(), Key: key}, s)
		errs = append(errs, s.err)
	}
	if errs[0] != nil || errs[1] != nil || errs[2] == nil || errs[2].Status != 429 || errs[2].RetryAfter <= 0 ||
		errs[2].Type != apierr.TypeRateLimit || !strings.Contains(errs[2].Message, "requests per minute") {
		t.Fatalf("errors %v", errs)
	}
	if u.total() != 2 || len(log.calls) != 3 || log.calls[2].HTTPStatus != 429 || log.calls[2].Attempts != 0 {
		t.Fatalf("upstream %d, records %+v", u.total(), log.calls)
	}
}

// A query-string credential must not reach the logs through a transport
// error, which quotes the URL.
func TestTransportErrorsDoNotLeakQueryCredentials(t *testing.T) {
	var logBuf bytes.Buffer
	p := &Provider{Name: "q", BaseURL: "http://127.0.0.1:1", Plugin: errPlugin{fakePlugin{auth: "query:key"}}, Models: []string{"m"},
		Credentials: []Credential{{Name: "k", Secret: "sk-query-secret-9876"}}}
	log := &callLog{}
	e := NewEngine(NewRouter([]*Provider{p}), Options{Recorder: log, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	sink, _ := serve(e, "m", false)
	if sink.err == nil || sink.err.Status != 502 {
		t.Fatalf("client got %v", sink.err)
	}
	if strings.Contains(logBuf.String(), "sk-query-secret") || !strings.Contains(logBuf.String(), "127.0.0.1:1") {
		t.Fatalf("log: %s", logBuf.String())
	}
	for _, c := range log.calls {
		if strings.Contains(c.ErrorMessage, "sk-query-secret") {
			t.Fatal("secret in the call record")
		}
	}
}

// lateBilling holds nothing and records how each call was settled.
type lateBilling struct{ charges []*lateCharge }

type lateCharge struct {
	settled, late, released bool
	usage                   abi.Usage
}

func (b *lateBilling) Begin(_ context.Context, _ *Call, ts []Target) (Charge, []Target, *apierr.Error) {
	c := &lateCharge{}
	b.charges = append(b.charges, c)
	return c, ts, nil
}

func (c *lateCharge) Settle(_ context.Context, _ Target, u abi.Usage, _, _ bool) (int64, error) {
	c.settled, c.usage = true, u
	return 42, nil
}

func (c *lateCharge) SettleLater(_ Target, u abi.Usage, _, _ bool) bool {
	c.late, c.usage = true, u
	return true
}

func (c *lateCharge) Release(context.Context) { c.released = true }

// creditsSink is a sink that tells the client what the call cost.
type creditsSink struct {
	sinkRecorder
	credits int64
}

func (s *creditsSink) SetCredits(micro int64) { s.credits = micro }

// TestLateSettlement: a call whose client is not told its cost is settled
// late (with the call record); one whose client is told (a CreditsSink) is
// settled before its last bytes, and its record carries the amount.
func TestLateSettlement(t *testing.T) {
	u := newUpstream(t, ok)
	log := &callLog{}
	bill := &lateBilling{}
	e := NewEngine(NewRouter([]*Provider{provider("a", u, "ka")}), Options{Recorder: log, Billing: bill})
	if sink, _ := serve(e, "m", false); sink.err != nil {
		t.Fatal(sink.err)
	}
	cs := &creditsSink{}
	e.Serve(context.Background(), &Call{RequestID: "r2", API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`), Start: time.Now()}, cs)
	if cs.err != nil {
		t.Fatal(cs.err)
	}
	if len(bill.charges) != 2 {
		t.Fatalf("%d charges", len(bill.charges))
	}
	if c := bill.charges[0]; !c.late || c.settled || c.released {
		t.Errorf("plain sink: %+v, want settled late only", c)
	}
	if c := bill.charges[1]; c.late || !c.settled || cs.credits != 42 {
		t.Errorf("credits sink: %+v, told %d; want settled at once and told 42", c, cs.credits)
	}
	if log.calls[0].Credits != 0 || log.calls[1].Credits != 42 {
		t.Errorf("records' credits %d, %d; want 0 (filled when written) and 42", log.calls[0].Credits, log.calls[1].Credits)
	}
}
