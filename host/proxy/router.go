package proxy

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/abi"
)

// Plugin is the provider plugin interface the proxy needs; *runtime.Plugin
// implements it.
type Plugin interface {
	Manifest() abi.Manifest
	Request(ctx context.Context, in *abi.RequestIn) (abi.RequestOut, error)
	Response(ctx context.Context, in *abi.ResponseIn) (abi.ResponseOut, error)
	StreamEvent(ctx context.Context, in *abi.StreamIn) (abi.StreamOut, error)
}

// Provider is one configured upstream.
type Provider struct {
	// Name is the provider's name, the prefix of "provider/model" ids.
	Name string
	// BaseURL is the upstream base URL without a trailing slash.
	BaseURL string
	// Plugin adapts the provider's wire format.
	Plugin Plugin
	// Models are the upstream model ids this provider serves, as configured
	// (NewRouter reads them once; Router.SetModels replaces them later).
	Models []string
	// Credentials are the provider's secrets, rotated by smooth weighted
	// round-robin among the usable ones. Empty means no credential is sent.
	Credentials []Credential
	// Options is the provider's options object as JSON, passed to the plugin
	// with every request (abi.RequestIn.Options). Nil means "{}".
	Options []byte
	// Region is the region SigV4-signed requests are signed for.
	Region string

	// Run-time state, attached by the engine (see Health).
	mu         sync.Mutex
	current    []int // smooth weighted round-robin state, per credential
	credHealth []*credHealth
	health     *providerHealth
	hub        *Health
}

// Target is a resolved route: a provider and the upstream model id.
type Target struct {
	Provider *Provider
	Model    string
}

// Router resolves the model a client names to a provider. Its model lists
// can change while it serves (SetModels, for discovered models): lookups
// read an immutable index swapped atomically, so resolving never locks.
type Router struct {
	providers []*Provider
	byName    map[string]*Provider
	aliases   map[string][]string
	idx       atomic.Pointer[index]
}

// index is one immutable view of which provider serves which model.
type index struct {
	models  map[*Provider][]string // each provider's models, AnyModel included
	byModel map[string][]*Provider // bare model -> providers, in priority order
	version uint64
}

// NewRouter indexes providers, in priority order, with their configured
// Models.
func NewRouter(providers []*Provider) *Router {
	r := &Router{providers: providers, byName: map[string]*Provider{}}
	models := make(map[*Provider][]string, len(providers))
	for _, p := range providers {
		r.byName[p.Name] = p
		models[p] = p.Models
	}
	r.idx.Store(r.build(models, 0))
	return r
}

func (r *Router) build(models map[*Provider][]string, version uint64) *index {
	ix := &index{models: models, byModel: map[string][]*Provider{}, version: version}
	for _, p := range r.providers { // priority order
		for _, m := range models[p] {
			if m == AnyModel {
				continue
			}
			ix.byModel[m] = append(ix.byModel[m], p)
		}
	}
	return ix
}

// SetAliases sets the router's aliases: each name maps to an ordered
// fallback chain of "provider/model" or bare model names. Call it before
// the router serves.
func (r *Router) SetAliases(aliases map[string][]string) { r.aliases = aliases }

// Aliases returns the router's aliases.
func (r *Router) Aliases() map[string][]string { return r.aliases }

// Provider returns the provider called name.
func (r *Router) Provider(name string) (*Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// ModelsOf returns the models p currently serves (configured or
// discovered).
func (r *Router) ModelsOf(p *Provider) []string { return r.idx.Load().models[p] }

// SetModels replaces the model list of the named provider (for models
// discovered from the upstream). It reports whether the provider exists.
func (r *Router) SetModels(provider string, models []string) bool {
	p, ok := r.byName[provider]
	if !ok {
		return false
	}
	for {
		old := r.idx.Load()
		next := make(map[*Provider][]string, len(old.models))
		for k, v := range old.models {
			next[k] = v
		}
		next[p] = append([]string(nil), models...)
		if r.idx.CompareAndSwap(old, r.build(next, old.version+1)) {
			return true
		}
	}
}

// Version counts model-list changes; it starts at 0.
func (r *Router) Version() uint64 { return r.idx.Load().version }

// AnyModel in Provider.Models lets a provider serve any model named through
// its prefix; bare names never route to it.
const AnyModel = "*"

// serves reports whether p serves model m when addressed as "p/m".
func (ix *index) serves(p *Provider, m string) bool {
	for _, pm := range ix.models[p] {
		if pm == m || pm == AnyModel && m != "" {
			return true
		}
	}
	return false
}

// Resolve maps an alias, "provider/model" or a bare model id to its
// targets, best first. An alias resolves to the targets of each entry of
// its chain in order (entries no provider serves any more are skipped). A
// bare id resolves to every provider that lists it, in config order. An id
// whose prefix is not a provider name (e.g. "meta-llama/x" served by
// openrouter) is tried as a bare id.
func (r *Router) Resolve(model string) ([]Target, error) {
	ix := r.idx.Load()
	if chain, ok := r.aliases[model]; ok {
		var ts []Target
		for _, m := range chain {
			for _, t := range r.resolve(ix, m) {
				if !slices.ContainsFunc(ts, func(o Target) bool { return o.Provider == t.Provider && o.Model == t.Model }) {
					ts = append(ts, t)
				}
			}
		}
		if len(ts) == 0 {
			return nil, apierr.ModelNotFound(model)
		}
		return ts, nil
	}
	ts := r.resolve(ix, model)
	if len(ts) == 0 {
		return nil, apierr.ModelNotFound(model)
	}
	return ts, nil
}

func (r *Router) resolve(ix *index, model string) []Target {
	if i := strings.IndexByte(model, '/'); i > 0 {
		if p, ok := r.byName[model[:i]]; ok {
			if m := model[i+1:]; ix.serves(p, m) {
				return []Target{{Provider: p, Model: m}}
			}
			return nil
		}
	}
	ps := ix.byModel[model]
	ts := make([]Target, len(ps))
	for i, p := range ps {
		ts[i] = Target{Provider: p, Model: model}
	}
	return ts
}

// ModelInfo is one entry of the model list.
type ModelInfo struct {
	ID       string // "provider/model"
	Provider string
	Model    string
}

// Models lists every "provider/model" id, sorted.
func (r *Router) Models() []ModelInfo {
	ix := r.idx.Load()
	var out []ModelInfo
	for _, p := range r.providers {
		for _, m := range ix.models[p] {
			if m == AnyModel {
				continue
			}
			out = append(out, ModelInfo{ID: p.Name + "/" + m, Provider: p.Name, Model: m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Providers returns the providers in priority order.
func (r *Router) Providers() []*Provider { return r.providers }
