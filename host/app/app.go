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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/proxy"
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
}

// Hub is a running gateway.
type Hub struct {
	cfg      *config.Config
	log      *slog.Logger
	store    *store.Store
	recorder *store.Recorder
	auth     *auth.Authenticator
	plugins  map[string]*runtime.Plugin
	engine   *proxy.Engine
	server   *server.Server
	http     *http.Server

	stopPoll context.CancelFunc
	closeMu  sync.Mutex
	closed   bool
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

// New provisions a hub: opens the store, seeds providers from the config,
// loads and validates the plugins the enabled providers use, and builds the
// request path. Nothing listens until Serve.
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
	h = &Hub{cfg: cfg, log: opts.Logger, plugins: map[string]*runtime.Plugin{}}
	defer func() {
		if err != nil {
			h.closeResources(context.Background())
		}
	}()

	if h.store, err = OpenStore(ctx, cfg); err != nil {
		return nil, err
	}
	providers, err := h.provision(ctx, opts)
	if err != nil {
		return nil, err
	}
	h.recorder = store.NewRecorder(h.store, store.RecorderOptions{Logger: opts.Logger})
	h.auth = auth.New(h.store, auth.Options{Logger: opts.Logger})
	client := &http.Client{Transport: proxy.NewTransport(cfg.Limits.UpstreamConnectTimeout.Std())}
	h.engine = proxy.NewEngine(proxy.NewRouter(providers), proxy.Options{
		Client:          client,
		Recorder:        h.recorder,
		Logger:          opts.Logger,
		UpstreamTimeout: cfg.Limits.UpstreamTimeout.Std(),
	})
	h.server = server.New(server.Options{
		Auth:           h.auth,
		Engine:         h.engine,
		MaxRequestBody: cfg.Limits.MaxRequestBody.Bytes(),
		Logger:         opts.Logger,
	})
	// Compiling plugins is the one memory-heavy step of a start (a cold
	// compile peaks at tens of MB of garbage); hand that back to the OS now
	// rather than carrying it as idle RSS.
	debug.FreeOSMemory()

	pollCtx, cancel := context.WithCancel(context.Background())
	h.stopPoll = cancel
	go h.auth.Run(pollCtx)
	h.discoverModels(pollCtx, providers)
	return h, nil
}

// provision seeds providers into the store and loads their plugins.
func (h *Hub) provision(ctx context.Context, opts Options) ([]*proxy.Provider, error) {
	cfg := h.cfg
	dir := opts.CacheDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "wasm-cache")
	}
	cache, err := runtime.NewCache(dir)
	if err != nil {
		return nil, fmt.Errorf("compilation cache: %w", err)
	}
	var out []*proxy.Provider
	var problems []string
	for i := range cfg.Providers {
		pc := &cfg.Providers[i]
		if !pc.IsEnabled() {
			continue
		}
		entry := cfg.PluginFor(pc)
		plug, err := h.loadPlugin(ctx, entry, cache, opts)
		if err != nil {
			return nil, err
		}
		m := plug.Manifest()
		if m.Kind != abi.KindProvider {
			return nil, fmt.Errorf("provider %s: plugin %s is a %s plugin, not a provider", pc.Name, entry.Name, m.Kind)
		}
		if len(m.APIs) == 0 {
			return nil, fmt.Errorf("provider %s: plugin %s declares no APIs", pc.Name, entry.Name)
		}
		if !supportedAuth(m.Auth) {
			return nil, fmt.Errorf("provider %s: plugin %s declares auth %q, which this hub cannot apply", pc.Name, entry.Name, m.Auth)
		}
		if strings.HasPrefix(m.Auth, abi.AuthSigV4Prefix) && pc.Region == "" && len(pc.Credentials) > 0 {
			return nil, fmt.Errorf("provider %s: plugin %s signs requests with AWS SigV4: set the provider's region", pc.Name, entry.Name)
		}
		options, err := pc.OptionsJSON()
		if err != nil {
			return nil, err
		}
		p := &proxy.Provider{Name: pc.Name, BaseURL: strings.TrimSuffix(pc.BaseURL, "/"), Plugin: plug, Models: pc.Models,
			Options: options, Region: pc.Region}
		if err := checkDiscoverable(p); err != nil {
			return nil, err
		}
		var creds []store.Credential
		for j, c := range pc.Credentials {
			secret, err := c.Resolve(opts.LookupEnv)
			if err != nil {
				problems = append(problems, fmt.Sprintf("providers[%d] (%s).credentials[%d]: %v", i, pc.Name, j, err))
				continue
			}
			p.Secrets = append(p.Secrets, secret)
			// Only the reference (env:NAME) or a masked literal is stored.
			creds = append(creds, store.Credential{Name: fmt.Sprintf("%s-%d", pc.Name, j+1), SecretRef: c.String(), Weight: 1, Enabled: true})
		}
		sp, err := h.store.UpsertProvider(ctx, store.Provider{Name: pc.Name, Plugin: entry.Name, BaseURL: p.BaseURL, Enabled: true})
		if err != nil {
			return nil, fmt.Errorf("seed provider %s: %w", pc.Name, err)
		}
		if err := h.store.ReplaceCredentials(ctx, sp.ID, creds); err != nil {
			return nil, fmt.Errorf("seed credentials of %s: %w", pc.Name, err)
		}
		stored, err := h.store.ListCredentials(ctx, sp.ID)
		if err != nil {
			return nil, fmt.Errorf("list credentials of %s: %w", pc.Name, err)
		}
		ids := make(map[string]int64, len(stored))
		for _, c := range stored {
			ids[c.Name] = c.ID
		}
		for _, c := range creds { // p.Secrets[j] is creds[j]
			p.CredentialIDs = append(p.CredentialIDs, ids[c.Name])
		}
		out = append(out, p)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("resolve credentials:\n  %s", strings.Join(problems, "\n  "))
	}
	if len(out) == 0 {
		return nil, errors.New("no enabled providers")
	}
	return out, nil
}

func supportedAuth(a string) bool {
	return a == "" || a == abi.AuthNone || a == abi.AuthBearer ||
		strings.HasPrefix(a, abi.AuthHeaderPrefix) || strings.HasPrefix(a, abi.AuthQueryPrefix) ||
		strings.HasPrefix(a, abi.AuthSigV4Prefix) && len(a) > len(abi.AuthSigV4Prefix)
}

// loadPlugin loads a plugin once, however many providers use it.
func (h *Hub) loadPlugin(ctx context.Context, e config.PluginEntry, cache wazero.CompilationCache, opts Options) (*runtime.Plugin, error) {
	if p, ok := h.plugins[e.Name]; ok {
		return p, nil
	}
	var wasm []byte
	var err error
	if name, ok := e.Builtin(); ok {
		wasm, err = opts.Builtin(name)
	} else {
		wasm, err = os.ReadFile(e.Source)
	}
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", e.Name, err)
	}
	if e.SHA256 != "" {
		sum := sha256.Sum256(wasm)
		if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
			return nil, fmt.Errorf("plugin %s: sha256 of %s is %s, but hub.toml pins %s", e.Name, e.Source, got, e.SHA256)
		}
	}
	cfgJSON, err := e.ConfigJSON()
	if err != nil {
		return nil, err
	}
	lim := h.cfg.Limits
	start := time.Now()
	p, err := runtime.Load(ctx, runtime.Options{
		Name:        e.Name,
		Wasm:        wasm,
		Config:      cfgJSON,
		Cache:       cache,
		MemoryLimit: uint64(lim.PluginMemory.Bytes()),
		Deadline:    lim.PluginDeadline.Std(),
		MaxOutput:   int(lim.PluginMaxOutput.Bytes()),
		PoolSize:    e.PoolSize,
		MinIdle:     e.MinIdle,
		Trusted:     e.IsTrusted(),
		Logger:      h.log,
	})
	if err != nil {
		return nil, err
	}
	m := p.Manifest()
	h.log.Info("plugin loaded", "plugin", e.Name, "version", m.Version, "kind", m.Kind, "sha256", p.SHA256()[:12],
		"trusted", e.IsTrusted(), "took", time.Since(start).Round(time.Millisecond))
	h.plugins[e.Name] = p
	return p, nil
}

// Handler is the hub's HTTP handler.
func (h *Hub) Handler() http.Handler { return h.server }

// Store is the hub's database.
func (h *Hub) Store() *store.Store { return h.store }

// Recorder is the hub's call recorder.
func (h *Hub) Recorder() *store.Recorder { return h.recorder }

// Auth is the hub's authenticator.
func (h *Hub) Auth() *auth.Authenticator { return h.auth }

// Plugins returns the loaded plugins by name.
func (h *Hub) Plugins() map[string]*runtime.Plugin { return h.plugins }

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
	if h.stopPoll != nil {
		h.stopPoll()
	}
	if h.recorder != nil {
		if err := h.recorder.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close recorder: %w", err))
		}
	}
	for name, p := range h.plugins {
		if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close plugin %s: %w", name, err))
		}
	}
	if h.store != nil {
		if err := h.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close store: %w", err))
		}
	}
	return errors.Join(errs...)
}
