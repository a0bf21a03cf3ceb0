// Package app assembles a hub from its configuration and runs its
// lifecycle: load → validate → provision → serve → shut down, in that order,
// and shutdown in reverse (stop accepting, drain streams within the grace
// period, flush the call recorder, close plugins, close the database).
//
// cmd/hub uses it for `hub serve`; end-to-end tests use it to run a real hub
// on a loopback listener.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/billing"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/host/server"
	"github.com/aignehub/hub/plugins"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// Options configure a Hub.
type Options struct {
	// Config is the validated configuration. Required.
	Config *config.Config
	// Logger is the process logger. Nil means slog.Default().
	Logger *slog.Logger
	// LookupEnv resolves "env:NAME" credentials. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Builtin returns a built-in plugin's module. Nil means plugins.Builtin.
	Builtin func(name string) ([]byte, error)
	// CacheDir is the compilation cache directory. Empty means
	// DATA_DIR/wasm-cache.
	CacheDir string
	// Dashboard is the built web app served at "/" (index.html and
	// assets/). Nil means the app embedded in the binary (web.Dist()).
	Dashboard fs.FS
}

// Hub is a running gateway.
type Hub struct {
	cfg       *config.Config
	log       *slog.Logger
	lookupEnv func(string) (string, bool)
	builtin   func(string) ([]byte, error)
	cache     wazero.CompilationCache
	store     *store.Store
	keyring   *secrets.Keyring
	recorder  *store.Recorder
	auth      *auth.Authenticator
	limiter   *limits.Limiter
	biller    *billing.Biller // nil when billing is off
	engine    *proxy.Engine
	manage    *manage.Service
	server    *server.Server
	http      *http.Server

	pluginMu sync.Mutex
	plugins  map[string]*pluginSlot        // the loaded plugins, by name (see reload.go)
	entries  map[string]config.PluginEntry // hub.toml's [plugins] as re-read on SIGHUP; nil before

	// bgCtx lives until shutdown: background work (polls, discovery,
	// credential checks) runs under it.
	bgCtx            context.Context
	stopBG           context.CancelFunc
	reloadMu         sync.Mutex
	providersVersion int64
	discoverMu       sync.Mutex
	stopDiscover     context.CancelFunc

	closeMu sync.Mutex
	closed  bool
}

// DBFile is the database file name inside the data dir.
const DBFile = "hub.db"

// OpenStore opens the hub's database in cfg's data dir.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return store.Open(ctx, filepath.Join(cfg.DataDir, DBFile), store.Options{})
}

// New provisions a hub: opens the store and the master keyring, seeds
// providers and credentials from the config, builds routing from the
// database (loading and validating the plugins the enabled providers use),
// and builds the request path. Nothing listens until Serve.
func New(ctx context.Context, opts Options) (h *Hub, err error) {
	cfg := opts.Config
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LookupEnv == nil {
		opts.LookupEnv = os.LookupEnv
	}
	if opts.Builtin == nil {
		opts.Builtin = plugins.Builtin
	}
	h = &Hub{cfg: cfg, log: opts.Logger, lookupEnv: opts.LookupEnv, builtin: opts.Builtin, plugins: map[string]*pluginSlot{}}
	h.bgCtx, h.stopBG = context.WithCancel(context.Background())
	hub := h // "return nil, err" clears h before deferred calls run
	defer func() {
		if err != nil {
			hub.closeResources(context.Background())
		}
	}()

	if h.store, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	if h.keyring, err = secrets.Load(cfg.DataDir, opts.LookupEnv); err != nil {
		return nil, err
	}
	dir := opts.CacheDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "wasm-cache")
	}
	if h.cache, err = runtime.NewCache(dir); err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	if err := h.seed(ctx, opts.LookupEnv); err != nil {
		return nil, err
	}
	if h.providersVersion, err = h.store.ProvidersVersion(ctx); err != nil {
		return nil, err
	}
	router, err := h.buildRouter(ctx, nil)
	if err != nil {
		return nil, err
	}
	if len(router.Providers()) == 0 {
		return nil, errors.New("no enabled providers")
	}
	h.recorder = store.NewRecorder(h.store, store.RecorderOptions{Logger: opts.Logger})
	h.auth = auth.New(h.store, auth.Options{Logger: opts.Logger, Sessions: h.store})
	h.limiter = limits.New(limits.Options{})
	var bill proxy.Billing
	if bill, err = h.startBilling(ctx); err != nil {
		return nil, err
	}
	rt := cfg.Routing
	client := &http.Client{Transport: proxy.NewTransport(cfg.Limits.UpstreamConnectTimeout.Std())}
	h.engine = proxy.NewEngine(router, proxy.Options{
		Client:           client,
		Recorder:         h.recorder,
		Logger:           opts.Logger,
		UpstreamTimeout:  cfg.Limits.UpstreamTimeout.Std(),
		MaxAttempts:      rt.MaxAttempts,
		RetriesPerTarget: rt.RetriesPerTarget,
		Backoff:          rt.Backoff.Std(),
		MaxBackoff:       rt.MaxBackoff.Std(),
		Deadline:         rt.Deadline.Std(),
		AttemptTimeout:   rt.AttemptTimeout.Std(),
		Limiter:          h.limiter,
		Billing:          bill,
		Health: proxy.NewHealth(proxy.HealthOptions{
			FailureThreshold:  rt.FailureThreshold,
			Cooldown:          rt.Cooldown.Std(),
			RateLimitCooldown: rt.RateLimitCooldown.Std(),
		}),
	})
	mo := manage.Options{Store: h.store, Keyring: h.keyring, Config: cfg,
		Changed:         func() { h.Reload(h.bgCtx) },
		KeysChanged:     h.auth.Purge,
		NewAccountGrant: cfg.Billing.NewAccountGrant.Micro(),
	}
	if h.biller != nil {
		mo.Granter = h.biller // grants through the ledger writer keep its balances exact
	}
	h.manage = manage.New(mo)
	dash, err := dashboardApp(opts.Dashboard, opts.Logger)
	if err != nil {
		return nil, err
	}
	h.server = server.New(server.Options{
		Auth:           h.auth,
		Engine:         h.engine,
		MaxRequestBody: cfg.Limits.MaxRequestBody.Bytes(),
		Logger:         opts.Logger,
		Admin:          admin.New(h.apiOptions(opts.Logger)),
		User:           admin.NewUser(h.apiOptions(opts.Logger)),
		Session:        h.sessionAPI(opts.Logger),
		Dashboard:      dash,
		Rates:          h.ratesFunc(),
		UserPaths:      admin.UserPaths(),
	})
	// Compiling plugins is the one memory-heavy step of a start (a cold
	// compile peaks at tens of MB of garbage); hand that back to the OS now
	// rather than carrying it as idle RSS.
	debug.FreeOSMemory()

	go h.auth.Run(h.bgCtx)
	go h.pollProviders(h.bgCtx)
	go h.engine.RunHealthChecks(h.bgCtx, time.Second)
	go h.watchPlugins(h.bgCtx)
	h.discoverModels(h.bgCtx, router)
	return h, nil
}

func supportedAuth(a string) bool {
	return a == "" || a == abi.AuthNone || a == abi.AuthBearer ||
		strings.HasPrefix(a, abi.AuthHeaderPrefix) || strings.HasPrefix(a, abi.AuthQueryPrefix) ||
		strings.HasPrefix(a, abi.AuthSigV4Prefix) && len(a) > len(abi.AuthSigV4Prefix)
}

// loadPlugin returns the serving version of a plugin, loading it the first
// time, however many providers use it.
func (h *Hub) loadPlugin(ctx context.Context, e config.PluginEntry) (*pluginVersion, error) {
	h.pluginMu.Lock()
	defer h.pluginMu.Unlock()
	if s, ok := h.plugins[e.Name]; ok {
		return s.current(), nil
	}
	wasm, err := h.readModule(e)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", e.Name, err)
	}
	if err := checkPin(e, wasm); err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := h.loadModule(ctx, e, wasm)
	if err != nil {
		return nil, err
	}
	m := p.Manifest()
	h.log.Info("plugin loaded", "plugin", e.Name, "version", m.Version, "kind", m.Kind, "sha256", p.SHA256()[:12],
		"trusted", e.IsTrusted(), "took", time.Since(start).Round(time.Millisecond))
	s := &pluginSlot{name: e.Name}
	v := newVersion(s, p, e, wasm)
	s.cur.Store(v)
	h.plugins[e.Name] = s
	return v, nil
}

// Handler is the hub's HTTP handler.
func (h *Hub) Handler() http.Handler { return h.server }

// Store is the hub's database.
func (h *Hub) Store() *store.Store { return h.store }

// Recorder is the hub's call recorder.
func (h *Hub) Recorder() *store.Recorder { return h.recorder }

// Auth is the hub's authenticator.
func (h *Hub) Auth() *auth.Authenticator { return h.auth }

// Plugins returns the serving version of each loaded plugin, by name.
func (h *Hub) Plugins() map[string]*runtime.Plugin {
	h.pluginMu.Lock()
	defer h.pluginMu.Unlock()
	out := make(map[string]*runtime.Plugin, len(h.plugins))
	for name, s := range h.plugins {
		out[name] = s.current().Plugin
	}
	return out
}

// ratesFunc gives the AIGNE surface the prices callers pay: the biller's
// cached rates, or nil (calls are free) when billing is off.
func (h *Hub) ratesFunc() server.RatesFunc {
	if h.biller == nil {
		return nil
	}
	b := h.biller
	return func(context.Context) (map[string]store.ModelRate, error) { return b.Rates(), nil }
}

// Biller is the hub's billing, nil when billing is off.
func (h *Hub) Biller() *billing.Biller { return h.biller }

// Config is the hub's configuration.
func (h *Hub) Config() *config.Config { return h.cfg }

// Engine is the hub's request engine.
func (h *Hub) Engine() *proxy.Engine { return h.engine }

// Keyring is the hub's master keyring.
func (h *Hub) Keyring() *secrets.Keyring { return h.keyring }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// clean shutdown.
func (h *Hub) Serve(ln net.Listener) error {
	h.closeMu.Lock()
	h.http = &http.Server{
		Handler:           h.server,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
	}
	srv := h.http
	h.closeMu.Unlock()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the hub in reverse order of start: readiness fails, the
// listener closes, in-flight calls and streams get until ctx is done to
// finish (then their connections are closed), the recorder flushes every
// pending call record, plugins close, the database closes.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.closeMu.Lock()
	if h.closed {
		h.closeMu.Unlock()
		return nil
	}
	h.closed = true
	srv := h.http
	h.closeMu.Unlock()

	h.server.SetDraining()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil {
			h.log.Warn("shutdown: grace period over, closing remaining connections", "err", err)
			srv.Close()
		}
	}
	// Handlers of force-closed connections still finish and record their
	// calls (as aborted); wait for them before the recorder stops.
	waitCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := h.server.Wait(waitCtx); err != nil {
		errs = append(errs, fmt.Errorf("shutdown: handlers still running: %w", err))
	}
	cancel()
	errs = append(errs, h.closeResources(context.Background()))
	return errors.Join(errs...)
}

func (h *Hub) closeResources(ctx context.Context) error {
	var errs []error
	if h.stopBG != nil {
		h.stopBG()
	}
	// The recorder first: writing its last calls settles the charges
	// settled late, and a charge whose call is not written falls back to
	// the billing writer, which must still run.
	if h.recorder != nil {
		if err := h.recorder.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close recorder: %w", err))
		}
	}
	if h.biller != nil {
		if err := h.biller.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close billing: %w", err))
		}
	}
	for _, s := range h.plugins {
		errs = append(errs, s.closeAll(ctx))
	}
	if h.store != nil {
		if err := h.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}
