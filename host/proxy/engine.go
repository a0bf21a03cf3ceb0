package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/framing"
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
}

// Engine runs calls.
type Engine struct {
	router *Router
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
	return &Engine{router: r, opts: opts}
}

// Router returns the engine's router.
func (e *Engine) Router() *Router { return e.router }

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
		Attempts:  1,
	}
	x := &exchange{e: e, c: c, sink: sink, rec: &rec}
	x.run(ctx)
	rec.Duration = time.Since(c.Start)
	if rec.Status == "" {
		rec.Status = store.CallOK
	}
	if e.opts.Recorder != nil {
		if err := e.opts.Recorder.Record(rec); err != nil {
			e.opts.Logger.Error("record call", "request_id", c.RequestID, "err", err)
		}
	}
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

func (x *exchange) run(ctx context.Context) {
	defer x.finishUsage()
	targets, err := x.e.router.Resolve(x.c.Model)
	if err != nil {
		x.fail(err)
		return
	}
	t := targets[0]
	p := t.Provider
	x.rec.Provider = p.Name
	x.rec.UpstreamModel = t.Model

	flags := uint32(0)
	if x.c.Stream {
		flags |= abi.FlagStream
		if x.c.IncludeUsage {
			flags |= abi.FlagIncludeUsage
		}
	}
	if !slices.Contains(p.Plugin.Manifest().APIs, x.c.API) {
		x.fail(apierr.Unsupported(p.Name, x.c.Model, x.c.API))
		return
	}
	options := p.Options
	if options == nil {
		options = emptyObject
	}
	out, err := p.Plugin.Request(ctx, &abi.RequestIn{API: x.c.API, Model: t.Model, Flags: flags, RequestID: x.c.RequestID, Body: x.c.Body,
		Provider: p.Name, Options: options, UnixMS: time.Now().UnixMilli()})
	if err != nil {
		x.fail(err)
		return
	}
	uctx, cancel := context.WithTimeout(ctx, x.e.opts.UpstreamTimeout)
	defer cancel()
	req, err := x.newUpstreamRequest(uctx, p, &out)
	if err != nil {
		x.fail(apierr.Internal(err))
		return
	}
	resp, err := x.e.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			x.abort()
			return
		}
		x.fail(err)
		return
	}
	defer func() {
		// Read what is left (a stream's chunked terminator after its last
		// event) so the connection goes back to the pool instead of being
		// closed: re-dialing per stream cost more than a tenth of the hub's
		// CPU under load. Bounded, so a misbehaving upstream cannot hold us.
		if ctx.Err() == nil {
			io.CopyN(io.Discard, resp.Body, 64<<10)
		}
		resp.Body.Close()
	}()
	x.rec.HTTPStatus = resp.StatusCode

	if !x.c.Stream || resp.StatusCode < 200 || resp.StatusCode > 299 {
		x.whole(ctx, p, out.State, resp)
		return
	}
	x.stream(ctx, p, out.State, resp)
}

func (x *exchange) newUpstreamRequest(ctx context.Context, p *Provider, out *abi.RequestOut) (*http.Request, error) {
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
	secret, idx := p.credential()
	if idx >= 0 && idx < len(p.CredentialIDs) {
		x.rec.CredentialID = p.CredentialIDs[idx]
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

func upstreamHeaders(h http.Header) []abi.Header {
	out := make([]abi.Header, 0, len(h))
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, abi.Header{Name: k, Value: v})
		}
	}
	return out
}

// whole handles a non-stream response, or any non-2xx response.
func (x *exchange) whole(ctx context.Context, p *Provider, state []byte, resp *http.Response) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, x.e.opts.MaxResponseBody+1))
	if err != nil {
		if ctx.Err() != nil {
			x.abort()
			return
		}
		x.fail(err)
		return
	}
	if int64(len(body)) > x.e.opts.MaxResponseBody {
		x.fail(&apierr.Error{Status: 502, Type: apierr.TypeUpstream, Message: "The provider's response exceeds the hub's limit."})
		return
	}
	ro, err := p.Plugin.Response(ctx, &abi.ResponseIn{State: state, Status: uint32(resp.StatusCode), Headers: upstreamHeaders(resp.Header), Body: body})
	if err != nil {
		x.fail(err)
		return
	}
	x.usage = ro.Usage
	x.rec.TTFB = time.Since(x.c.Start)
	if err := x.sink.WriteResponse(ro.Body); err != nil {
		x.abort()
	}
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
func (x *exchange) stream(ctx context.Context, p *Provider, state []byte, resp *http.Response) {
	x.ctx, x.plugin = ctx, p.Plugin
	x.in = abi.StreamIn{State: state}
	fr, err := framing.New(p.Plugin.Manifest().StreamFraming, &flushBeforeRead{r: resp.Body, x: x}, x.e.opts.MaxEvent)
	if err != nil {
		x.fail(apierr.Internal(err))
		return
	}
	for {
		ev, err := fr.Next()
		if x.finished {
			return
		}
		if err != nil {
			x.drain()
			if x.finished {
				return
			}
			switch {
			case ctx.Err() != nil:
				x.abort()
			case errors.Is(err, io.EOF):
				x.fail(errStreamEnded)
			default:
				x.fail(err)
			}
			return
		}
		// The event aliases the framer's buffer, which the next read may
		// overwrite: keep a copy until the plugin has seen it.
		n := len(x.batch)
		x.batch = append(append(x.batch, ev.Name...), ev.Data...)
		x.in.Events = append(x.in.Events, abi.Event{Name: x.batch[n : n+len(ev.Name)], Data: x.batch[n+len(ev.Name):]})
		if len(x.in.Events) >= maxBatchEvents || len(x.batch) >= maxBatchBytes {
			x.drain()
			if x.finished {
				return
			}
		}
	}
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
			x.finished = true
			if x.ctx.Err() != nil {
				x.abort()
				return
			}
			x.fail(err)
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
			x.finished = true
			x.fail(so.Error)
			return
		}
		if so.Flags&abi.StreamDone != 0 {
			x.finished = true
			x.markStarted()
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
