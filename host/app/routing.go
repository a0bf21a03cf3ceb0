package app

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// The database is the runtime truth for providers and credentials; hub.toml
// seeds it at every start (see seed). Routing is built from the database
// (buildRouter) and rebuilt whenever the 'providers' version changes: at
// once after a change through the admin API, and within providersPoll after
// one made by another process (the CLI).
const providersPoll = time.Second

// configActor is the audit actor of changes made by seeding from hub.toml.
var configActor = store.Actor{Name: "config"}

// seed writes the providers of hub.toml into the database:
//   - each provider in the file is upserted with the file's settings and
//     marked managed_by "config" (a provider of the same name created
//     through the API is taken over by the file);
//   - its credentials from the file replace the config-managed credentials
//     it had (matched by name, so ids and call history are kept);
//     credentials added through the API or CLI are kept;
//   - a literal secret is stored encrypted (re-used when unchanged, so an
//     unchanged file writes nothing), an "env:NAME" one as the reference;
//   - a config-managed provider no longer in the file is disabled, not
//     deleted: its history stays, and the API can delete it.
//
// Providers created through the API that the file does not name are never
// touched.
func (h *Hub) seed(ctx context.Context, lookupEnv func(string) (string, bool)) error {
	ctx = store.WithActor(ctx, configActor)
	existing, err := h.store.ListProviders(ctx)
	if err != nil {
		return fmt.Errorf("seed providers: %w", err)
	}
	var problems []string
	inFile := map[string]bool{}
	for i := range h.cfg.Providers {
		pc := &h.cfg.Providers[i]
		inFile[pc.Name] = true
		entry := h.cfg.PluginFor(pc)
		options, err := pc.OptionsJSON()
		if err != nil {
			return err
		}
		sp, err := h.store.UpsertProvider(ctx, store.Provider{Name: pc.Name, Plugin: entry.Name, BaseURL: strings.TrimSuffix(pc.BaseURL, "/"),
			Config: options, Enabled: pc.IsEnabled(), Models: pc.Models, Region: pc.Region, ManagedBy: store.ManagedByConfig})
		if err != nil {
			return fmt.Errorf("seed provider %s: %w", pc.Name, err)
		}
		old, err := h.store.ListCredentials(ctx, sp.ID)
		if err != nil {
			return fmt.Errorf("seed credentials of %s: %w", pc.Name, err)
		}
		var creds []store.Credential
		for j, c := range pc.Credentials {
			name := pc.CredentialName(j)
			sc := store.Credential{Name: name, Weight: c.Weight(), Enabled: true}
			if c.IsEnv() {
				sc.SecretRef = c.String()
				if pc.IsEnabled() {
					if _, err := c.Resolve(lookupEnv); err != nil {
						problems = append(problems, fmt.Sprintf("providers[%d] (%s).credentials[%d]: %v", i, pc.Name, j, err))
					}
				}
			} else {
				secret, err := c.Resolve(lookupEnv)
				if err != nil {
					problems = append(problems, fmt.Sprintf("providers[%d] (%s).credentials[%d]: %v", i, pc.Name, j, err))
					continue
				}
				sc.Hint = secrets.Mask(secret)
				aad := secrets.AAD(pc.Name, name)
				if k := slices.IndexFunc(old, func(o store.Credential) bool { return o.Name == name && len(o.Ciphertext) > 0 }); k >= 0 {
					if plain, err := h.keyring.Open(old[k].Ciphertext, aad); err == nil && bytes.Equal(plain, []byte(secret)) {
						sc.Ciphertext = old[k].Ciphertext
					}
				}
				if sc.Ciphertext == nil {
					if sc.Ciphertext, err = h.keyring.Seal([]byte(secret), aad); err != nil {
						return fmt.Errorf("seed credentials of %s: %w", pc.Name, err)
					}
				}
			}
			creds = append(creds, sc)
		}
		if err := h.store.ReplaceCredentials(ctx, sp.ID, creds); err != nil {
			return fmt.Errorf("seed credentials of %s: %w", pc.Name, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("resolve credentials:\n  %s", strings.Join(problems, "\n  "))
	}
	for _, p := range existing {
		if p.ManagedBy == store.ManagedByConfig && !inFile[p.Name] && p.Enabled {
			p.Enabled = false
			if _, err := h.store.UpdateProvider(ctx, p); err != nil {
				return fmt.Errorf("disable provider %s (no longer in %s): %w", p.Name, h.cfg.File(), err)
			}
			h.log.Warn("provider disabled: it came from the config file and is no longer in it", "provider", p.Name)
		}
	}
	return h.reconcileKeys(ctx)
}

// reconcileKeys finishes or discards a master-key rotation that a crash
// interrupted, from the key ids the stored ciphertexts use.
func (h *Hub) reconcileKeys(ctx context.Context) error {
	creds, err := h.store.ListAllCredentials(ctx)
	if err != nil {
		return fmt.Errorf("list credentials: %w", err)
	}
	var ids []string
	for _, c := range creds {
		if id, ok := secrets.KeyIDOf(c.Ciphertext); ok && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if err := h.keyring.Reconcile(ids); err != nil {
		if errors.Is(err, secrets.ErrUnknownKey) {
			// Those credentials are shown as broken and never used; the
			// hub still serves with the others.
			h.log.Error("some stored credentials are encrypted under a master key this hub does not have; they will not be used", "err", err)
			return nil
		}
		return fmt.Errorf("master key: %w", err)
	}
	return nil
}

// buildRouter builds routing from the database: every enabled provider,
// its plugin (loaded once), its enabled credentials with their secrets
// resolved (from the environment, or decrypted: a ciphertext that fails
// authentication makes the credential "broken", never used), and the
// config's aliases. Discovered models of providers without configured ones
// carry over from old.
func (h *Hub) buildRouter(ctx context.Context, old *proxy.Router) (*proxy.Router, error) {
	sps, err := h.store.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	all, err := h.store.ListAllCredentials(ctx)
	if err != nil {
		return nil, err
	}
	// Priority order (bare model names try providers in it): the file's
	// providers in file order, then the others in order of creation.
	rank := func(sp store.Provider) int64 {
		if i := slices.IndexFunc(h.cfg.Providers, func(pc config.Provider) bool { return pc.Name == sp.Name }); i >= 0 {
			return int64(i)
		}
		return int64(len(h.cfg.Providers)) + sp.ID
	}
	slices.SortStableFunc(sps, func(a, b store.Provider) int { return cmp.Compare(rank(a), rank(b)) })
	var out []*proxy.Provider
	for _, sp := range sps {
		if !sp.Enabled {
			continue
		}
		entry := h.pluginEntry(sp.Plugin)
		plug, err := h.loadPlugin(ctx, entry)
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", sp.Name, err)
		}
		m := plug.Manifest()
		switch {
		case m.Kind != abi.KindProvider:
			return nil, fmt.Errorf("provider %s: plugin %s is a %s plugin, not a provider", sp.Name, entry.Name, m.Kind)
		case len(m.APIs) == 0:
			return nil, fmt.Errorf("provider %s: plugin %s declares no APIs", sp.Name, entry.Name)
		case !supportedAuth(m.Auth):
			return nil, fmt.Errorf("provider %s: plugin %s declares auth %q, which this hub cannot apply", sp.Name, entry.Name, m.Auth)
		}
		options := []byte(sp.Config)
		if len(options) == 0 {
			options = []byte("{}")
		}
		p := &proxy.Provider{Name: sp.Name, BaseURL: strings.TrimSuffix(sp.BaseURL, "/"), Plugin: plug, Models: sp.Models,
			Options: options, Region: sp.Region}
		for _, c := range all {
			if c.ProviderID != sp.ID || !c.Enabled {
				continue
			}
			pc := proxy.Credential{ID: c.ID, Name: c.Name, Hint: c.Hint, Weight: c.Weight}
			switch {
			case len(c.Ciphertext) > 0:
				plain, err := h.keyring.Open(c.Ciphertext, secrets.AAD(sp.Name, c.Name))
				if err != nil {
					pc.Broken = "its stored secret cannot be decrypted: " + err.Error()
					h.log.Error("credential unusable", "provider", sp.Name, "credential", c.Name, "err", err)
				} else {
					pc.Secret = string(plain)
				}
			case c.SecretRef != "":
				secret, err := config.NewCredential(c.SecretRef).Resolve(h.lookupEnv)
				if err != nil {
					pc.Broken = err.Error()
				} else {
					pc.Secret = secret
				}
				if pc.Hint == "" {
					pc.Hint = c.SecretRef
				}
			}
			p.Credentials = append(p.Credentials, pc)
		}
		if strings.HasPrefix(m.Auth, abi.AuthSigV4Prefix) && p.Region == "" && len(p.Credentials) > 0 {
			return nil, fmt.Errorf("provider %s: plugin %s signs requests with AWS SigV4: set the provider's region", sp.Name, entry.Name)
		}
		if err := checkDiscoverable(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	r := proxy.NewRouter(out)
	r.SetAliases(h.cfg.Routing.Aliases)
	if old != nil {
		for _, p := range out {
			if len(p.Models) > 0 {
				continue
			}
			if op, ok := old.Provider(p.Name); ok && len(op.Models) == 0 {
				if ms := old.ModelsOf(op); len(ms) > 0 {
					r.SetModels(p.Name, ms)
				}
			}
		}
	}
	return r, nil
}

// Reload rebuilds routing from the database and swaps it in: calls that
// start afterwards use it, calls in flight finish on the old one. A build
// that fails (a plugin that does not load) leaves the old routing serving.
func (h *Hub) Reload(ctx context.Context) error {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	v, err := h.store.ProvidersVersion(ctx)
	if err != nil {
		return err
	}
	r, err := h.buildRouter(ctx, h.engine.Router())
	if err != nil {
		h.log.Error("routing reload failed; the previous routing keeps serving", "err", err)
		return err
	}
	h.engine.SetRouter(r)
	h.providersVersion = v
	h.log.Info("routing reloaded", "providers", len(r.Providers()))
	h.discoverModels(h.bgCtx, r)
	return nil
}

// pollProviders reloads routing when another process changed providers or
// credentials.
func (h *Hub) pollProviders(ctx context.Context) {
	t := time.NewTicker(providersPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, err := h.store.ProvidersVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("poll providers version", "err", err)
			}
			continue
		}
		h.reloadMu.Lock()
		changed := v != h.providersVersion
		h.reloadMu.Unlock()
		if changed {
			h.Reload(ctx)
		}
	}
}
