package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/proxy"
)

// Options configure a Server. Zero values take the documented defaults.
type Options struct {
	// Auth authenticates API keys. Required.
	Auth *auth.Authenticator
	// Engine runs calls. Required.
	Engine *proxy.Engine
	// MaxRequestBody limits request bodies. Zero means 4 MiB.
	MaxRequestBody int64
	// Logger logs handler failures. Nil means slog.Default().
	Logger *slog.Logger
	// Ready reports whether the hub can serve (GET /readyz). Nil means
	// always ready.
	Ready func() error
	// Admin serves every method under /api/admin/ (it authenticates and
	// authorizes on its own). Nil means no admin API: those paths are 404.
	Admin http.Handler
	// User serves every method of UserPaths: the caller's own usage, calls
	// and account. Nil means none.
	User      http.Handler
	UserPaths []string
	// Rates returns the model prices callers pay, for the AIGNE surface:
	// GET /api/ai/models shows them as credits per token and
	// GET /api/v2/status reports a model without one as unavailable. It
	// is called on every such request, so it should read a cached view.
	// Nil means calls are not charged: prices show as "0" and status does
	// not check them.
	Rates RatesFunc
	// Session serves every method of /api/session, the dashboard's
	// sign-in. Nil means none.
	Session http.Handler
	// Dashboard serves the web app (host/dashboard): the requests no route
	// takes that it matches. Nil means none: every such request is a 404.
	Dashboard Dashboard
}

// Dashboard is the web app: it serves the requests it matches.
type Dashboard interface {
	http.Handler
	Match(r *http.Request) bool
}

// Server routes HTTP requests to the surfaces.
type Server struct {
	opts     Options
	router   *httprouter.Router
	models   atomic.Pointer[modelsBody] // the /v1/models body, rebuilt when the router's models change
	created  time.Time
	draining atomic.Bool
	inflight sync.WaitGroup
}

// New returns a Server.
func New(opts Options) *Server {
	if opts.MaxRequestBody <= 0 {
		opts.MaxRequestBody = 4 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, router: httprouter.New()}
	s.created = time.Now()
	r := s.router
	r.HandleMethodNotAllowed = true
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if opts.Dashboard != nil && opts.Dashboard.Match(r) {
			opts.Dashboard.ServeHTTP(w, r)
			return
		}
		apierr.WriteOpenAI(w, apierr.NotFound("Unknown request URL: "+r.Method+" "+r.URL.Path+"."))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apierr.WriteOpenAI(w, &apierr.Error{Status: 405, Type: apierr.TypeInvalidRequest, Message: "Method " + r.Method + " is not allowed on " + r.URL.Path + "."})
	})
	r.POST("/v1/chat/completions", s.chatCompletions)
	r.POST("/v1/embeddings", s.embeddings)
	r.POST("/v1/images/generations", s.imageGenerations)
	r.GET("/v1/models", s.listModels)
	r.POST("/v1/messages", s.anthropicMessages)
	r.POST("/v1/messages/count_tokens", s.anthropicCountTokens)
	r.GET("/__blocklet__.js", s.aigneBlocklet)
	r.POST("/api/v2/chat", s.aigneChat)
	r.POST("/api/v2/chat/completions", s.aigneChatCompletions)
	r.POST("/api/v2/completions", s.aigneChatCompletions)
	r.POST("/api/v2/embeddings", s.aigneEmbeddings)
	r.POST("/api/v2/image", s.aigneImage)
	r.POST("/api/v2/image/generations", s.aigneImageGenerations)
	r.GET("/api/v2/status", s.aigneStatus)
	r.GET("/api/ai/models", s.aigneModels)
	r.GET("/api/ai-providers/models", s.aigneModels)
	r.GET("/healthz", s.healthz)
	r.GET("/readyz", s.readyz)
	if opts.Admin != nil {
		admin := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { opts.Admin.ServeHTTP(w, r) }
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r.Handle(m, "/api/admin/*path", admin)
		}
	}
	if opts.Session != nil {
		session := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { opts.Session.ServeHTTP(w, r) }
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r.Handle(m, "/api/session", session)
		}
	}
	if opts.User != nil {
		user := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) { opts.User.ServeHTTP(w, r) }
		for _, path := range opts.UserPaths {
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
				r.Handle(m, path, user)
			}
		}
	}
	return s
}

// SetDraining makes /readyz fail while the hub shuts down, so load
// balancers stop sending new calls.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Wait blocks until every handler has returned, or ctx is done.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP applies the middleware and routes the request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	w.Header().Set("X-Request-Id", newRequestID())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // the standard way to abort a response; let net/http handle it
			}
			s.opts.Logger.Error("handler panic", "request_id", w.Header().Get("X-Request-Id"), "method", r.Method, "path", r.URL.Path, "panic", v)
			apierr.WriteOpenAI(w, apierr.Internal(errors.New("panic")))
		}
	}()
	s.router.ServeHTTP(w, r)
}

// readCall is the prelude of every call handler: it authenticates the
// caller, reads the body (at most Options.MaxRequestBody) and returns the
// call with its request id, key, body and start time; the handler sets the
// rest, and writes an error in its surface's shape.
func (s *Server) readCall(w http.ResponseWriter, r *http.Request) (*proxy.Call, *apierr.Error) {
	start := time.Now()
	key, err := s.opts.Auth.Authenticate(r.Context(), r)
	if err != nil {
		return nil, apierr.From(err)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.TooLarge(mbe.Limit)
		}
		return nil, apierr.BadRequest("", "Could not read the request body.")
	}
	return &proxy.Call{RequestID: w.Header().Get("X-Request-Id"), Key: key, Body: body, Start: start}, nil
}

// newRequestID returns "req_" and 32 hex digits, like OpenAI's ids: the
// first 12 are the Unix time in milliseconds and the rest random (as in
// UUIDv7), so that ids sort by time and the database's request-id indexes
// (calls, attempts, ledger) grow at their right edge instead of splitting
// pages all over the b-tree at every insert.
func newRequestID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	rand.Read(b[6:])
	var out [36]byte
	copy(out[:], "req_")
	hex.Encode(out[4:], b[:])
	return string(out[:])
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "application/json")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"draining"}` + "\n"))
		return
	}
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"unavailable","reason":` + strconv.Quote(err.Error()) + "}\n"))
			return
		}
	}
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}
