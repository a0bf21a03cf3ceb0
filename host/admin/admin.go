package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/store"
)

// Prefix is the path prefix of every admin route.
const Prefix = "/api/admin/"

// DefaultMaxBody is the request body limit when [Options].MaxBody is 0.
const DefaultMaxBody = 1 << 20

// PluginInfo describes a loaded plugin, for GET /api/admin/plugins.
type PluginInfo struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
	// SHA256 is the hex SHA-256 of the plugin's Wasm module.
	SHA256 string `json:"sha256"`
	// Source is "builtin:NAME" or the module's file path.
	Source        string   `json:"source"`
	APIs          []string `json:"apis"`
	Auth          string   `json:"auth"`
	StreamFraming string   `json:"stream_framing"`
	Trusted       bool     `json:"trusted"`
	PoolSize      int      `json:"pool_size"`
	// Providers are the names of the providers the plugin serves.
	Providers []string `json:"providers"`
	// LoadedAt is when the serving version was loaded.
	LoadedAt time.Time `json:"loaded_at"`
	// Watch says the module's file is watched and hot-reloaded on change.
	Watch bool `json:"watch"`
	// Rollback is the last good version before this one, which POST
	// .../rollback brings back; nil when there is none.
	Rollback *PluginVersion `json:"rollback"`
	// Draining counts replaced versions still open for the calls that
	// started on them.
	Draining int `json:"draining"`
	// LastReload is the outcome of the latest reload or rollback; nil when
	// there was none.
	LastReload *PluginReload `json:"last_reload"`

	// The pool now and the counters of the serving version since it was
	// loaded (runtime.Stats): instances alive, idle and running a call;
	// calls run, calls that returned a plugin error, crashes (an instance
	// that trapped, ran past its deadline or failed to start), instances
	// recycled for memory, the largest instance memory, and whether the
	// plugin is crash-looping (5 crashes within a minute).
	Instances   int    `json:"instances"`
	Idle        int    `json:"idle"`
	InUse       int    `json:"in_use"`
	Calls       uint64 `json:"calls"`
	Errors      uint64 `json:"errors"`
	Crashes     uint64 `json:"crashes"`
	Recycled    uint64 `json:"recycled"`
	MemoryBytes uint64 `json:"memory_bytes"`
	CrashLoop   bool   `json:"crash_loop"`
}

// Runtime is what the admin API needs from the running hub (host/app
// implements it): live state that is not in the database.
type Runtime interface {
	// ProviderStates returns the health of every routed provider and its
	// credentials (active, cooling_down, disabled, broken, with reasons).
	ProviderStates() []proxy.ProviderState
	// TestCredential checks the credential with the given store ID
	// against its upstream. The result never holds the secret. An error
	// wrapping store.ErrNotFound means the credential is not being routed
	// (its provider is disabled, say).
	TestCredential(ctx context.Context, credentialID int64) (proxy.CheckResult, error)
	// Plugins describes the loaded plugins.
	Plugins() []PluginInfo
	// KeyUsage returns an API key's use in the current limits window.
	KeyUsage(keyID int64) limits.Snapshot
}

// Options configure a [Handler].
type Options struct {
	// Auth authenticates every request. Required.
	Auth *auth.Authenticator
	// Manage performs the operations. Required.
	Manage *manage.Service
	// Runtime gives the live state. Nil means the routes that need it
	// (state, plugins, credential tests, key usage) answer 503.
	Runtime Runtime
	// Logger receives internal errors (their causes, never shown to the
	// client). Nil means slog.Default().
	Logger *slog.Logger
	// MaxBody is the largest request body accepted, in bytes. Zero or
	// negative means DefaultMaxBody (1 MiB).
	MaxBody int64
	// Recorder is the call recorder, flushed when a call asked for by
	// request ID is not yet in the database (it may have just ended).
	// Nil means calls are looked up once.
	Recorder Flusher
	// Models lists the models the routed providers serve, for
	// GET /api/admin/model-rates/unpriced. Nil means that route answers
	// 503.
	Models func() []proxy.ModelInfo
}

// A Flusher writes out every record queued so far (store.Recorder).
type Flusher interface {
	Flush(ctx context.Context) error
}

// Handler serves the admin API. It is safe for concurrent use.
type Handler struct {
	core
	routes []route
}

var _ http.Handler = (*Handler)(nil)

// core is what the admin and the user handlers share: their options,
// router, and the writing of results and errors.
type core struct {
	opts   Options
	what   string // "admin" or "user", for messages and logs
	router *httprouter.Router
}

// result is what a route returns: a status and a JSON body (nil for 204),
// or a CSV attachment.
type result struct {
	status int
	body   any
	// csv, when set, writes the response body instead: CSV, status 200,
	// as an attachment called filename.
	csv      func(w io.Writer) error
	filename string
}

// A route is one method and path of the admin API.
type route struct {
	method, path string
	handle       func(r *http.Request, ps httprouter.Params) (result, error)
}

// New returns a Handler. It panics if opts.Auth or opts.Manage is nil.
func New(opts Options) *Handler {
	h := &Handler{core: newCore(opts, "admin")}
	h.routes = h.routeTable()
	h.route(h.routes)
	return h
}

// newCore checks and completes opts, and returns a core with an empty
// router; what names the API in messages.
func newCore(opts Options, what string) core {
	if opts.Auth == nil || opts.Manage == nil {
		panic("admin: Options.Auth and Options.Manage are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	c := core{opts: opts, what: what}
	r := httprouter.New()
	// An API answers with errors, not redirects.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleOPTIONS = false
	r.HandleMethodNotAllowed = true
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.fail(w, req, apierr.NotFound("Unknown "+what+" API route: "+req.Method+" "+req.URL.Path+"."))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.fail(w, req, &apierr.Error{Status: http.StatusMethodNotAllowed, Type: apierr.TypeInvalidRequest, Code: "method_not_allowed",
			Message: "Method " + req.Method + " is not allowed on " + req.URL.Path + "; allowed: " + w.Header().Get("Allow") + "."})
	})
	c.router = r
	return c
}

// route registers routes.
func (c *core) route(routes []route) {
	for _, rt := range routes {
		c.router.Handle(rt.method, rt.path, c.serve(rt))
	}
}

// ServeHTTP authenticates the request, requires an admin key, and routes
// it. Authentication comes first, so that a caller without an admin key
// learns nothing about which routes exist: 401 or 403 everywhere.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	k, err := h.opts.Auth.Authenticate(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if k.Role != store.RoleAdmin {
		h.fail(w, r, apierr.Forbidden("This API key may not use the admin API: it needs the admin role."))
		return
	}
	ctx := store.WithActor(r.Context(), store.Actor{Name: fmt.Sprintf("key:%d:%s", k.ID, k.Prefix), KeyID: k.ID})
	r = r.WithContext(ctx)
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBody)
	}
	h.router.ServeHTTP(w, r)
}

func (c *core) serve(rt route) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		res, err := rt.handle(r, ps)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if res.csv != nil {
			c.writeCSV(w, r, res)
			return
		}
		if res.body == nil {
			w.WriteHeader(res.status)
			return
		}
		b, err := json.Marshal(res.body)
		if err != nil {
			c.fail(w, r, apierr.Internal(fmt.Errorf("encode response: %w", err)))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.status)
		w.Write(append(b, '\n'))
	}
}

// csvWriter sends the CSV headers and the 200 with the first byte written,
// so that an error before any output can still be answered as an error.
type csvWriter struct {
	w        http.ResponseWriter
	filename string
	started  bool
}

func (cw *csvWriter) Write(p []byte) (int, error) {
	if !cw.started {
		cw.started = true
		h := cw.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+cw.filename+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		cw.w.WriteHeader(http.StatusOK)
	}
	return cw.w.Write(p)
}

// writeCSV streams a CSV result. A failure before the first byte is
// answered as an error; after it, the response is aborted (the client
// sees a broken transfer, not a truncated file that looks whole).
func (c *core) writeCSV(w http.ResponseWriter, r *http.Request, res result) {
	cw := &csvWriter{w: w, filename: res.filename}
	err := res.csv(cw)
	switch {
	case err == nil && !cw.started:
		cw.Write(nil) // an empty export still gets its headers
	case err != nil && !cw.started:
		c.fail(w, r, err)
	case err != nil:
		c.opts.Logger.Error("csv export failed midway; aborting the response", "method", r.Method, "path", r.URL.Path, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// fail writes err in the OpenAI error shape, logging the cause of a 5xx.
func (c *core) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := apiError(err)
	if e.Status >= 500 {
		c.opts.Logger.Error(c.what+" api", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", err)
	}
	apierr.WriteOpenAI(w, e)
}

// apiError maps an error to its client-safe response: the one place where
// the admin API's errors become HTTP statuses.
func apiError(err error) *apierr.Error {
	var (
		ae  *apierr.Error
		ve  *manage.ValidationError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return apierr.BadRequest(ve.Field, ve.Error())
	case errors.As(err, &mbe):
		return apierr.TooLarge(mbe.Limit)
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound(capitalize(err.Error()) + ".")
	case errors.Is(err, store.ErrExists):
		return &apierr.Error{Status: http.StatusConflict, Type: apierr.TypeInvalidRequest, Code: "already_exists", Message: capitalize(err.Error()) + "."}
	}
	return apierr.Internal(err)
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// decode reads the request body, which must be one JSON object whose
// fields v knows, into v. Its errors never quote the body: it may hold a
// secret.
func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apierr.TooLarge(mbe.Limit)
		}
		return apierr.BadRequest("", "The request body could not be read.")
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return apierr.BadRequest("", "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber() // provider options keep their integers exact
	err = dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return apierr.BadRequest("", "The request body must hold one JSON object and nothing after it.")
		}
		return nil
	}
	var (
		se *json.SyntaxError
		te *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &se):
		return apierr.BadRequest("", fmt.Sprintf("The request body is not valid JSON (at byte %d).", se.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.BadRequest("", "The request body is not valid JSON: it ends too soon.")
	case errors.As(err, &te):
		field := te.Field
		return apierr.BadRequest(field, fmt.Sprintf("%s: must be %s, not a JSON %s.", field, jsonType(te.Type.String()), te.Value))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return apierr.BadRequest(name, fmt.Sprintf("Unknown field %q.", name))
	}
	// Other errors come from a field's own decoder, such as a time that
	// does not parse; they quote that field, never a secret (secrets are
	// plain strings).
	return apierr.BadRequest("", "The request body could not be decoded: "+err.Error()+".")
}

// jsonType describes a Go type in JSON's words.
func jsonType(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		if goType == "time.Time" {
			return "an RFC 3339 time string"
		}
		return "an object"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "a boolean"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return goType
}
