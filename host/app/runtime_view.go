package app

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/store"
)

// runtimeView is what the admin API sees of the running hub.
type runtimeView struct{ h *Hub }

var _ admin.Runtime = runtimeView{}

// ProviderStates reports every routed provider's health, credentials
// included (masked).
func (v runtimeView) ProviderStates() []proxy.ProviderState {
	r := v.h.engine.Router()
	var out []proxy.ProviderState
	for _, p := range r.Providers() {
		out = append(out, p.State(r.ModelsOf(p)))
	}
	return out
}

// TestCredential checks a stored credential against its upstream with the
// routed provider's plugin and settings.
func (v runtimeView) TestCredential(ctx context.Context, id int64) (proxy.CheckResult, error) {
	c, err := v.h.store.CredentialByID(ctx, id)
	if err != nil {
		return proxy.CheckResult{}, err
	}
	sp, err := v.h.store.ProviderByID(ctx, c.ProviderID)
	if err != nil {
		return proxy.CheckResult{}, err
	}
	r := v.h.engine.Router()
	p, ok := r.Provider(sp.Name)
	if !ok {
		return proxy.CheckResult{}, fmt.Errorf("provider %s is not routed (disabled, or its plugin failed to load): %w", sp.Name, store.ErrNotFound)
	}
	idx := slices.IndexFunc(p.Credentials, func(pc proxy.Credential) bool { return pc.ID == id })
	if idx < 0 {
		return proxy.CheckResult{}, fmt.Errorf("credential %d is not in rotation (disabled): %w", id, store.ErrNotFound)
	}
	if b := p.Credentials[idx].Broken; b != "" {
		return proxy.CheckResult{Error: "the credential is broken: " + b}, nil
	}
	return v.h.engine.CheckCredential(ctx, p, idx), nil
}

// Plugins lists the loaded plugins with the providers that use them.
func (v runtimeView) Plugins() []admin.PluginInfo {
	users := map[string][]string{}
	for _, p := range v.h.engine.Router().Providers() {
		if rp, ok := p.Plugin.(interface{ Name() string }); ok {
			users[rp.Name()] = append(users[rp.Name()], p.Name)
		}
	}
	var out []admin.PluginInfo
	for _, s := range v.h.slots() {
		out = append(out, s.info(users[s.name]))
	}
	v.addStats(out)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

var _ admin.PluginReloader = runtimeView{}

// ReloadPlugin reloads a plugin from its source (see Hub.ReloadPlugin).
func (v runtimeView) ReloadPlugin(ctx context.Context, name string) (admin.PluginReload, error) {
	return v.h.ReloadPlugin(ctx, name)
}

// RollbackPlugin brings back a plugin's previous version (see
// Hub.RollbackPlugin).
func (v runtimeView) RollbackPlugin(ctx context.Context, name string) (admin.PluginReload, error) {
	return v.h.RollbackPlugin(ctx, name)
}

// KeyUsage reports a key's use of its limits in the current window.
func (v runtimeView) KeyUsage(keyID int64) limits.Snapshot { return v.h.limiter.Usage(keyID) }
