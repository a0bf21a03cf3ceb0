package proxy

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aignehub/hub/host/apierr"
)

// Credential is one secret of a provider. Its Secret is never logged,
// recorded or shown; State shows Hint instead.
type Credential struct {
	// ID is the credential's store id, recorded with each call (0: unknown).
	ID int64
	// Name is unique within the provider.
	Name string
	// Secret is injected upstream per the plugin's auth scheme.
	Secret string
	// Hint is the masked secret for display ("****abcd").
	Hint string
	// Weight is the credential's share of calls; zero or less means 1.
	Weight int
	// Broken, when not empty, says why the credential can never be used
	// (its secret could not be resolved or decrypted): it is skipped, and
	// shown as "broken" with this reason.
	Broken string
}

func (c *Credential) weight() int {
	if c.Weight <= 0 {
		return 1
	}
	return c.Weight
}

// HealthOptions tune how failures take credentials and providers out of
// rotation. Zero values take the documented defaults.
type HealthOptions struct {
	// FailureThreshold is the number of consecutive retryable failures
	// (5xx, connect errors, timeouts) that cool a provider down. Zero: 3.
	FailureThreshold int
	// Cooldown is how long a provider cools down. Zero: 30s.
	Cooldown time.Duration
	// RateLimitCooldown is a credential's cooldown after a 429 that carries
	// no Retry-After. Zero: 10s.
	RateLimitCooldown time.Duration
	// MaxRateLimitCooldown caps a Retry-After the upstream asks for. Zero: 1h.
	MaxRateLimitCooldown time.Duration
	// AuthBackoff is the first wait before a credential disabled by a 401
	// or 403 is re-validated; it doubles after each failed check. Zero: 30s.
	AuthBackoff time.Duration
	// MaxAuthBackoff caps AuthBackoff's doubling. Zero: 30m.
	MaxAuthBackoff time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

func (o *HealthOptions) defaults() {
	if o.FailureThreshold <= 0 {
		o.FailureThreshold = 3
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	if o.RateLimitCooldown <= 0 {
		o.RateLimitCooldown = 10 * time.Second
	}
	if o.MaxRateLimitCooldown <= 0 {
		o.MaxRateLimitCooldown = time.Hour
	}
	if o.AuthBackoff <= 0 {
		o.AuthBackoff = 30 * time.Second
	}
	if o.MaxAuthBackoff <= 0 {
		o.MaxAuthBackoff = 30 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Health holds the run-time state of every credential and provider:
// cooldowns, disabled credentials, failure counts. It outlives routers, so
// a routing rebuild (a provider edited through the admin API) keeps the
// state of the credentials and providers it keeps. Safe for concurrent use.
type Health struct {
	opts      HealthOptions
	mu        sync.Mutex
	creds     map[string]*credHealth
	providers map[string]*providerHealth
}

// NewHealth returns an empty health registry.
func NewHealth(opts HealthOptions) *Health {
	opts.defaults()
	return &Health{opts: opts, creds: map[string]*credHealth{}, providers: map[string]*providerHealth{}}
}

// credHealth is one credential's state. The hot path reads only atomics;
// the rare transitions take mu.
type credHealth struct {
	coolUntil atomic.Int64 // unix ns; cooling down while now < coolUntil
	disabled  atomic.Bool
	successes atomic.Uint64
	failures  atomic.Uint64

	mu         sync.Mutex
	reason     string // why disabled or cooling
	disabledAt time.Time
	nextCheck  time.Time
	backoff    time.Duration
	checking   bool
}

type providerHealth struct {
	coolUntil   atomic.Int64
	consecutive atomic.Int32

	mu        sync.Mutex
	lastError string
}

func credKey(provider string, c *Credential) string {
	return provider + "\x00" + c.Name
}

// attach gives p (and its credentials) their health state, creating it for
// ones not seen before, and resets p's rotation.
func (h *Health) attach(p *Provider) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ph := h.providers[p.Name]
	if ph == nil {
		ph = &providerHealth{}
		h.providers[p.Name] = ph
	}
	p.health = ph
	p.credHealth = make([]*credHealth, len(p.Credentials))
	p.current = make([]int, len(p.Credentials))
	for i := range p.Credentials {
		k := credKey(p.Name, &p.Credentials[i])
		ch := h.creds[k]
		if ch == nil {
			ch = &credHealth{}
			h.creds[k] = ch
		}
		p.credHealth[i] = ch
	}
	p.hub = h
}

// errNoCredential is what a call gets when every credential of every
// target is unusable.
func errNoCredential(provider string) *apierr.Error {
	return &apierr.Error{Status: 503, Type: apierr.TypeUnavailable, Code: "no_usable_credential",
		Message: "No usable credential for provider " + provider + ": every one is disabled. An operator has been told by the hub's state.", Retryable: true}
}

func errCooling(provider, what string, wait time.Duration) *apierr.Error {
	if wait < time.Second {
		wait = time.Second
	}
	st, typ := 503, apierr.TypeUnavailable
	if what == "rate limited" {
		st, typ = 429, apierr.TypeRateLimit
	}
	return &apierr.Error{Status: st, Type: typ, Code: "provider_cooling_down", RetryAfter: wait, Retryable: true,
		Message: "Provider " + provider + " is " + what + "; try again later."}
}

// pick chooses the next credential by smooth weighted round-robin among the
// usable ones (enabled, not broken, not cooling down): over any run of
// calls each gets its weight's share, interleaved rather than in bursts.
// It returns -1 and no error for a provider without credentials, and an
// error when the provider, or every credential, is out of rotation.
func (p *Provider) pick(now time.Time) (int, *apierr.Error) {
	if p.health != nil {
		if until := p.health.coolUntil.Load(); until > now.UnixNano() {
			return -1, errCooling(p.Name, "cooling down after repeated failures", time.Duration(until-now.UnixNano()))
		}
	}
	if len(p.Credentials) == 0 {
		return -1, nil
	}
	if p.credHealth == nil { // not attached (tests building providers by hand)
		NewHealth(HealthOptions{}).attach(p)
	}
	ns := now.UnixNano()
	p.mu.Lock()
	best, total := -1, 0
	var soonest int64
	for i := range p.Credentials {
		c, h := &p.Credentials[i], p.credHealth[i]
		if c.Broken != "" || h.disabled.Load() {
			continue
		}
		if until := h.coolUntil.Load(); until > ns {
			if soonest == 0 || until < soonest {
				soonest = until
			}
			continue
		}
		w := c.weight()
		p.current[i] += w
		total += w
		if best < 0 || p.current[i] > p.current[best] {
			best = i
		}
	}
	if best >= 0 {
		p.current[best] -= total
	}
	p.mu.Unlock()
	if best >= 0 {
		return best, nil
	}
	if soonest > 0 {
		return -1, errCooling(p.Name, "rate limited", time.Duration(soonest-ns))
	}
	return -1, errNoCredential(p.Name)
}

func (p *Provider) now() time.Time {
	if p.hub != nil {
		return p.hub.opts.Now()
	}
	return time.Now()
}

// succeeded notes a call that worked.
func (p *Provider) succeeded(idx int) {
	if p.health != nil {
		p.health.consecutive.Store(0)
	}
	if idx >= 0 && p.credHealth != nil {
		p.credHealth[idx].successes.Add(1)
	}
}

// rateLimited cools the credential down for retryAfter (or the default).
func (p *Provider) rateLimited(idx int, retryAfter time.Duration) {
	if idx < 0 || p.credHealth == nil || p.hub == nil {
		return
	}
	o := &p.hub.opts
	if retryAfter <= 0 {
		retryAfter = o.RateLimitCooldown
	}
	retryAfter = min(retryAfter, o.MaxRateLimitCooldown)
	h := p.credHealth[idx]
	h.failures.Add(1)
	h.mu.Lock()
	h.reason = "rate limited by the provider (429)"
	h.mu.Unlock()
	h.coolUntil.Store(o.Now().Add(retryAfter).UnixNano())
}

// authFailed disables the credential until a background check (or the
// next probation call) finds it working again.
func (p *Provider) authFailed(idx int, status int) {
	if idx < 0 || p.credHealth == nil || p.hub == nil {
		return
	}
	o := &p.hub.opts
	h := p.credHealth[idx]
	h.failures.Add(1)
	now := o.Now()
	h.mu.Lock()
	if h.backoff == 0 {
		h.backoff = o.AuthBackoff
	} else if h.disabled.Load() || now.Sub(h.disabledAt) < 2*h.backoff {
		// Failing again soon after a probation re-enable: back off more.
		h.backoff = min(2*h.backoff, o.MaxAuthBackoff)
	}
	h.reason = "the provider refused the credential (" + strconv.Itoa(status) + ")"
	h.disabledAt = now
	h.nextCheck = now.Add(h.backoff)
	h.disabled.Store(true)
	h.mu.Unlock()
}

// failed counts a retryable failure against the provider, cooling it down
// at the threshold. A provider that comes back from a cooldown is on
// probation: one more failure cools it down again.
func (p *Provider) failed(idx int, msg string) {
	if idx >= 0 && p.credHealth != nil {
		p.credHealth[idx].failures.Add(1)
	}
	if p.health == nil || p.hub == nil {
		return
	}
	o := &p.hub.opts
	p.health.mu.Lock()
	p.health.lastError = msg
	p.health.mu.Unlock()
	if n := p.health.consecutive.Add(1); int(n) >= o.FailureThreshold {
		p.health.coolUntil.Store(o.Now().Add(o.Cooldown).UnixNano())
		p.health.consecutive.Store(int32(o.FailureThreshold - 1))
	}
}

// enable re-admits a disabled credential (a check passed, or probation).
// The backoff is kept, so a credential that fails again soon waits longer.
func (p *Provider) enable(idx int, probation bool) {
	h := p.credHealth[idx]
	h.mu.Lock()
	if probation {
		h.reason = "re-enabled on probation after " + h.backoff.String()
	} else {
		h.reason = ""
		h.backoff = 0
	}
	h.checking = false
	h.mu.Unlock()
	h.disabled.Store(false)
}

// dueForCheck reports whether a disabled credential should be re-validated
// now, and marks it as being checked.
func (p *Provider) dueForCheck(idx int, now time.Time) bool {
	h := p.credHealth[idx]
	if !h.disabled.Load() || p.Credentials[idx].Broken != "" {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.checking || now.Before(h.nextCheck) {
		return false
	}
	h.checking = true
	return true
}

// checkFailed pushes a disabled credential's next check out.
func (p *Provider) checkFailed(idx int, reason string) {
	h := p.credHealth[idx]
	o := &p.hub.opts
	h.mu.Lock()
	h.backoff = min(2*max(h.backoff, o.AuthBackoff/2), o.MaxAuthBackoff)
	h.nextCheck = o.Now().Add(h.backoff)
	h.reason = reason
	h.checking = false
	h.mu.Unlock()
}

// CredentialState is one credential as the admin API shows it.
type CredentialState struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Hint   string `json:"hint,omitempty"`
	Weight int    `json:"weight"`
	// Status is "active", "cooling_down", "disabled" or "broken".
	Status       string     `json:"status"`
	Reason       string     `json:"reason,omitempty"`
	CoolingUntil *time.Time `json:"cooling_until,omitempty"`
	NextCheck    *time.Time `json:"next_check,omitempty"`
	Successes    uint64     `json:"successes"`
	Failures     uint64     `json:"failures"`
}

// ProviderState is one provider's run-time state.
type ProviderState struct {
	Name string `json:"name"`
	// Status is "healthy", "cooling_down" or "unavailable" (no usable
	// credential).
	Status              string            `json:"status"`
	CoolingUntil        *time.Time        `json:"cooling_until,omitempty"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	LastError           string            `json:"last_error,omitempty"`
	Models              []string          `json:"models"`
	Credentials         []CredentialState `json:"credentials"`
}

// State reports p's run-time state.
func (p *Provider) State(models []string) ProviderState {
	now := p.now()
	st := ProviderState{Name: p.Name, Status: "healthy", Models: models, Credentials: []CredentialState{}}
	if st.Models == nil {
		st.Models = []string{}
	}
	if p.health != nil {
		if u := p.health.coolUntil.Load(); u > now.UnixNano() {
			t := time.Unix(0, u).UTC()
			st.Status, st.CoolingUntil = "cooling_down", &t
		}
		st.ConsecutiveFailures = int(p.health.consecutive.Load())
		p.health.mu.Lock()
		st.LastError = p.health.lastError
		p.health.mu.Unlock()
	}
	usable := len(p.Credentials) == 0
	for i := range p.Credentials {
		c := &p.Credentials[i]
		cs := CredentialState{ID: c.ID, Name: c.Name, Hint: c.Hint, Weight: c.weight(), Status: "active"}
		if p.credHealth != nil {
			h := p.credHealth[i]
			cs.Successes, cs.Failures = h.successes.Load(), h.failures.Load()
			h.mu.Lock()
			reason, next := h.reason, h.nextCheck
			h.mu.Unlock()
			switch {
			case c.Broken != "":
				cs.Status, cs.Reason = "broken", c.Broken
			case h.disabled.Load():
				t := next.UTC()
				cs.Status, cs.Reason, cs.NextCheck = "disabled", reason, &t
			case h.coolUntil.Load() > now.UnixNano():
				t := time.Unix(0, h.coolUntil.Load()).UTC()
				cs.Status, cs.Reason, cs.CoolingUntil = "cooling_down", reason, &t
			default:
				cs.Reason = reason
			}
		} else if c.Broken != "" {
			cs.Status, cs.Reason = "broken", c.Broken
		}
		if cs.Status == "active" || cs.Status == "cooling_down" {
			usable = true
		}
		st.Credentials = append(st.Credentials, cs)
	}
	if !usable && st.Status == "healthy" {
		st.Status = "unavailable"
	}
	return st
}
