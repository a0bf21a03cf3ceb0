package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultModels is what GET /v1/models lists when Options.Models is nil.
var DefaultModels = []string{"gpt-4o", "gpt-4o-mini", "gpt-5-mini", "text-embedding-3-small"}

// DefaultAnswer is the text whose words answers cycle through when
// Options.Answer is empty.
const DefaultAnswer = "Hello from the AIGNE Hub provider emulator. This answer is canned, deterministic and cheap to produce, so benchmarks measure the hub rather than the model."

const (
	defaultChunks      = 5 // as in chat-completions.stream-text.response.sse
	defaultDimensions  = 8 // as in the embeddings fixtures
	defaultRecordLimit = 1000
	maxChunks          = 1 << 20
	maxDimensions      = 1 << 16
	maxBodyBytes       = 32 << 20
	maxCached          = 1 << 30
	// modelCreated is the "created" of listed models when Options.Created
	// is zero.
	modelCreated = 1721172741
)

// Options configures an Emulator. Every field's zero value is a usable
// default, stated in its doc. The timing and failure fields are the
// instance-wide defaults of the X-Emulator-* request headers, which override
// them per request.
type Options struct {
	// Models lists the model ids GET /v1/models (and Ollama's GET
	// /api/tags) returns; when set, they are also the only ids requests to
	// any provider may name (others get the provider's model-not-found
	// error). Nil: DefaultModels is listed (Ollama lists its own few) and
	// any model whose id does not start with "unknown" is accepted.
	Models []string

	// APIKey is the only API key accepted: the OpenAI bearer token,
	// Anthropic's x-api-key, Gemini's x-goog-api-key or ?key=, Ideogram's
	// Api-Key and a Bedrock API key (bearer). Empty: any non-empty key is
	// accepted. Ollama needs no key; Bedrock otherwise checks SigV4.
	APIKey string

	// Answer is the text whose words, cycled, make up chat answers.
	// Empty: DefaultAnswer.
	Answer string

	// Chunks is the number of content chunks of a stream, which is also the
	// number of words of a non-stream answer and the number of argument
	// fragments of a tool call. Zero: 5. Header: X-Emulator-Chunks.
	Chunks int

	// Latency delays every response before its headers. Zero: no delay.
	// Header: X-Emulator-Latency.
	Latency time.Duration

	// Pace is the delay between two events of a stream. Zero: no delay.
	// Header: X-Emulator-Pace.
	Pace time.Duration

	// Status forces every response to this error status, with the body
	// the provider sends for it (the fixtures' where there is one; others
	// get a generic one in the provider's shape). Zero: normal responses.
	// Header: X-Emulator-Status.
	Status int

	// RetryAfter is sent as Retry-After, in whole seconds rounded up, with a
	// forced Status. Zero: no Retry-After. Header: X-Emulator-Retry-After.
	RetryAfter time.Duration

	// InsufficientQuota makes a forced 429 a quota error (OpenAI's
	// insufficient_quota, Anthropic's usage limit, Gemini's daily quota,
	// Bedrock's ServiceQuotaExceededException) instead of a rate limit,
	// and a failed Bedrock stream a throttlingException.
	// Header: X-Emulator-Quota.
	InsufficientQuota bool

	// FailAfter fails every stream after this many events: an OpenAI
	// stream is cut without [DONE], the others end with their in-stream
	// error; a non-stream body is cut after half its bytes. Zero:
	// responses complete. Header: X-Emulator-Fail-After (where 0 fails
	// right after the headers).
	FailAfter int

	// Hang makes every request wait, without a response, until its client
	// gives up or Close is called. Zero: requests are answered.
	// Header: X-Emulator-Hang.
	Hang bool

	// Dimensions is the embedding vector length when a request sets no
	// "dimensions". Zero: 8.
	Dimensions int

	// Created is the Unix time put in every "created" field. Zero: the
	// current time for responses, a fixed time for listed models.
	Created int64

	// Record keeps the most recent requests (headers and body copied) for
	// Requests. Zero: nothing is recorded and the hot path skips the
	// copies, as a benchmark wants.
	Record bool

	// RecordLimit is how many of the most recent requests Requests returns
	// when Record is set. Zero: 1000.
	RecordLimit int

	// Cached is the number of cached prompt tokens every answer reports, in
	// its provider's usage shape; they come on top of the tokens the
	// emulator counts for the prompt. Zero: nothing is cached.
	// Header: X-Emulator-Cached.
	Cached int

	// ReasoningField names the field that carries reasoning text on the
	// OpenAI-compatible chat endpoint: "reasoning_content" (DeepSeek) or
	// "reasoning" (OpenRouter). Empty: "reasoning_content".
	// Header: X-Emulator-Reasoning-Field.
	ReasoningField string

	// AWSAccessKeyID and AWSSecretAccessKey are the only credentials whose
	// SigV4 signatures the Bedrock endpoints accept. Empty: AKIDEMULATOR
	// and emulator-secret (DefaultAWSAccessKeyID, DefaultAWSSecretAccessKey).
	AWSAccessKeyID     string
	AWSSecretAccessKey string
}

// The Bedrock credentials when Options leaves them empty.
const (
	DefaultAWSAccessKeyID     = "AKIDEMULATOR"
	DefaultAWSSecretAccessKey = "emulator-secret"
)

// Emulator is an http.Handler emulating the providers' APIs. Create it
// with New; it is safe for concurrent use.
type Emulator struct {
	opts Options

	// words holds the pre-escaped answer words: words[i] is the i-th word
	// with a leading space, so words[i][1:] starts an answer. plain holds
	// the same words unescaped, for the providers whose bodies are built
	// with encoding/json.
	words [][]byte
	plain []string

	// thinkWords and thinkPlain are the words of the reasoning text, in
	// the same two forms.
	thinkWords [][]byte
	thinkPlain []string

	// accept is the set of accepted models; nil accepts any model not
	// starting with "unknown".
	accept     map[string]bool
	models     []string
	modelsBody []byte

	seq      atomic.Uint64 // ID sequence
	recorder *recorder     // nil unless Options.Record

	closeOnce sync.Once
	closed    chan struct{}
}

var _ http.Handler = (*Emulator)(nil)

// New returns an Emulator configured by opts.
func New(opts Options) *Emulator {
	if opts.Answer == "" {
		opts.Answer = DefaultAnswer
	}
	if opts.Chunks <= 0 {
		opts.Chunks = defaultChunks
	}
	if opts.Dimensions <= 0 {
		opts.Dimensions = defaultDimensions
	}
	if opts.RecordLimit <= 0 {
		opts.RecordLimit = defaultRecordLimit
	}
	if opts.Cached < 0 {
		opts.Cached = 0
	}
	if opts.ReasoningField != reasoningFieldOpenRouter {
		opts.ReasoningField = reasoningFieldDeepSeek
	}
	if opts.AWSAccessKeyID == "" {
		opts.AWSAccessKeyID = DefaultAWSAccessKeyID
	}
	if opts.AWSSecretAccessKey == "" {
		opts.AWSSecretAccessKey = DefaultAWSSecretAccessKey
	}
	e := &Emulator{opts: opts, closed: make(chan struct{})}
	e.words, e.plain = splitWords(opts.Answer)
	e.thinkWords, e.thinkPlain = splitWords(reasoningText)
	e.models = DefaultModels
	if opts.Models != nil {
		e.models = opts.Models
		e.accept = make(map[string]bool, len(opts.Models))
		for _, m := range opts.Models {
			e.accept[m] = true
		}
	}
	e.modelsBody = e.appendModelList(nil)
	if opts.Record {
		e.recorder = newRecorder(opts.RecordLimit)
	}
	return e
}

// Requests returns copies of the most recent requests (at most
// Options.RecordLimit), oldest first. It returns nil unless Options.Record
// is set.
func (e *Emulator) Requests() []RecordedRequest {
	if e.recorder == nil {
		return nil
	}
	return e.recorder.snapshot()
}

// Reset forgets the recorded requests.
func (e *Emulator) Reset() {
	if e.recorder != nil {
		e.recorder.reset()
	}
}

// Close releases every request held by the hang switch, cutting its
// connection, and makes requests arriving later fail the same way at once.
// Latency and pace waits are bounded and run their course, so a server
// shutdown after Close drains the streams in flight without waiting for
// hung requests. Close is idempotent.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() { close(e.closed) })
	return nil
}

// acceptsModel reports whether chat and embeddings requests may name model.
func (e *Emulator) acceptsModel(model string) bool {
	if e.accept != nil {
		return e.accept[model]
	}
	return !strings.HasPrefix(model, "unknown")
}

// switches are the effective timing and failure settings of one request.
type switches struct {
	latency    time.Duration
	pace       time.Duration
	chunks     int
	status     int
	retryAfter string // Retry-After value; empty: none
	failAfter  int    // events before the cut; negative: no cut
	cached     int    // cached prompt tokens to report
	quota      bool
	hang       bool
	openRouter bool // reasoning text in "reasoning", not "reasoning_content"
}

// Header names of the switches.
const (
	HeaderLatency    = "X-Emulator-Latency"
	HeaderChunks     = "X-Emulator-Chunks"
	HeaderPace       = "X-Emulator-Pace"
	HeaderStatus     = "X-Emulator-Status"
	HeaderRetryAfter = "X-Emulator-Retry-After"
	HeaderQuota      = "X-Emulator-Quota"
	HeaderFailAfter  = "X-Emulator-Fail-After"
	HeaderHang       = "X-Emulator-Hang"
	HeaderCached     = "X-Emulator-Cached"
	// HeaderReasoningField is "reasoning_content" or "reasoning".
	HeaderReasoningField = "X-Emulator-Reasoning-Field"
)

// Reasoning field names of the OpenAI-compatible flavours.
const (
	reasoningFieldDeepSeek   = "reasoning_content"
	reasoningFieldOpenRouter = "reasoning"
)

// badSwitchError is a malformed switch header: its name and what it
// should hold.
type badSwitchError struct {
	header, want string
}

func (b *badSwitchError) message() string {
	return "Invalid value for emulator header '" + b.header + "': expected " + b.want + "."
}

// switchesFor merges the request's X-Emulator-* headers over the instance
// defaults. A malformed header is reported for a 400 naming it.
func (e *Emulator) switchesFor(h http.Header) (switches, *badSwitchError) {
	s := switches{
		latency:    e.opts.Latency,
		pace:       e.opts.Pace,
		chunks:     e.opts.Chunks,
		status:     e.opts.Status,
		quota:      e.opts.InsufficientQuota,
		failAfter:  -1,
		hang:       e.opts.Hang,
		cached:     e.opts.Cached,
		openRouter: e.opts.ReasoningField == reasoningFieldOpenRouter,
	}
	if e.opts.FailAfter > 0 {
		s.failAfter = e.opts.FailAfter
	}
	if e.opts.RetryAfter > 0 {
		s.retryAfter = strconv.FormatInt(int64((e.opts.RetryAfter+time.Second-1)/time.Second), 10)
	}
	// The headers are looked up by their canonical keys directly: the
	// server canonicalizes incoming names, and this skips the work per lookup.
	var err error
	if v := h[HeaderLatency]; len(v) > 0 {
		if s.latency, err = parseDuration(v[0]); err != nil {
			return s, badSwitch(HeaderLatency, "a duration such as 50ms")
		}
	}
	if v := h[HeaderPace]; len(v) > 0 {
		if s.pace, err = parseDuration(v[0]); err != nil {
			return s, badSwitch(HeaderPace, "a duration such as 5ms")
		}
	}
	if v := h[HeaderChunks]; len(v) > 0 {
		if s.chunks, err = strconv.Atoi(v[0]); err != nil || s.chunks < 0 || s.chunks > maxChunks {
			return s, badSwitch(HeaderChunks, "an integer from 0 to "+strconv.Itoa(maxChunks))
		}
	}
	if v := h[HeaderStatus]; len(v) > 0 {
		if s.status, err = strconv.Atoi(v[0]); err != nil || (s.status != 0 && s.status != 200 && (s.status < 400 || s.status > 599)) {
			return s, badSwitch(HeaderStatus, "an HTTP status from 400 to 599 (or 200)")
		}
		if s.status == 200 {
			s.status = 0
		}
	}
	if v := h[HeaderRetryAfter]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return s, badSwitch(HeaderRetryAfter, "a non-negative number of seconds")
		}
		s.retryAfter = strconv.Itoa(n)
	}
	if v := h[HeaderQuota]; len(v) > 0 {
		if s.quota, err = strconv.ParseBool(v[0]); err != nil {
			return s, badSwitch(HeaderQuota, "a boolean such as 1 or 0")
		}
	}
	if v := h[HeaderFailAfter]; len(v) > 0 {
		if s.failAfter, err = strconv.Atoi(v[0]); err != nil || s.failAfter < 0 {
			return s, badSwitch(HeaderFailAfter, "a non-negative number of events")
		}
	}
	if v := h[HeaderHang]; len(v) > 0 {
		if s.hang, err = strconv.ParseBool(v[0]); err != nil {
			return s, badSwitch(HeaderHang, "a boolean such as 1 or 0")
		}
	}
	if v := h[HeaderCached]; len(v) > 0 {
		if s.cached, err = strconv.Atoi(v[0]); err != nil || s.cached < 0 || s.cached > maxCached {
			return s, badSwitch(HeaderCached, "a number of tokens from 0 to "+strconv.Itoa(maxCached))
		}
	}
	if v := h[HeaderReasoningField]; len(v) > 0 {
		if v[0] != reasoningFieldDeepSeek && v[0] != reasoningFieldOpenRouter {
			return s, badSwitch(HeaderReasoningField, "reasoning_content or reasoning")
		}
		s.openRouter = v[0] == reasoningFieldOpenRouter
	}
	return s, nil
}

// parseDuration accepts a Go duration ("50ms") or a bare number of
// milliseconds ("50").
func parseDuration(v string) (time.Duration, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, errors.New("negative duration")
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		return 0, errors.New("negative duration")
	}
	return d, err
}

func badSwitch(header, want string) *badSwitchError {
	return &badSwitchError{header: header, want: want}
}

// errAborted tells ServeHTTP the wait ended without a response to send.
var errAborted = errors.New("emulator: request aborted")

// wait sleeps for d, or until the client gives up; it reuses *timer across
// calls of one request. It returns errAborted when the client is gone.
func (e *Emulator) wait(ctx context.Context, timer **time.Timer, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-(*timer).C:
		return nil
	case <-ctx.Done():
		return errAborted
	}
}

// route is an endpoint of the emulator.
type route int

const (
	routeNone route = iota
	routeChat
	routeEmbeddings
	routeModels
	routeModel  // GET /v1/models/{id}
	routeImages // POST /v1/images/generations

	// The routes from here on have a dialect: their own authentication
	// and error shapes.
	routeAnthropic // POST /v1/messages
	routeGemini    // /v1beta/...
	routeOllama    // /api/...
	routeBedrock   // /model/...
	routeIdeogram  // POST /v1/ideogram-v3/generate
	routeImageFile // GET of a generated image's URL
	routeDialects  = routeAnthropic
)

// imageFilePrefix is the path under which the emulator serves the images
// whose URLs it hands out.
const imageFilePrefix = "/emulator/images/"

func routeOf(method, path string) route {
	switch {
	case path == "/v1/chat/completions" && method == http.MethodPost:
		return routeChat
	case path == "/v1/embeddings" && method == http.MethodPost:
		return routeEmbeddings
	case path == "/v1/models" && method == http.MethodGet:
		return routeModels
	case strings.HasPrefix(path, "/v1/models/") && len(path) > len("/v1/models/") && method == http.MethodGet:
		return routeModel
	case path == "/v1/images/generations" && method == http.MethodPost:
		return routeImages
	case strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/api/v3/"):
		// The OpenAI-compatible endpoints under OpenRouter's (/api/v1)
		// and Volcengine Ark's (/api/v3) base paths.
		if rt := routeOf(method, "/v1/"+path[len("/api/v1/"):]); rt < routeDialects && rt != routeNone {
			return rt
		}
		return routeOllama
	case path == "/chat/completions" && method == http.MethodPost:
		return routeChat // DeepSeek's base URL has no /v1
	case path == "/v1/messages" && method == http.MethodPost:
		return routeAnthropic
	case strings.HasPrefix(path, "/v1beta/"):
		return routeGemini
	case strings.HasPrefix(path, "/api/"):
		return routeOllama
	case strings.HasPrefix(path, "/model/"):
		return routeBedrock
	case path == "/v1/ideogram-v3/generate" && method == http.MethodPost:
		return routeIdeogram
	case strings.HasPrefix(path, imageFilePrefix) && method == http.MethodGet:
		return routeImageFile
	}
	return routeNone
}

// dialect is a provider API other than OpenAI's: how it authenticates,
// how it renders errors and how it serves its endpoints.
type dialect struct {
	// auth returns the error for a request whose credentials are refused.
	auth func(e *Emulator, x *exchange, body []byte) *apiError
	// forced renders the forced status x.sw.status.
	forced func(e *Emulator, x *exchange, body []byte) *apiError
	// invalid renders a 400 about the request.
	invalid func(x *exchange, message string) *apiError
	// serve answers an authorized request.
	serve func(e *Emulator, x *exchange, body []byte)
	// noForced ignores a forced status (image downloads).
	noForced bool
}

// dialectOf returns the dialect of the routes from routeDialects on.
func dialectOf(rt route) *dialect {
	switch rt {
	case routeAnthropic:
		return &anthropicDialect
	case routeGemini:
		return &geminiDialect
	case routeOllama:
		return &ollamaDialect
	case routeBedrock:
		return &bedrockDialect
	case routeIdeogram:
		return &ideogramDialect
	case routeImageFile:
		return &imageFileDialect
	}
	return nil
}

// bufPool holds request-body and response-body buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// exchange is the state of one request shared by the endpoint handlers.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	seq   uint64 // the request's number, which seeds its IDs
	sw    switches
	timer *time.Timer
}

// ServeHTTP serves one API request. In order: read and record the request,
// apply the latency and hang switches, check the credentials (the bearer
// token, or the provider's own), apply a forced status, then serve the
// endpoint. Errors take the shape of the provider the path belongs to.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := exchange{w: w, r: r, start: time.Now(), seq: e.seq.Add(1)}
	rt := routeOf(r.Method, r.URL.Path)

	// Read the whole body first: the client has sent it before any switch
	// delays the answer, and the recorder keeps it.
	var body []byte
	var pooled *[]byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		if e.recorder == nil {
			pooled = bufPool.Get().(*[]byte)
			body, err = readBody(r.Body, (*pooled)[:0])
		} else {
			// The recorder keeps the body, so it gets its own slice.
			var b []byte
			if r.ContentLength > 0 && r.ContentLength <= maxBodyBytes {
				b = make([]byte, 0, r.ContentLength+1)
			}
			body, err = readBody(r.Body, b)
		}
		if pooled != nil {
			defer func() { *pooled = body[:0]; putBuf(pooled) }()
		}
		if err != nil {
			if errors.Is(err, errBodyLimit) {
				x.writeError(errBodyTooLarge, "")
			}
			return
		}
	}
	if e.recorder != nil {
		e.recorder.add(RecordedRequest{
			Method:  r.Method,
			Path:    r.URL.Path,
			RawPath: r.URL.EscapedPath(),
			Query:   r.URL.RawQuery,
			Header:  r.Header.Clone(),
			Body:    body,
		})
	}

	var d *dialect
	if rt >= routeDialects {
		d = dialectOf(rt)
	}
	sw, badSw := e.switchesFor(r.Header)
	if badSw != nil {
		if d != nil {
			x.writeError(d.invalid(&x, badSw.message()), "")
			return
		}
		x.writeError(errInvalidRequest(badSw.message(), badSw.header, "invalid_value"), "")
		return
	}
	x.sw = sw
	defer func() {
		if x.timer != nil {
			x.timer.Stop()
		}
	}()
	select {
	case <-e.closed:
		panic(http.ErrAbortHandler)
	default:
	}
	if err := e.wait(r.Context(), &x.timer, sw.latency); err != nil {
		return // the client is gone
	}
	if sw.hang {
		select {
		case <-r.Context().Done():
		case <-e.closed:
		}
		abort(r)
		return
	}

	if d != nil {
		if apiErr := d.auth(e, &x, body); apiErr != nil {
			x.writeError(apiErr, "")
			return
		}
		if sw.status != 0 && !d.noForced {
			x.writeError(d.forced(e, &x, body), sw.retryAfter)
			return
		}
		d.serve(e, &x, body)
		return
	}
	if !e.authorized(r.Header) {
		x.writeError(errInvalidAPIKey, "")
		return
	}
	if sw.status != 0 {
		x.writeError(errForStatus(sw.status, sw.quota, modelOf(body)), sw.retryAfter)
		return
	}

	switch rt {
	case routeChat:
		e.serveChat(&x, body)
	case routeEmbeddings:
		e.serveEmbeddings(&x, body)
	case routeModels:
		x.setSuccessHeaders(ctJSON, len(e.modelsBody))
		w.WriteHeader(http.StatusOK)
		e.writeBody(&x, e.modelsBody)
	case routeModel:
		p := r.URL.Path
		e.serveModel(&x, p[strings.Index(p, "/models/")+len("/models/"):])
	case routeImages:
		e.serveImages(&x, body)
	default:
		x.writeError(errInvalidURL(r.Method, r.URL.Path), "")
	}
}

// abort ends a request that waited without answering: if the client is
// still there (Close released a hang), the connection is cut so it cannot
// mistake the silence for an empty success.
func abort(r *http.Request) {
	if r.Context().Err() == nil {
		panic(http.ErrAbortHandler)
	}
}

var errBodyLimit = errors.New("request body too large")

// readBody appends all of rd to b, failing beyond maxBodyBytes.
func readBody(rd io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > maxBodyBytes {
			return b, errBodyLimit
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// authorized reports whether h carries an acceptable bearer token.
func (e *Emulator) authorized(h http.Header) bool {
	v := h["Authorization"]
	if len(v) == 0 {
		return false
	}
	const prefix = "Bearer "
	if len(v[0]) <= len(prefix) || !strings.EqualFold(v[0][:len(prefix)], prefix) {
		return false
	}
	key := strings.TrimSpace(v[0][len(prefix):])
	if key == "" {
		return false
	}
	return e.opts.APIKey == "" || key == e.opts.APIKey
}

// modelOf extracts "model" from a request body for error messages; it
// returns "" when there is none.
func modelOf(body []byte) string {
	var m struct {
		Model string `json:"model"`
	}
	if len(body) == 0 || json.Unmarshal(body, &m) != nil {
		return ""
	}
	return m.Model
}

// requestID is the X-Request-Id of an OpenAI response, req_ and 32 hex
// digits.
func (x *exchange) requestID() string {
	var id [36]byte
	copy(id[:], "req_")
	fillHex(id[4:], x.seq)
	return string(id[:])
}

// setSuccessHeaders sets the headers of a 200: content type, length when
// known (n >= 0), and the OpenAI metadata headers seen on live traffic.
func (x *exchange) setSuccessHeaders(ct []string, n int) {
	h := x.w.Header()
	h["Content-Type"] = ct
	if n >= 0 {
		h["Content-Length"] = []string{strconv.Itoa(n)}
	}
	h["X-Request-Id"] = []string{x.requestID()}
	h["Openai-Processing-Ms"] = []string{strconv.FormatInt(time.Since(x.start).Milliseconds(), 10)}
	setRateLimitHeaders(h, false)
}

// writeBody writes a complete non-stream body, or, with the fail-after
// switch, half of it before cutting the connection.
func (e *Emulator) writeBody(x *exchange, body []byte) {
	if x.sw.failAfter >= 0 {
		x.w.Write(body[:len(body)/2])
		flush(x.w)
		panic(http.ErrAbortHandler)
	}
	x.w.Write(body)
}

// flush pushes buffered response bytes to the client.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w).Flush()
}

// created is the "created" value of a response.
func (e *Emulator) created(x *exchange) int64 {
	if e.opts.Created != 0 {
		return e.opts.Created
	}
	return x.start.Unix()
}
