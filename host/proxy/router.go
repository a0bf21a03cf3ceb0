package proxy

import (
	"context"
	"sort"
	"strings"
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
	// Models are the upstream model ids this provider serves.
	Models []string
	// Secrets are the resolved credentials, used in rotation. Empty means
	// no credential is sent.
	Secrets []string
	// CredentialIDs are the store ids of Secrets, index for index (0 when
	// unknown), recorded with each call.
	CredentialIDs []int64
	// Options is the provider's options object as JSON, passed to the plugin
	// with every request (abi.RequestIn.Options). Nil means "{}".
	Options []byte
	// Region is the region SigV4-signed requests are signed for.
	Region string

	next atomic.Uint64
}

// credential picks the next secret in rotation and its index.
func (p *Provider) credential() (secret string, idx int) {
	if len(p.Secrets) == 0 {
		return "", -1
	}
	idx = int(p.next.Add(1)-1) % len(p.Secrets)
	return p.Secrets[idx], idx
}

// Target is a resolved route: a provider and the upstream model id.
type Target struct {
	Provider *Provider
	Model    string
}

// Router resolves the model a client names to a provider.
type Router struct {
	providers []*Provider
	byName    map[string]*Provider
	byModel   map[string][]*Provider
}

// NewRouter indexes providers, in priority order.
func NewRouter(providers []*Provider) *Router {
	r := &Router{providers: providers, byName: map[string]*Provider{}, byModel: map[string][]*Provider{}}
	for _, p := range providers {
		r.byName[p.Name] = p
		for _, m := range p.Models {
			if m == AnyModel {
				continue
			}
			r.byModel[m] = append(r.byModel[m], p)
		}
	}
	return r
}

// AnyModel in Provider.Models lets a provider serve any model named through
// its prefix; bare names never route to it.
const AnyModel = "*"

// serves reports whether p serves model m when addressed as "p/m".
func (p *Provider) serves(m string) bool {
	for _, pm := range p.Models {
		if pm == m || pm == AnyModel && m != "" {
			return true
		}
	}
	return false
}

// Resolve maps "provider/model" or a bare model id to its targets, best
// first. A bare id resolves to every provider that lists it, in config order.
// An id whose prefix is not a provider name (e.g. "meta-llama/x" served by
// openrouter) is tried as a bare id.
func (r *Router) Resolve(model string) ([]Target, error) {
	if i := strings.IndexByte(model, '/'); i > 0 {
		if p, ok := r.byName[model[:i]]; ok {
			if m := model[i+1:]; p.serves(m) {
				return []Target{{Provider: p, Model: m}}, nil
			}
			return nil, apierr.ModelNotFound(model)
		}
	}
	ps := r.byModel[model]
	if len(ps) == 0 {
		return nil, apierr.ModelNotFound(model)
	}
	ts := make([]Target, len(ps))
	for i, p := range ps {
		ts[i] = Target{Provider: p, Model: model}
	}
	return ts, nil
}

// ModelInfo is one entry of the model list.
type ModelInfo struct {
	ID       string // "provider/model"
	Provider string
	Model    string
}

// Models lists every "provider/model" id, sorted.
func (r *Router) Models() []ModelInfo {
	var out []ModelInfo
	for _, p := range r.providers {
		for _, m := range p.Models {
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
