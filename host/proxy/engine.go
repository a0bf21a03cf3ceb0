package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/framing"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// Sink receives the canonical output of one call and renders it for the
// client in its surface's format.
type Sink interface {
	// WriteResponse sends a complete non-stream canonical response.
	WriteResponse(body []byte) error
	// WriteChunk sends one canonical stream chunk; the first call starts the
	// stream (status and headers). It may buffer: the engine calls Flush
	// before it waits for more upstream data. An error means the client is
	// gone.
	WriteChunk(chunk []byte) error
	// Flush sends what WriteChunk buffered.
	Flush() error
	// WriteDone ends a successful stream and flushes it.
	WriteDone() error
	// WriteError reports a failure: as an error response, or, once stream
	// output has been sent, as an in-stream error.
	WriteError(e *apierr.Error)
}

// Recorder records finished calls; *store.Recorder implements it.
type Recorder interface {
	Record(c store.Call) error
}

// Billing prices and charges calls (host/billing implements it). A nil
// Options.Billing charges nothing: calls are still metered and recorded.
type Billing interface {
	// Begin prices the call on its targets and holds the worst case on the
	// caller's account. It returns the targets the policy allows, in
	// order, or the client's error (402 insufficient_quota, 400
	// unpriced_model, 403 policy_denied).
	Begin(ctx context.Context, c *Call, targets []Target) (Charge, []Target, *apierr.Error)
}

// CreditsSink is a Sink that reports what a call was charged (AIGNE's
// usage.aigneHubCredits). The engine calls SetCredits after settling,
// before the call's final bytes.
type CreditsSink interface {
	SetCredits(micro int64)
}

// Charge is one call's hold. Exactly one of Settle or Release is called.
type Charge interface {
	// Settle charges what the call used on the target that served it,
	// capturing from the hold and releasing the rest. The engine calls it
	// before the call's final bytes are sent, so that in strict durability
	// a completed response is always in the ledger; an error fails the call.
	Settle(ctx context.Context, t Target, u abi.Usage, estimated, aborted bool) (int64, error)
	// Release returns the whole hold: nothing was delivered.
	Release(ctx context.Context)
}

// A LateSettler is a Charge that can be settled after the response, with
// the call record: SettleLater keeps the usage and reports true, and the
// charge's ledger attachment (see LedgerCarrier) settles it when the
// recorder writes the record (store.LedgerAttachment.Prepare), which then
// carries the credits. The engine uses it when the client is not told what
// the call cost; SettleLater reports false when the charge must be settled
// now (strict durability).
type LateSettler interface {
	SettleLater(t Target, u abi.Usage, estimated, aborted bool) bool
}

// LedgerCarrier is a Charge whose settlement may be written with the call
// record (store.Call.Ledger), in the recorder's transaction, instead of a
// transaction of its own. The engine takes it after the call ends; a
// Charge returns nil when it has nothing to carry.
type LedgerCarrier interface {
	TakeLedger() *store.LedgerAttachment
}

// Call is one inbound call as a surface parsed it.
type Call struct {
	// RequestID is the hub's id for the request (X-Request-Id).
	RequestID string
	// Key is the authenticated API key.
	Key store.APIKey
	// API is the canonical API, e.g. abi.APIChatCompletions.
	API string
	// Model is the model as the client named it.
	Model string
	// Stream and IncludeUsage are the client's stream options.
	Stream, IncludeUsage bool
	// Body is the canonical request body.
	Body []byte
	// Start is when the request arrived.
	Start time.Time
	// Limits are the request's output limits, when the server read them
	// while validating the body (so that billing need not parse it again).
	Limits Limits
}

// Limits are a request's output limits as the server read them. Known is
// false when it did not read them; billing then reads the body itself.
type Limits struct {
	Known bool
	// MaxOutputTokens is max_completion_tokens, else max_tokens, when
	// positive; 0 when neither is given.
	MaxOutputTokens int64
}

// Options configure an Engine. Zero values take the documented defaults.
type Options struct {
	// Client sends upstream requests. Nil means a client from NewTransport.
	Client *http.Client
	// Recorder records each call. Nil records nothing (tests only).
	Recorder Recorder
	// Logger logs failures. Nil means slog.Default().
	Logger *slog.Logger
	// MaxResponseBody limits a non-stream upstream body. Zero means 64 MiB.
	MaxResponseBody int64
	// MaxEvent limits one upstream stream event. Zero means 8 MiB.
	MaxEvent int
	// UpstreamTimeout bounds a whole upstream call. Zero means 10 minutes.
	UpstreamTimeout time.Duration
	// UserAgent is sent upstream. Empty means "aigne-hub".
	UserAgent string

	// MaxAttempts bounds the upstream attempts of one call, retries and
	// failovers together. Zero means 4.
	MaxAttempts int
	// RetriesPerTarget is how many extra attempts a target (provider and
	// model) gets, after a retryable failure, before the call fails over to
	// the next target. Zero means none.
	RetriesPerTarget int
	// Backoff is the delay before the first retry of a target; it doubles
	// with each retry, with ±20% jitter. Zero means 200ms.
	Backoff time.Duration
	// MaxBackoff caps one delay. A Retry-After longer than this makes the
	// call fail over instead of waiting. Zero means 2s.
	MaxBackoff time.Duration
	// Deadline bounds a whole call, retries included. Zero means
	// UpstreamTimeout.
	Deadline time.Duration
	// AttemptTimeout bounds one attempt's wait for the upstream's response
	// headers; a timed-out attempt is retried or failed over. Zero means no
	// bound of its own.
	AttemptTimeout time.Duration
	// Health holds credential and provider state. Nil means a new registry
	// with default options.
	Health *Health
	// Limiter enforces per-key limits. Nil means none.
	Limiter *limits.Limiter
	// Billing charges calls. Nil means nothing is charged.
	Billing Billing
}

// Engine runs calls.
type Engine struct {
	router atomic.Pointer[Router]
	opts   Options
}

// NewTransport returns the upstream transport: keep-alive pools sized for a
// gateway, a connect timeout, HTTP/2 when the upstream offers it.
func NewTransport(connectTimeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	if connectTimeout > 0 {
		t.TLSHandshakeTimeout = connectTimeout
		t.DialContext = (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	return t
}

// NewEngine returns an engine routing with r.
func NewEngine(r *Router, opts Options) *Engine {
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: NewTransport(10 * time.Second)}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxResponseBody <= 0 {
		opts.MaxResponseBody = 64 << 20
	}
	if opts.MaxEvent <= 0 {
		opts.MaxEvent = 8 << 20
	}
	if opts.UpstreamTimeout <= 0 {
		opts.UpstreamTimeout = 10 * time.Minute
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "aigne-hub"
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.RetriesPerTarget < 0 {
		opts.RetriesPerTarget = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	if opts.Deadline <= 0 {
		opts.Deadline = opts.UpstreamTimeout
	}
	if opts.Health == nil {
		opts.Health = NewHealth(HealthOptions{})
	}
	e := &Engine{opts: opts}
	e.SetRouter(r)
	return e
}

// Router returns the engine's current router.
func (e *Engine) Router() *Router { return e.router.Load() }

// SetRouter makes r the engine's router: calls that start after it use r,
// calls in flight finish with the router they started with. Credential and
// provider state carries over by name.
func (e *Engine) SetRouter(r *Router) {
	for _, p := range r.providers {
		e.opts.Health.attach(p)
	}
	e.router.Store(r)
}

// Health returns the engine's credential and provider state.
func (e *Engine) Health() *Health { return e.opts.Health }

// Serve runs one call to completion, writing to sink and recording it.
// It never panics on client or upstream failure; every outcome is recorded.
func (e *Engine) Serve(ctx context.Context, c *Call, sink Sink) {
	rec := store.Call{
		RequestID: c.RequestID,
		CreatedAt: c.Start,
		API:       c.API,
		KeyID:     c.Key.ID,
		AccountID: c.Key.AccountID,
		Model:     c.Model,
		Stream:    c.Stream,
	}
	x := &exchange{e: e, c: c, sink: sink, rec: &rec}
	if permit, refused := e.acquire(&c.Key); refused != nil {
		x.fail(&apierr.Error{Status: 429, Type: apierr.TypeRateLimit, Code: "rate_limit_exceeded",
			Message: "This API key's " + refused.Error() + ".", RetryAfter: refused.RetryAfter})
	} else {
		x.run(ctx)
		x.finishUsage()
		x.finishBilling()
		permit.Release(rec.PromptTokens + rec.CompletionTokens) // a nil permit (no limiter) is a no-op
	}
	rec.Duration = time.Since(c.Start)
	if rec.Status == "" {
		rec.Status = store.CallOK
	}
	if lc, ok := x.charge.(LedgerCarrier); ok {
		rec.Ledger = lc.TakeLedger()
	}
	if e.opts.Recorder == nil {
		if rec.Ledger != nil {
			rec.Ledger.Abandon()
		}
	} else {
		if err := e.opts.Recorder.Record(rec); err != nil {
			e.opts.Logger.Error("record call", "request_id", c.RequestID, "err", err)
		}
	}
}

// acquire takes the key's limits, if the engine enforces any.
func (e *Engine) acquire(k *store.APIKey) (*limits.Permit, *limits.Refusal) {
	if e.opts.Limiter == nil {
		return nil, nil
	}
	return e.opts.Limiter.Acquire(k.ID, limits.Limits{RPM: k.RPM, TPM: k.TPM, Concurrency: k.MaxConcurrency})
}

// exchange is the state of one call.
type exchange struct {
	e       *Engine
	c       *Call
	sink    Sink
	rec     *store.Call
	started bool // stream output was sent to the client
	usage   *abi.Usage
	// delivered counts the bytes of generated text sent to the client, for
	// estimating usage when a stream ends before the provider reports it.
	delivered int64
	// unflushed says chunks were written since the last flush.
	unflushed bool

	// Stream state: the events gathered for the next plugin call (their
	// bytes copied into batch), and whether the call has ended.
	ctx      context.Context
	plugin   Plugin
	in       abi.StreamIn
	batch    []byte
	finished bool
	// failure is the error of a stream that failed before any output.
	failure *apierr.Error

	// charge is the call's hold (nil without billing); target is the
	// target of the current attempt; settled says the charge is done.
	charge  Charge
	target  Target
	settled bool
	// clientCtx is the client's context (billing outlives its cancellation).
	clientCtx context.Context
}

// flushBeforeRead runs the gathered stream events through the plugin, and
// flushes the client, before each read of the upstream body, i.e. before
// the engine may block waiting for the upstream.
type flushBeforeRead struct {
	r io.Reader
	x *exchange
}

// errFinished stops the framer once a drain has ended the call.
var errFinished = errors.New("call finished")

func (f *flushBeforeRead) Read(p []byte) (int, error) {
	f.x.drain()
	if f.x.finished {
		return 0, errFinished
	}
	return f.r.Read(p)
}

func (x *exchange) fail(err error) {
	ae := apierr.From(err)
	x.rec.Status = store.CallError
	x.rec.HTTPStatus = ae.Status
	x.rec.ErrorType = ae.Type
	x.rec.ErrorMessage = ae.Message
	if ae.Cause != nil && ae.Status >= 500 {
		x.e.opts.Logger.Warn("call failed", "request_id", x.c.RequestID, "provider", x.rec.Provider,
			"model", x.c.Model, "status", ae.Status, "err", ae.Cause)
	}
	x.sink.WriteError(ae)
}

// abort records a client that went away. Usage the provider did not report
// is estimated from what was delivered.
func (x *exchange) abort() {
	x.rec.Status = store.CallAborted
	x.rec.HTTPStatus = 499
	x.rec.ErrorType = "client_closed_request"
	x.rec.ErrorMessage = "the client closed the connection"
}

// errNotAllowed is the 403 for a key whose allow-list excludes the model.
func errNotAllowed(model string) *apierr.Error {
	return &apierr.Error{Status: 403, Type: apierr.TypePermission, Code: "model_not_allowed", Param: "model",
		Message: "This API key is not allowed to use the model `" + model + "`."}
}

// run routes the call and tries its targets in order: a target that fails
// in a retryable way (connect error, timeout, 429, 5xx, overloaded, a
// refused credential) is retried with backoff or failed over to the next,
// as long as nothing has been sent to the client, within the attempt
// budget and the call's deadline.
func (x *exchange) run(ctx context.Context) {
	o := &x.e.opts
	targets, err := x.e.Router().Resolve(x.c.Model)
	if err != nil {
		x.fail(err)
		return
	}
	if allowed := x.c.Key.AllowedModels; len(allowed) > 0 && !limits.ModelAllowed(allowed, x.c.Model) {
		targets = slices.DeleteFunc(targets, func(t Target) bool {
			return !limits.ModelAllowed(allowed, t.Provider.Name+"/"+t.Model, t.Model)
		})
		if len(targets) == 0 {
			x.fail(errNotAllowed(x.c.Model))
			return
		}
	}
	var unsupported *apierr.Error
	targets = slices.DeleteFunc(targets, func(t Target) bool {
		if slices.Contains(t.Provider.Plugin.Manifest().APIs, x.c.API) {
			return false
		}
		if unsupported == nil {
			unsupported = apierr.Unsupported(t.Provider.Name, x.c.Model, x.c.API)
		}
		return true
	})
	if len(targets) == 0 {
		x.fail(unsupported)
		return
	}
	x.clientCtx = ctx
	if o.Billing != nil {
		charge, allowed, berr := o.Billing.Begin(ctx, x.c, targets)
		if berr != nil {
			x.fail(berr)
			return
		}
		x.charge, targets = charge, allowed
	}

	dctx, cancel := context.WithTimeout(ctx, o.Deadline)
	defer cancel()
	var last *apierr.Error
targets:
	for _, t := range targets {
		x.rec.Provider, x.rec.UpstreamModel = t.Provider.Name, t.Model
		retries := 0
		for {
			if x.rec.Attempts >= o.MaxAttempts {
				break targets
			}
			idx, perr := t.Provider.pick(t.Provider.now())
			if perr != nil {
				if last == nil { // else the upstream's own error says more
					last = perr
				}
				continue targets
			}
			ae, upstream := x.attempt(dctx, ctx, t, idx)
			if ae == nil {
				return // done: answered, or ended after output started
			}
			last = ae
			if ctx.Err() != nil {
				x.abort()
				return
			}
			next, wait := x.judge(t.Provider, idx, ae, upstream, retries)
			switch next {
			case verdictFail:
				x.fail(ae)
				return
			case verdictNextTarget:
				continue targets
			}
			if wait > 0 {
				retries++
				if !sleep(dctx, wait) {
					break targets
				}
			}
		}
	}
	if ctx.Err() != nil {
		x.abort()
		return
	}
	if dctx.Err() != nil {
		last = &apierr.Error{Status: 504, Type: apierr.TypeTimeout, Retryable: true,
			Message: "The call did not complete within the hub's deadline (" + strconv.Itoa(x.rec.Attempts) + " upstream attempts)."}
	}
	if last == nil {
		last = apierr.ModelNotFound(x.c.Model)
	}
	x.fail(last)
}

type verdict int

const (
	verdictFail       verdict = iota // give up: the error is the client's answer
	verdictRetry                     // try the same target again (another credential if one is usable)
	verdictNextTarget                // fail over
)

// judge classifies a failed attempt, updates credential and provider
// health, and says what to do next, with the delay before a retry.
func (x *exchange) judge(p *Provider, idx int, ae *apierr.Error, upstream int, retries int) (verdict, time.Duration) {
	o := &x.e.opts
	switch {
	case upstream == 401 || upstream == 403:
		// Another credential of the same provider, at once; pick fails
		// over when none is left.
		p.authFailed(idx, upstream)
		return verdictRetry, 0
	case upstream == 429 || ae.Status == 429:
		p.rateLimited(idx, ae.RetryAfter)
		return verdictRetry, 0
	case ae.Type == apierr.TypePlugin:
		return verdictNextTarget, 0 // another provider's plugin may cope
	case upstream == 408 || upstream >= 500 || ae.Retryable:
		p.failed(idx, ae.Message)
		if retries >= o.RetriesPerTarget || ae.RetryAfter > o.MaxBackoff {
			return verdictNextTarget, 0
		}
		d := o.Backoff << retries
		d = min(d, o.MaxBackoff)
		d = d*4/5 + time.Duration(rand.Int64N(int64(d)*2/5+1)) // ±20%
		return verdictRetry, max(d, ae.RetryAfter)
	}
	return verdictFail, 0
}

// sleep waits d or until ctx is done; it reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attempt makes one upstream attempt with the credential at idx. It returns
// nil when the call is over (answered, or ended after output was sent to
// the client: those outcomes are written and recorded here), or the error of
// an attempt that failed before anything reached the client, with the
// upstream's HTTP status (0 when none).
func (x *exchange) attempt(ctx, clientCtx context.Context, t Target, idx int) (ae *apierr.Error, upstream int) {
	p := t.Provider
	start := time.Now()
	x.target = t
	x.rec.Attempts++
	at := store.Attempt{Attempt: x.rec.Attempts, StartedAt: start, Provider: p.Name, UpstreamModel: t.Model}
	if idx >= 0 {
		at.CredentialID = p.Credentials[idx].ID
	}
	x.rec.CredentialID = at.CredentialID
	x.rec.HTTPStatus = 0
	defer func() {
		at.Duration = time.Since(start)
		at.HTTPStatus = upstream
		switch {
		case ae != nil:
			at.Status, at.ErrorType, at.ErrorMessage = store.CallError, ae.Type, ae.Message
			if clientCtx.Err() != nil {
				at.Status = store.CallAborted
			}
		case x.rec.Status == store.CallAborted:
			at.Status = store.CallAborted
		case x.rec.Status == store.CallError:
			at.Status, at.ErrorType, at.ErrorMessage = store.CallError, x.rec.ErrorType, x.rec.ErrorMessage
		default:
			at.Status = store.CallOK
			p.succeeded(idx)
		}
		x.rec.AttemptLog = append(x.rec.AttemptLog, at)
	}()

	flags := uint32(0)
	if x.c.Stream {
		flags |= abi.FlagStream
		if x.c.IncludeUsage {
			flags |= abi.FlagIncludeUsage
		}
	}
	options := p.Options
	if options == nil {
		options = emptyObject
	}
	out, err := p.Plugin.Request(ctx, &abi.RequestIn{API: x.c.API, Model: t.Model, Flags: flags, RequestID: x.c.RequestID, Body: x.c.Body,
		Provider: p.Name, Options: options, UnixMS: time.Now().UnixMilli()})
	if err != nil {
		return apierr.From(err), 0
	}
	uctx, cancel := context.WithTimeout(ctx, x.e.opts.UpstreamTimeout)
	defer cancel()
	req, err := x.newUpstreamRequest(uctx, p, idx, &out)
	if err != nil {
		return apierr.Internal(err), 0
	}
	var timedOut atomic.Bool
	var timer *time.Timer
	if d := x.e.opts.AttemptTimeout; d > 0 {
		timer = time.AfterFunc(d, func() { timedOut.Store(true); cancel() })
	}
	resp, err := x.e.opts.Client.Do(req)
	if timer != nil {
		timer.Stop() // headers are in (or the attempt failed): the bound is met
	}
	if err != nil {
		redactURL(err)
		if clientCtx.Err() != nil {
			x.abort()
			return nil, 0
		}
		if timedOut.Load() {
			return &apierr.Error{Status: 504, Type: apierr.TypeTimeout, Message: "The provider did not answer in time.", Retryable: true, Cause: err}, 0
		}
		return apierr.From(err), 0
	}
	defer func() {
		// Read what is left (a stream's chunked terminator after its last
		// event) so the connection goes back to the pool instead of being
		// closed: re-dialing per stream cost more than a tenth of the hub's
		// CPU under load. Bounded, so a misbehaving upstream cannot hold us.
		if clientCtx.Err() == nil {
			io.CopyN(io.Discard, resp.Body, 64<<10)
		}
		resp.Body.Close()
	}()
	upstream = resp.StatusCode
	x.rec.HTTPStatus = resp.StatusCode

	if !x.c.Stream || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return x.whole(clientCtx, p, out.State, resp), upstream
	}
	return x.stream(clientCtx, p, out.State, resp), upstream
}

func (x *exchange) newUpstreamRequest(ctx context.Context, p *Provider, idx int, out *abi.RequestOut) (*http.Request, error) {
	u := p.BaseURL + out.Path
	method := out.Method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(out.Body))
	if err != nil {
		return nil, err
	}
	for _, h := range out.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	req.Header.Set("User-Agent", x.e.opts.UserAgent)
	var secret string
	if idx >= 0 {
		secret = p.Credentials[idx].Secret
	}
	if secret == "" {
		return req, nil
	}
	switch auth := p.Plugin.Manifest().Auth; {
	case auth == abi.AuthBearer:
		req.Header.Set("Authorization", "Bearer "+secret)
	case strings.HasPrefix(auth, abi.AuthHeaderPrefix):
		req.Header.Set(auth[len(abi.AuthHeaderPrefix):], secret)
	case strings.HasPrefix(auth, abi.AuthQueryPrefix):
		q := req.URL.Query()
		q.Set(auth[len(abi.AuthQueryPrefix):], secret)
		req.URL.RawQuery = q.Encode()
	case strings.HasPrefix(auth, abi.AuthSigV4Prefix):
		if err := SignV4(req, out.Body, secret, p.Region, auth[len(abi.AuthSigV4Prefix):], time.Now()); err != nil {
			return nil, err
		}
	case auth == abi.AuthNone || auth == "":
	default:
		return nil, errors.New("unsupported auth scheme " + auth)
	}
	return req, nil
}

// redactURL strips the query and user info from the URL in a transport
// error, which is logged: a "query:NAME" credential travels in the query.
func redactURL(err error) {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User, u.Fragment = "", nil, ""
			ue.URL = u.String()
		} else {
			ue.URL = "(upstream URL)"
		}
	}
}

func upstreamHeaders(h http.Header) []abi.Header {
	out := make([]abi.Header, 0, len(h))
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, abi.Header{Name: k, Value: v})
		}
	}
	return out
}

// whole handles a non-stream response, or any non-2xx response. It returns
// the error of a failure, which has not reached the client.
func (x *exchange) whole(ctx context.Context, p *Provider, state []byte, resp *http.Response) *apierr.Error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, x.e.opts.MaxResponseBody+1))
	if err != nil {
		if ctx.Err() != nil {
			x.abort()
			return nil
		}
		return apierr.From(err)
	}
	if int64(len(body)) > x.e.opts.MaxResponseBody {
		return &apierr.Error{Status: 502, Type: apierr.TypeUpstream, Message: "The provider's response exceeds the hub's limit."}
	}
	ro, err := p.Plugin.Response(ctx, &abi.ResponseIn{State: state, Status: uint32(resp.StatusCode), Headers: upstreamHeaders(resp.Header), Body: body})
	if err != nil {
		return apierr.From(err)
	}
	x.usage = ro.Usage
	if x.usage == nil && x.charge != nil {
		// No usage reported: bill an estimate, marked as such.
		x.usage = &abi.Usage{InputTokens: estimateTokens(int64(len(x.c.Body))), OutputTokens: estimateTokens(int64(len(ro.Body)))}
		x.rec.UsageEstimated = true
	}
	if err := x.bill(x.usage, x.rec.UsageEstimated, false); err != nil {
		x.settled = true // the hold stays for recovery; do not release it twice
		x.fail(apierr.Internal(err))
		return nil
	}
	x.rec.TTFB = time.Since(x.c.Start)
	x.rec.Status, x.rec.ErrorType, x.rec.ErrorMessage = "", "", ""
	if err := x.sink.WriteResponse(ro.Body); err != nil {
		x.abort()
	}
	return nil
}

var emptyObject = []byte("{}")

var errStreamEnded = errors.New("the provider's stream ended before it was complete")

// Batch bounds: events gathered for one plugin call.
const (
	maxBatchEvents = 64
	maxBatchBytes  = 1 << 20
)

// stream relays a 2xx streaming response. The framer splits the body into
// whole events; events are gathered while the framer can produce them from
// bytes already read and are handed to the plugin in one call just before
// it would wait for the upstream (see flushBeforeRead). Events that arrived
// together cost one plugin call and one flush; none waits behind a slow
// upstream.
func (x *exchange) stream(ctx context.Context, p *Provider, state []byte, resp *http.Response) *apierr.Error {
	x.ctx, x.plugin = ctx, p.Plugin
	x.in = abi.StreamIn{State: state}
	x.finished, x.failure = false, nil
	x.in.Events, x.batch = x.in.Events[:0], x.batch[:0]
	fr, err := framing.New(p.Plugin.Manifest().StreamFraming, &flushBeforeRead{r: resp.Body, x: x}, x.e.opts.MaxEvent)
	if err != nil {
		return apierr.Internal(err)
	}
	for {
		ev, err := fr.Next()
		if x.finished {
			return x.failure
		}
		if err != nil {
			x.drain()
			if x.finished {
				return x.failure
			}
			switch {
			case ctx.Err() != nil:
				x.abort()
			case errors.Is(err, io.EOF):
				return x.end(errStreamEnded)
			default:
				return x.end(err)
			}
			return nil
		}
		// The event aliases the framer's buffer, which the next read may
		// overwrite: keep a copy until the plugin has seen it.
		n := len(x.batch)
		x.batch = append(append(x.batch, ev.Name...), ev.Data...)
		x.in.Events = append(x.in.Events, abi.Event{Name: x.batch[n : n+len(ev.Name)], Data: x.batch[n+len(ev.Name):]})
		if len(x.in.Events) >= maxBatchEvents || len(x.batch) >= maxBatchBytes {
			x.drain()
			if x.finished {
				return x.failure
			}
		}
	}
}

// end ends a stream that failed: before any output the error goes back to
// the retry loop (the client saw nothing, so another attempt may serve it);
// after output it is written to the client as an in-stream error.
func (x *exchange) end(err error) *apierr.Error {
	x.finished = true
	if !x.started {
		x.failure = apierr.From(err)
		return x.failure
	}
	x.fail(err)
	return nil
}

// drain runs the gathered events through the plugin, writes the resulting
// chunks, and flushes them to the client. It sets finished when the call
// ended: the stream completed, failed, or the client went away.
func (x *exchange) drain() {
	if x.finished {
		return
	}
	if len(x.in.Events) > 0 {
		so, err := x.plugin.StreamEvent(x.ctx, &x.in)
		x.in.Events, x.batch = x.in.Events[:0], x.batch[:0]
		if err != nil {
			if x.ctx.Err() != nil {
				x.finished = true
				x.abort()
				return
			}
			x.end(err)
			return
		}
		x.in.State = so.State
		if so.Usage != nil {
			u := *so.Usage
			x.usage = &u
		}
		for _, chunk := range so.Chunks {
			x.markStarted()
			x.delivered += deliveredText(chunk)
			if err := x.sink.WriteChunk(chunk); err != nil {
				x.finished = true
				x.abort()
				return
			}
			x.unflushed = true
		}
		if so.Error != nil {
			x.end(so.Error)
			return
		}
		if so.Flags&abi.StreamDone != 0 {
			x.finished = true
			x.markStarted()
			if x.charge != nil {
				u, estimated := x.usage, false
				if u == nil {
					x.finishUsage()
					u, estimated = x.recUsage(), true
				}
				if err := x.bill(u, estimated, false); err != nil {
					x.settled = true
					x.fail(apierr.Internal(err))
					return
				}
			}
			if err := x.sink.WriteDone(); err != nil {
				x.abort()
			}
			return
		}
	}
	if x.unflushed {
		x.unflushed = false
		if err := x.sink.Flush(); err != nil {
			x.finished = true
			x.abort()
		}
	}
}

// markStarted notes the first byte of output sent to the client.
func (x *exchange) markStarted() {
	if !x.started {
		x.started = true
		x.rec.TTFB = time.Since(x.c.Start)
	}
}

// deliveredText returns the length of the generated text in a canonical
// chunk: content, reasoning and tool-call argument deltas.
func deliveredText(chunk []byte) int64 {
	var n int64
	gjson.GetBytes(chunk, "choices").ForEach(func(_, ch gjson.Result) bool {
		d := ch.Get("delta")
		n += int64(len(d.Get("content").Str) + len(d.Get("reasoning_content").Str))
		d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			n += int64(len(tc.Get("function.arguments").Str))
			return true
		})
		return true
	})
	return n
}

// finishUsage copies usage into the record, estimating it when the call
// produced output but the provider never reported usage (a client abort or
// a broken stream): about four bytes per token, marked as estimated.
func (x *exchange) finishUsage() {
	if u := x.usage; u != nil {
		x.rec.PromptTokens = u.InputTokens
		x.rec.CompletionTokens = u.OutputTokens
		x.rec.CachedTokens = u.CachedTokens
		x.rec.CacheWriteTokens = u.CacheWriteTokens
		x.rec.ReasoningTokens = u.ReasoningTokens
		x.rec.Images = u.Images
		return
	}
	if x.started {
		x.rec.UsageEstimated = true
		x.rec.PromptTokens = estimateTokens(int64(len(x.c.Body)))
		x.rec.CompletionTokens = estimateTokens(x.delivered)
	}
}

func estimateTokens(textBytes int64) int64 { return (textBytes + 3) / 4 }

// recUsage is the usage in the call record.
func (x *exchange) recUsage() *abi.Usage {
	r := x.rec
	return &abi.Usage{InputTokens: r.PromptTokens, OutputTokens: r.CompletionTokens, CachedTokens: r.CachedTokens,
		CacheWriteTokens: r.CacheWriteTokens, ReasoningTokens: r.ReasoningTokens, Images: r.Images}
}

// bill settles the charge once. Billing outlives the client: it runs on a
// context that the client's going away does not cancel.
func (x *exchange) bill(u *abi.Usage, estimated, aborted bool) error {
	if x.charge == nil || x.settled {
		return nil
	}
	x.settled = true
	var uu abi.Usage
	if u != nil {
		uu = *u
	}
	if _, told := x.sink.(CreditsSink); !told {
		if ls, ok := x.charge.(LateSettler); ok && ls.SettleLater(x.target, uu, estimated, aborted) {
			return nil // the record's credits come when it is written
		}
	}
	ctx := context.WithoutCancel(x.clientCtx)
	amount, err := x.charge.Settle(ctx, x.target, uu, estimated, aborted)
	x.rec.Credits = amount
	if cs, ok := x.sink.(CreditsSink); ok && err == nil {
		cs.SetCredits(amount)
	}
	if err != nil {
		x.e.opts.Logger.Error("settle call", "request_id", x.c.RequestID, "err", err)
	}
	return err
}

// finishBilling ends a charge the call did not settle on its way out: a
// call that delivered output (a client abort, a stream that broke) pays for
// what was delivered (the provider's usage if it came, else the estimate);
// a call that delivered nothing pays nothing. Error text is never billed.
func (x *exchange) finishBilling() {
	if x.charge == nil || x.settled {
		return
	}
	if !x.started {
		x.settled = true
		x.charge.Release(context.WithoutCancel(x.clientCtx))
		return
	}
	x.bill(x.recUsage(), x.rec.UsageEstimated, x.rec.Status == store.CallAborted)
}
