package app

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/billing"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/conformance"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// Hot reload. A loaded plugin lives in a pluginSlot that holds its serving
// pluginVersion. A reload runs load → validate → canary → warm → swap (see
// [Hub.ReloadPlugin]); a version that fails a step is closed and the serving
// one stays. The swap rebuilds routing around the new version (or, for the
// billing policy, points the policy handle at it): calls that start after
// it use the new version, calls in flight keep the version they started
// with — the engine resolves the router, and so each provider's plugin,
// once at the start of a call, and a stream keeps that plugin to its end.
// The replaced version is retired: it is closed once no call holds it (see
// pluginVersion.hold), and its module bytes stay as the rollback candidate.

// drainPoll is how often a retired version checks whether its last call
// has finished; it is closed once two checks in a row find none.
const drainPoll = time.Second

// closeTimeout bounds the close of a drained version.
const closeTimeout = 30 * time.Second

// pluginSlot is one loaded plugin (by name) across its versions.
type pluginSlot struct {
	name string
	// reload serializes the reloads and rollbacks of this plugin.
	reload sync.Mutex
	cur    atomic.Pointer[pluginVersion]

	// mu guards what follows, and a swap: readers holding it see the
	// serving version, the rollback candidate and the latest outcome agree.
	mu       sync.Mutex
	prev     *pluginVersion      // the rollback candidate (closed or draining)
	last     *admin.PluginReload // the latest reload's outcome
	draining []*pluginVersion    // retired versions not yet closed
	billing  bool                // the slot is the billing policy
}

func (s *pluginSlot) current() *pluginVersion { return s.cur.Load() }

// entry returns the settings the serving version runs with.
func (s *pluginSlot) entry() config.PluginEntry { return s.cur.Load().ent }

// enter returns the serving version, held for a call; held is false only
// when that version is closed (the hub is shutting down), and the caller
// must then not release it.
func (s *pluginSlot) enter() (v *pluginVersion, held bool) {
	for {
		v := s.cur.Load()
		if v.hold() {
			return v, true
		}
		if s.cur.Load() == v {
			return v, false
		}
	}
}

// pluginVersion is one loaded build of a plugin. Providers of the routing
// point to it directly (it implements proxy.Plugin); the billing policy
// reaches it through a policyHandle.
type pluginVersion struct {
	*runtime.Plugin
	slot     *pluginSlot
	ent      config.PluginEntry // the settings it was loaded with
	source   string
	wasm     []byte // the module, kept for rollback; nil for a builtin (re-read from the binary)
	loadedAt time.Time

	mu     sync.Mutex
	refs   int  // calls holding the version
	closed bool // no call may hold it any more
}

func newVersion(s *pluginSlot, p *runtime.Plugin, e config.PluginEntry, wasm []byte) *pluginVersion {
	v := &pluginVersion{Plugin: p, slot: s, ent: e, source: e.Source, loadedAt: time.Now()}
	if _, builtin := e.Builtin(); !builtin {
		v.wasm = wasm
	}
	return v
}

// hold counts a call that uses v; it fails once v is closed.
func (v *pluginVersion) hold() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return false
	}
	v.refs++
	return true
}

func (v *pluginVersion) release() {
	v.mu.Lock()
	v.refs--
	v.mu.Unlock()
}

// closeIfIdle marks v closed when no call holds it.
func (v *pluginVersion) closeIfIdle() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.refs == 0 {
		v.closed = true
	}
	return v.closed
}

func (v *pluginVersion) idle() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.refs == 0
}

// successor returns the serving version when err says v was closed under a
// call that never held it (one that resolved its route before a swap and
// reached the plugin after v drained), so that the call runs on the new
// version from its first plugin call instead of failing.
func (v *pluginVersion) successor(err error) *pluginVersion {
	var ce *runtime.CallError
	if err == nil || !errors.As(err, &ce) || ce.Kind != runtime.Closed {
		return nil
	}
	if cur := v.slot.cur.Load(); cur != v {
		return cur
	}
	return nil
}

// Request holds v for the whole call: every call begins with a request,
// and the context it gets (the engine's call context, or a probe's) ends
// when the call does, streams included; the hold is released then.
func (v *pluginVersion) Request(ctx context.Context, in *abi.RequestIn) (abi.RequestOut, error) {
	if ctx.Done() != nil && v.hold() {
		context.AfterFunc(ctx, v.release)
		return v.Plugin.Request(ctx, in)
	}
	out, err := v.Plugin.Request(ctx, in)
	if next := v.successor(err); next != nil {
		return next.Request(ctx, in)
	}
	return out, err
}

// Response is the plugin's, on the version the call's request ran on.
func (v *pluginVersion) Response(ctx context.Context, in *abi.ResponseIn) (abi.ResponseOut, error) {
	out, err := v.Plugin.Response(ctx, in)
	if next := v.successor(err); next != nil {
		return next.Response(ctx, in)
	}
	return out, err
}

// StreamEvent is the plugin's, on the version the stream started on.
func (v *pluginVersion) StreamEvent(ctx context.Context, in *abi.StreamIn) (abi.StreamOut, error) {
	out, err := v.Plugin.StreamEvent(ctx, in)
	if next := v.successor(err); next != nil {
		return next.StreamEvent(ctx, in)
	}
	return out, err
}

func (v *pluginVersion) info() *admin.PluginVersion {
	return &admin.PluginVersion{Version: v.Manifest().Version, SHA256: v.SHA256(), Source: v.source, LoadedAt: v.loadedAt}
}

// policyHandle is the billing policy the biller holds: each quote and
// settle runs on the serving version, held for the call.
type policyHandle struct{ s *pluginSlot }

func (ph policyHandle) Quote(ctx context.Context, in *abi.QuoteIn) (abi.QuoteOut, error) {
	v, held := ph.s.enter()
	if held {
		defer v.release()
	}
	return v.Plugin.Quote(ctx, in)
}

func (ph policyHandle) Settle(ctx context.Context, in *abi.SettleIn) (abi.SettleOut, error) {
	v, held := ph.s.enter()
	if held {
		defer v.release()
	}
	return v.Plugin.Settle(ctx, in)
}

var _ billing.Pinner = policyHandle{}

// Pin implements billing.Pinner: the serving version, held for one call
// from its quote to its settlement, so that a reload in between does not
// settle the call with a policy that did not quote it.
func (ph policyHandle) Pin() (billing.Policy, func()) {
	v, held := ph.s.enter()
	if !held {
		return v.Plugin, func() {}
	}
	return v.Plugin, v.release
}

// readModule reads a plugin's module from its source.
func (h *Hub) readModule(e config.PluginEntry) ([]byte, error) {
	if name, ok := e.Builtin(); ok {
		return h.builtin(name)
	}
	return os.ReadFile(e.Source)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkPin refuses a module whose SHA-256 is not the one hub.toml pins.
func checkPin(e config.PluginEntry, wasm []byte) error {
	if e.SHA256 == "" {
		return nil
	}
	if got := sha256Hex(wasm); got != e.SHA256 {
		return fmt.Errorf("plugin %s: sha256 of %s is %s, but hub.toml pins %s", e.Name, e.Source, got, e.SHA256)
	}
	return nil
}

// loadModule compiles, validates and starts a module with e's settings and
// the config's limits.
func (h *Hub) loadModule(ctx context.Context, e config.PluginEntry, wasm []byte) (*runtime.Plugin, error) {
	cfgJSON, err := e.ConfigJSON()
	if err != nil {
		return nil, err
	}
	lim := h.cfg.Limits
	return runtime.Load(ctx, runtime.Options{
		Name:        e.Name,
		Wasm:        wasm,
		Config:      cfgJSON,
		Cache:       h.cache,
		MemoryLimit: uint64(lim.PluginMemory.Bytes()),
		Deadline:    lim.PluginDeadline.Std(),
		MaxOutput:   int(lim.PluginMaxOutput.Bytes()),
		PoolSize:    e.PoolSize,
		MinIdle:     e.MinIdle,
		Trusted:     e.IsTrusted(),
		Logger:      h.log,
	})
}

// pluginEntry returns the settings of the plugin called name: those of the
// serving version when it is loaded, else hub.toml's (as re-read on
// SIGHUP), else a builtin's defaults.
func (h *Hub) pluginEntry(name string) config.PluginEntry {
	h.pluginMu.Lock()
	s, loaded := h.plugins[name]
	e, reread := h.entries[name]
	h.pluginMu.Unlock()
	switch {
	case loaded:
		return s.entry()
	case reread:
		return e
	}
	if e, ok := h.cfg.Plugins[name]; ok {
		return e
	}
	return config.PluginEntry{Name: name, Source: config.BuiltinSourcePrefix + name,
		PoolSize: config.DefaultPoolSize, MinIdle: config.DefaultMinIdle}
}

// slots returns the loaded plugins, by name.
func (h *Hub) slots() []*pluginSlot {
	h.pluginMu.Lock()
	out := make([]*pluginSlot, 0, len(h.plugins))
	for _, s := range h.plugins {
		out = append(out, s)
	}
	h.pluginMu.Unlock()
	slices.SortFunc(out, func(a, b *pluginSlot) int { return cmp.Compare(a.name, b.name) })
	return out
}

func (h *Hub) slot(name string) (*pluginSlot, error) {
	h.pluginMu.Lock()
	s, ok := h.plugins[name]
	h.pluginMu.Unlock()
	if !ok {
		return nil, fmt.Errorf("plugin %s is not loaded (no enabled provider or billing policy uses it): %w", name, store.ErrNotFound)
	}
	return s, nil
}

// Reload triggers, as reported in admin.PluginReload.Trigger and audited.
const (
	triggerAPI    = "api"
	triggerSignal = "signal"
	triggerWatch  = "watch"
)

// ReloadPlugin reloads the named plugin from its source: it reads the
// module (load), checks the hub.toml sha256 pin, compiles and validates it
// and checks that it can take the serving version's role (validate), runs
// it on canonical inputs (canary), instantiates its pool (warm) and swaps it
// in (swap). A module identical to the serving one, with the same
// settings, changes nothing (Changed false). A failed step leaves the
// serving version in place; the result says which step failed and why.
// Reloads of one plugin run one at a time. A builtin plugin reloads from
// the module embedded in the binary, which cannot change while it runs:
// reloading is for plugins loaded from .wasm files.
func (h *Hub) ReloadPlugin(ctx context.Context, name string) (admin.PluginReload, error) {
	s, err := h.slot(name)
	if err != nil {
		return admin.PluginReload{}, err
	}
	return h.reload(ctx, s, reloadRequest{action: "reload", trigger: triggerAPI, entry: s.entry()})
}

// RollbackPlugin brings back the version the serving one replaced, through
// the same steps as a reload (its module is kept in memory, so it does not
// matter whether its file has changed since). The version rolled back
// from becomes the rollback candidate in turn.
func (h *Hub) RollbackPlugin(ctx context.Context, name string) (admin.PluginReload, error) {
	s, err := h.slot(name)
	if err != nil {
		return admin.PluginReload{}, err
	}
	s.mu.Lock()
	prev := s.prev
	s.mu.Unlock()
	if prev == nil {
		return admin.PluginReload{}, fmt.Errorf("plugin %s: %w", name, admin.ErrNoRollback)
	}
	return h.reload(ctx, s, reloadRequest{action: "rollback", trigger: triggerAPI, entry: s.entry(), wasm: prev.wasm,
		source: prev.source, rollback: prev})
}

// reloadRequest is one reload to run.
type reloadRequest struct {
	action, trigger string
	entry           config.PluginEntry // the settings to load with
	wasm            []byte             // the module; nil: read it from the source (entry's, or rollback's)
	source          string             // where wasm came from; empty: entry.Source
	rollback        *pluginVersion     // the version a rollback brings back
	quiet           bool               // an unchanged module is not recorded (SIGHUP)
}

// reload runs the steps of a reload on s and records the outcome.
func (h *Hub) reload(ctx context.Context, s *pluginSlot, rq reloadRequest) (res admin.PluginReload, err error) {
	if h.bgCtx.Err() != nil {
		return res, errors.New("the hub is shutting down")
	}
	s.reload.Lock()
	defer s.reload.Unlock()
	start := time.Now()
	old := s.current()
	res = admin.PluginReload{Plugin: s.name, Action: rq.action, Trigger: rq.trigger, At: start.UTC(), Previous: old.info()}
	if rq.rollback != nil && !s.prevIs(rq.rollback) {
		// Another rollback or reload ran first and changed the candidate.
		return res, fmt.Errorf("plugin %s: %w", s.name, admin.ErrNoRollback)
	}
	source := cmp.Or(rq.source, rq.entry.Source)
	fail := func(step string, err error) (admin.PluginReload, error) {
		res.Step, res.Error = step, err.Error()
		res.TookMS = time.Since(start).Milliseconds()
		s.record(res)
		h.log.Error("plugin "+rq.action+" failed; the serving version stays", "plugin", s.name, "trigger", rq.trigger,
			"step", step, "sha256", short(res.SHA256), "err", err)
		return res, nil
	}

	wasm := rq.wasm
	if wasm == nil {
		from := rq.entry
		from.Source = source // a rollback to a builtin reads the binary's own module
		if wasm, err = h.readModule(from); err != nil {
			return fail(admin.StepLoad, fmt.Errorf("read %s: %w", source, err))
		}
	}
	res.SHA256 = sha256Hex(wasm)
	if rq.rollback == nil && res.SHA256 == old.SHA256() && reflect.DeepEqual(rq.entry, s.entry()) {
		res.OK, res.Version = true, old.Manifest().Version
		res.TookMS = time.Since(start).Milliseconds()
		if !rq.quiet {
			s.record(res)
		}
		return res, nil
	}

	if err := checkPin(rq.entry, wasm); err != nil {
		return fail(admin.StepValidate, err)
	}
	p, err := h.loadModule(ctx, rq.entry, wasm)
	if err != nil {
		return fail(admin.StepValidate, err)
	}
	res.Version = p.Manifest().Version
	closeNew := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
		defer cancel()
		p.Close(cctx)
	}
	if err := compatible(old.Manifest(), p.Manifest()); err != nil {
		closeNew()
		return fail(admin.StepValidate, err)
	}
	if err := canary(ctx, p, fixturesDir(rq.entry, source)); err != nil {
		closeNew()
		return fail(admin.StepCanary, err)
	}
	if err := p.Warm(ctx, rq.entry.PoolSize); err != nil {
		closeNew()
		return fail(admin.StepWarm, err)
	}
	nv := newVersion(s, p, rq.entry, wasm)
	nv.source = source
	res.OK, res.Changed = true, true
	if err := h.swap(ctx, s, nv, &res, start); err != nil {
		res.OK, res.Changed = false, false
		closeNew()
		return fail(admin.StepSwap, err)
	}
	h.retire(s, old)
	h.log.Info("plugin "+rq.action+" done", "plugin", s.name, "trigger", rq.trigger, "version", res.Version,
		"sha256", short(res.SHA256), "previous_version", old.Manifest().Version, "previous_sha256", short(old.SHA256()),
		"took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// info describes s for the admin API, as of one moment: the serving
// version, the rollback candidate and the latest outcome agree.
func (s *pluginSlot) info(providers []string) admin.PluginInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.current()
	e, m := p.ent, p.Manifest()
	info := admin.PluginInfo{Name: s.name, Kind: m.Kind, Version: m.Version, SHA256: p.SHA256(), Source: p.source,
		APIs: m.APIs, Auth: m.Auth, StreamFraming: m.StreamFraming, Trusted: e.IsTrusted(), PoolSize: e.PoolSize,
		Providers: providers, LoadedAt: p.loadedAt, Watch: e.Watch, Draining: len(s.draining)}
	if s.prev != nil {
		info.Rollback = s.prev.info()
	}
	if s.last != nil {
		last := *s.last
		info.LastReload = &last
	}
	return info
}

func (s *pluginSlot) prevIs(v *pluginVersion) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prev == v
}

func (s *pluginSlot) record(res admin.PluginReload) {
	s.mu.Lock()
	s.last = &res
	s.mu.Unlock()
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}

// compatible checks that a new version can take the serving one's role:
// the same kind and, for a provider, APIs and an auth scheme this hub can
// apply. What depends on each provider's settings is checked by the swap,
// which builds the routing.
func compatible(old, m abi.Manifest) error {
	if m.Kind != old.Kind {
		return fmt.Errorf("the new module is a %s plugin; the serving one is a %s plugin", m.Kind, old.Kind)
	}
	if m.Kind == abi.KindProvider {
		if len(m.APIs) == 0 {
			return errors.New("the new module declares no APIs")
		}
		if !supportedAuth(m.Auth) {
			return fmt.Errorf("the new module declares auth %q, which this hub cannot apply", m.Auth)
		}
	}
	return nil
}

// swap makes nv the serving version of s: for a provider plugin it rebuilds
// the routing around it (calls that start afterwards use it, calls in
// flight finish on the router, and so the plugin, they started with); for
// the billing policy the policy handle reads it from the next call on. A
// routing that does not build (the new manifest does not suit one of the
// providers using the plugin) leaves everything as it was.
//
// On success the replaced version becomes the rollback candidate and res
// (completed) the latest outcome, together with the swap.
func (h *Hub) swap(ctx context.Context, s *pluginSlot, nv *pluginVersion, res *admin.PluginReload, start time.Time) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	s.mu.Lock()
	old := s.cur.Swap(nv)
	var r *proxy.Router
	if !s.billing {
		var err error
		if r, err = h.buildRouter(ctx, h.engine.Router()); err != nil {
			s.cur.Store(old)
			s.mu.Unlock()
			return fmt.Errorf("rebuild routing: %w", err)
		}
		h.engine.SetRouter(r)
	}
	s.prev = old
	res.TookMS = time.Since(start).Milliseconds()
	last := *res
	s.last = &last
	s.mu.Unlock()
	if r != nil {
		h.discoverModels(h.bgCtx, r) // as Reload does, under reloadMu
	}
	return nil
}

// retire closes old once no call holds it any more: checked every
// drainPoll, closed after two idle checks in a row (a call that resolved
// its route just before the swap gets that long to reach the plugin; one
// slower still is moved to the serving version, see successor).
func (h *Hub) retire(s *pluginSlot, old *pluginVersion) {
	s.mu.Lock()
	s.draining = append(s.draining, old)
	s.mu.Unlock()
	go func() {
		t := time.NewTicker(drainPoll)
		defer t.Stop()
		idle := 0
		for {
			select {
			case <-h.bgCtx.Done():
				return // Shutdown closes it
			case <-t.C:
			}
			if !old.idle() {
				idle = 0
				continue
			}
			if idle++; idle >= 2 && old.closeIfIdle() {
				break
			}
		}
		ctx, cancel := context.WithTimeout(h.bgCtx, closeTimeout)
		err := old.Plugin.Close(ctx)
		cancel()
		s.mu.Lock()
		s.draining = slices.DeleteFunc(s.draining, func(v *pluginVersion) bool { return v == old })
		s.mu.Unlock()
		if err != nil {
			h.log.Warn("closing a replaced plugin version", "plugin", s.name, "version", old.Manifest().Version, "err", err)
			return
		}
		h.log.Info("replaced plugin version closed: no call uses it any more", "plugin", s.name,
			"version", old.Manifest().Version, "sha256", short(old.SHA256()))
	}()
}

// closeAll closes every version of s: the serving one and those draining.
func (s *pluginSlot) closeAll(ctx context.Context) error {
	s.mu.Lock()
	vs := append([]*pluginVersion{s.cur.Load()}, s.draining...)
	s.mu.Unlock()
	var errs []error
	for _, v := range vs {
		if err := v.Plugin.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close plugin %s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// ReloadChanged is what SIGHUP does: it re-reads hub.toml's [plugins]
// entries, if the file still loads and validates (else the settings in use
// stay and the error is logged), and reloads every loaded plugin whose
// module (by SHA-256) or settings changed. It returns the outcome of each
// reload it tried.
func (h *Hub) ReloadChanged(ctx context.Context) []admin.PluginReload {
	ctx = store.WithActor(ctx, store.Actor{Name: "signal:SIGHUP"})
	entries := h.rereadPlugins()
	var out []admin.PluginReload
	for _, s := range h.slots() {
		e := s.entry()
		if entries != nil {
			if ne, ok := entries[s.name]; ok {
				e = ne
			} else {
				h.log.Warn("SIGHUP: hub.toml no longer has this plugin's table; it keeps its settings until a restart", "plugin", s.name)
			}
		}
		res, err := h.reload(ctx, s, reloadRequest{action: "reload", trigger: triggerSignal, entry: e, quiet: true})
		if err != nil {
			h.log.Error("SIGHUP: reload", "plugin", s.name, "err", err)
			continue
		}
		if res.Changed || !res.OK {
			h.audit(ctx, res)
			out = append(out, res)
		}
	}
	return out
}

// rereadPlugins loads hub.toml again and keeps its [plugins] entries for
// plugins loaded later; it returns them, or nil when the file does not
// load (the entries in use stay).
func (h *Hub) rereadPlugins() map[string]config.PluginEntry {
	file := h.cfg.File()
	if file == "" {
		return nil
	}
	cfg, err := config.Load(file)
	if err != nil {
		h.log.Error("SIGHUP: hub.toml was not re-read (the plugin settings in use stay); fix it and send SIGHUP again", "err", err)
		return nil
	}
	h.pluginMu.Lock()
	h.entries = cfg.Plugins
	h.pluginMu.Unlock()
	return cfg.Plugins
}

// audit records a reload that no admin request made (SIGHUP, the
// watcher), with ctx's actor.
func (h *Hub) audit(ctx context.Context, res admin.PluginReload) {
	if err := h.manage.AppendAudit(ctx, "plugin."+res.Action, res.Plugin, res.AuditDetail()); err != nil {
		h.log.Warn("audit plugin reload", "plugin", res.Plugin, "err", err)
	}
}

// The canary: a new module runs on canonical inputs before it may serve.
const (
	// canaryTimeout bounds the whole canary.
	canaryTimeout = 30 * time.Second
	// canaryUnixMS is the fixed clock of the canary's inputs (2025-01-01
	// 12:00 UTC), so that two runs get the same input.
	canaryUnixMS = 1735732800000
)

// canaryBodies are the canonical requests a provider plugin must turn into
// an upstream request, per API.
var canaryBodies = map[string]string{
	abi.APIChatCompletions: `{"model":"canary-model","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello."}],"max_tokens":16,"temperature":0}`,
	abi.APIEmbeddings:      `{"model":"canary-model","input":["hello","world"]}`,
	abi.APIImages:          `{"model":"canary-model","prompt":"a red square","n":1,"size":"1024x1024"}`,
	abi.APIModels:          ``,
}

// canary runs a freshly loaded plugin on canonical inputs and fails unless
// every call succeeds, gives a well-formed answer and gives the same answer
// twice (plugins are pure):
//
//   - a provider plugin turns the standard request of each API it declares
//     (chat completions streamed and not, embeddings, images, the model
//     list) into an upstream request with a path, or refuses it on purpose
//     with a 4xx error (a plugin may serve only its own model names; a
//     crash, a 5xx or a recovered panic fails the canary);
//   - a billing plugin quotes and settles a standard call without an error
//     and with amounts that are not negative;
//
// then, when fixtures names a directory, every case in it runs as the
// conformance kit runs it (`hub plugin test`, host/conformance): a case with
// a want.json must give exactly its answers.
func canary(ctx context.Context, p *runtime.Plugin, fixtures string) error {
	ctx, cancel := context.WithTimeout(ctx, canaryTimeout)
	defer cancel()
	var err error
	switch k := p.Manifest().Kind; k {
	case abi.KindProvider:
		err = canaryProvider(ctx, p)
	case abi.KindBilling:
		err = canaryBilling(ctx, p)
	default:
		err = fmt.Errorf("unknown plugin kind %q", k)
	}
	if err != nil {
		return err
	}
	_, err = conformance.Cases(ctx, p, fixtures)
	return err
}

// twice runs f twice and fails unless both runs succeed with equal results.
func twice[T any](what string, f func() (T, error)) (T, error) {
	a, err := f()
	if err != nil {
		return a, fmt.Errorf("%s: %w", what, err)
	}
	b, err := f()
	if err != nil {
		return a, fmt.Errorf("%s (second run): %w", what, err)
	}
	if !reflect.DeepEqual(a, b) {
		return a, fmt.Errorf("%s: two runs on the same input gave different results", what)
	}
	return a, nil
}

func canaryRequest(api string, stream bool) *abi.RequestIn {
	in := &abi.RequestIn{API: api, Model: "canary-model", RequestID: "hub-canary", Body: []byte(canaryBodies[api]),
		Provider: "canary", Options: []byte("{}"), UnixMS: canaryUnixMS}
	if stream {
		in.Flags = abi.FlagStream | abi.FlagIncludeUsage
	}
	return in
}

func canaryProvider(ctx context.Context, p *runtime.Plugin) error {
	for _, api := range p.Manifest().APIs {
		if _, ok := canaryBodies[api]; !ok {
			continue // an API the hub has no standard request for
		}
		for _, stream := range []bool{false, true} {
			if stream && api != abi.APIChatCompletions {
				continue
			}
			what := fmt.Sprintf("hub_request on the standard %s request", api)
			if stream {
				what += " (stream)"
			}
			r, err := twice(what, func() (canaryAnswer, error) {
				out, err := p.Request(ctx, canaryRequest(api, stream))
				var ae *abi.Error
				if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
					// Refused on purpose (the canary's model is no model
					// it serves, say): a well-formed answer.
					return canaryAnswer{refusal: ae.Error()}, nil
				}
				return canaryAnswer{out: out}, err
			})
			if err != nil {
				return err
			}
			if r.refusal != "" {
				continue
			}
			if err := checkRequestOut(r.out); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	return nil
}

// canaryAnswer is a request's outcome: an upstream request, or a
// deliberate refusal (a 4xx *abi.Error).
type canaryAnswer struct {
	out     abi.RequestOut
	refusal string
}

// checkRequestOut checks what the engine needs of an upstream request.
func checkRequestOut(out abi.RequestOut) error {
	if out.Method != "" && !isToken(out.Method) {
		return fmt.Errorf("method %q is not an HTTP method", out.Method)
	}
	if len(out.Path) == 0 || out.Path[0] != '/' {
		return fmt.Errorf("path %q does not start with /", out.Path)
	}
	for _, hd := range out.Headers {
		if !isToken(hd.Name) {
			return fmt.Errorf("header name %q is not valid", hd.Name)
		}
	}
	return nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, rune(c)) {
			return false
		}
	}
	return true
}

// fixturesDir is where a plugin's canary fixtures are: next to a .wasm
// source, its name without .wasm plus ".fixtures" (plugins/acme.wasm →
// plugins/acme.fixtures/), cases in the conformance kit's format (the
// testdata/conformance that `hub plugin new` writes, copied there).
// Builtins have none.
func fixturesDir(e config.PluginEntry, source string) string {
	if _, builtin := e.Builtin(); builtin || !strings.HasSuffix(strings.ToLower(source), ".wasm") {
		return ""
	}
	return source[:len(source)-len(".wasm")] + ".fixtures"
}

// canaryBilling quotes and settles a standard call.
func canaryBilling(ctx context.Context, p *runtime.Plugin) error {
	rate := abi.Rate{Found: true, InputPerM: 1_000_000, OutputPerM: 2_000_000}
	q, err := twice("hub_quote on the standard call", func() (abi.QuoteOut, error) {
		return p.Quote(ctx, &abi.QuoteIn{AccountID: 1, KeyID: 1, API: abi.APIChatCompletions, Provider: "canary", Model: "canary-model",
			RequestedModel: "canary-model", EstInputTokens: 1000, MaxOutputTokens: 1000, UnixMS: canaryUnixMS, Rate: rate,
			Balance: 1_000_000_000_000})
	})
	if err != nil {
		return err
	}
	if q.Hold < 0 {
		return fmt.Errorf("hub_quote on the standard call: negative hold %d", q.Hold)
	}
	s, err := twice("hub_settle on the standard call", func() (abi.SettleOut, error) {
		return p.Settle(ctx, &abi.SettleIn{AccountID: 1, KeyID: 1, API: abi.APIChatCompletions, Provider: "canary", Model: "canary-model",
			RequestedModel: "canary-model", UnixMS: canaryUnixMS, Rate: rate, Held: q.Hold,
			Usage: abi.Usage{InputTokens: 1000, OutputTokens: 500}})
	})
	if err != nil {
		return err
	}
	if s.Amount < 0 {
		return fmt.Errorf("hub_settle on the standard call: negative amount %d", s.Amount)
	}
	return nil
}
