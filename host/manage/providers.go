package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

// A ProviderSpec describes a provider to create, or the fields of one to
// change. In an update, nil (and, for Name and Plugin, empty) fields are
// left alone.
type ProviderSpec struct {
	// Name identifies the provider; it matches ^[a-z0-9][a-z0-9_-]*$.
	// Required to create; in an update it may be empty or the provider's
	// own name (providers are not renamed).
	Name string `json:"name"`

	// Plugin is a plugin name (an entry of the config's plugins or a
	// builtin plugin) or a preset name from [config.Presets], which stands
	// for its plugin module and fills in its default base URL (with
	// "{region}" replaced by Region) and its default options, merged under
	// the given ones. Required to create; in an update it may be empty or
	// name the provider's plugin (changing the plugin takes a delete and a
	// create).
	Plugin string `json:"plugin"`

	// BaseURL is the absolute http(s) URL upstream paths are appended to,
	// without user info, query or fragment; a trailing "/" is removed.
	// Required unless the preset gives one.
	BaseURL *string `json:"base_url,omitempty"`

	// Region is the cloud region, for providers signed with AWS SigV4
	// (like "us-east-1"); "" clears it. A preset whose base URL has
	// "{region}" needs one. Changing it does not change BaseURL.
	Region *string `json:"region,omitempty"`

	// Options are the plugin's per-provider options. To create, they are
	// merged over the preset's defaults. In an update they are merged
	// over the stored options, key by key: a key given null is removed,
	// any other value replaces the stored one whole.
	Options map[string]any `json:"options,omitempty"`

	// Models are the model names the provider serves, each non-empty,
	// without white space, unique; "*" serves any model addressed through
	// the provider's prefix. Empty means: discover them from the upstream.
	// In an update the list replaces the stored one.
	Models *[]string `json:"models,omitempty"`

	// Enabled takes the provider out of routing when false. Default true.
	Enabled *bool `json:"enabled,omitempty"`
}

// A ProviderView is a provider as the admin API and the CLI show it.
type ProviderView struct {
	Name string `json:"name"`
	// Plugin is the plugin module that serves the provider (a preset's
	// module, for a provider created from a preset).
	Plugin  string `json:"plugin"`
	BaseURL string `json:"base_url"`
	Region  string `json:"region"`
	// Options is a JSON object.
	Options json.RawMessage `json:"options"`
	// Models is empty when the models are discovered from the upstream.
	Models  []string `json:"models"`
	Enabled bool     `json:"enabled"`
	// ManagedBy is "config" for providers re-applied from hub.toml at
	// every start, "api" for those made through the admin API or CLI.
	ManagedBy   string           `json:"managed_by"`
	CreatedAt   time.Time        `json:"created_at"`
	UpdatedAt   time.Time        `json:"updated_at"`
	Credentials []CredentialView `json:"credentials"`
}

func providerView(p store.Provider, creds []store.Credential) ProviderView {
	v := ProviderView{
		Name:        p.Name,
		Plugin:      p.Plugin,
		BaseURL:     p.BaseURL,
		Region:      p.Region,
		Options:     p.Config,
		Models:      nonNil(p.Models),
		Enabled:     p.Enabled,
		ManagedBy:   p.ManagedBy,
		CreatedAt:   p.CreatedAt,
		UpdatedAt:   p.UpdatedAt,
		Credentials: make([]CredentialView, 0, len(creds)),
	}
	if len(v.Options) == 0 {
		v.Options = json.RawMessage("{}")
	}
	for _, c := range creds {
		v.Credentials = append(v.Credentials, credentialView(p.Name, c))
	}
	return v
}

// ListProviders returns every provider with its credentials, ordered by
// name.
func (s *Service) ListProviders(ctx context.Context) ([]ProviderView, error) {
	ps, err := s.st.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := s.st.ListAllCredentials(ctx)
	if err != nil {
		return nil, err
	}
	byProvider := make(map[int64][]store.Credential, len(ps))
	for _, c := range creds {
		byProvider[c.ProviderID] = append(byProvider[c.ProviderID], c)
	}
	out := make([]ProviderView, 0, len(ps))
	for _, p := range ps {
		out = append(out, providerView(p, byProvider[p.ID]))
	}
	return out, nil
}

// Provider returns the provider called name with its credentials, or an
// error wrapping [store.ErrNotFound].
func (s *Service) Provider(ctx context.Context, name string) (ProviderView, error) {
	p, err := s.st.ProviderByName(ctx, name)
	if err != nil {
		return ProviderView{}, err
	}
	return s.providerView(ctx, p)
}

func (s *Service) providerView(ctx context.Context, p store.Provider) (ProviderView, error) {
	creds, err := s.st.ListCredentials(ctx, p.ID)
	if err != nil {
		return ProviderView{}, err
	}
	return providerView(p, creds), nil
}

// resolvePlugin returns the plugin module that name stands for, and the
// preset it names, if any; a billing plugin is refused. It follows
// host/config: a plugin entry of the config takes precedence over a
// preset of the same name, and a preset applies only when its module is
// a builtin plugin. An entry that is just that builtin module ("openai" =
// "builtin:openai", which a loaded config holds for every builtin plugin
// its providers use) does not shadow the preset: it is the module the
// preset names.
func (s *Service) resolvePlugin(name string) (module string, preset *config.Preset, err error) {
	if name == "" {
		return "", nil, invalid("plugin", "must not be empty")
	}
	if s.isBillingPlugin(name) {
		return "", nil, invalid("plugin", "%q is a billing plugin, not a provider plugin: a provider needs a provider plugin (%s), a preset or a plugin entry with a provider module",
			name, strings.Join(config.BuiltinPlugins, ", "))
	}
	var entries map[string]config.PluginEntry
	if s.cfg != nil {
		entries = s.cfg.Plugins
	}
	e, entry := entries[name]
	if p, ok := config.Presets[name]; ok && slices.Contains(config.BuiltinPlugins, p.Plugin) {
		if b, builtin := e.Builtin(); !entry || builtin && b == p.Plugin {
			return p.Plugin, &p, nil
		}
	}
	if entry || slices.Contains(config.BuiltinPlugins, name) {
		return name, nil, nil
	}
	known := slices.Concat(slices.Collect(maps.Keys(entries)), config.BuiltinPlugins, slices.Collect(maps.Keys(config.Presets)))
	slices.Sort(known)
	return "", nil, invalid("plugin", "unknown plugin %q: want a configured plugin, a builtin plugin or a preset (%s)",
		name, strings.Join(slices.Compact(known), ", "))
}

// isBillingPlugin reports whether the plugin called name prices calls
// rather than serving them ([config.Config.IsBillingPlugin]; without a
// config, a builtin billing plugin's name).
func (s *Service) isBillingPlugin(name string) bool {
	if s.cfg != nil {
		return s.cfg.IsBillingPlugin(name)
	}
	return slices.Contains(config.BuiltinBillingPlugins, name)
}

// regionRE is what a cloud region looks like (host/config's rule).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)

func checkRegion(region string) error {
	if region != "" && !regionRE.MatchString(region) {
		return invalid("region", "invalid region %q: must match %s", region, regionRE)
	}
	return nil
}

// checkBaseURL validates a base URL and returns it without trailing
// slashes. Messages show the URL redacted: it must not carry a password.
func checkBaseURL(v string) (string, error) {
	const field = "base_url"
	if v == "" {
		return "", invalid(field, "must not be empty")
	}
	u, err := url.Parse(v)
	if err != nil {
		return "", invalid(field, "must be an absolute http:// or https:// URL; cannot parse it")
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", invalid(field, "must be an absolute http:// or https:// URL; got %q", shown)
	case u.Host == "" || u.Hostname() == "":
		return "", invalid(field, "must have a host; got %q", shown)
	case u.User != nil:
		return "", invalid(field, "must not contain user info; put secrets in credentials")
	case u.RawQuery != "" || u.ForceQuery:
		return "", invalid(field, "must not have a query; got %q", shown)
	case u.Fragment != "" || strings.Contains(v, "#"):
		return "", invalid(field, "must not have a fragment; got %q", shown)
	}
	return strings.TrimRight(v, "/"), nil
}

// mergeOptions returns base with over applied key by key: a nil value
// removes the key. The result is encoded as a JSON object.
func mergeOptions(base json.RawMessage, over map[string]any) (json.RawMessage, error) {
	m := map[string]any{}
	if len(base) > 0 {
		if err := json.Unmarshal(base, &m); err != nil {
			return nil, fmt.Errorf("stored options: %w", err)
		}
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, invalid("options", "cannot be encoded as JSON: %v", err)
	}
	return b, nil
}

// CreateProvider creates the provider spec describes, managed by the API.
// It returns a *ValidationError for bad input and an error wrapping
// [store.ErrExists] if the name is taken.
func (s *Service) CreateProvider(ctx context.Context, spec ProviderSpec) (ProviderView, error) {
	if err := checkName("name", "provider", spec.Name); err != nil {
		return ProviderView{}, err
	}
	module, preset, err := s.resolvePlugin(spec.Plugin)
	if err != nil {
		return ProviderView{}, err
	}
	p := store.Provider{Name: spec.Name, Plugin: module, Enabled: true, ManagedBy: store.ManagedByAPI}
	if spec.Region != nil {
		p.Region = *spec.Region
	}
	if err := checkRegion(p.Region); err != nil {
		return ProviderView{}, err
	}
	base := ""
	if spec.BaseURL != nil {
		base = *spec.BaseURL
	}
	if base == "" && preset != nil && preset.BaseURL != "" {
		if strings.Contains(preset.BaseURL, "{region}") {
			if p.Region == "" {
				return ProviderView{}, invalid("region", "is required by the %s preset (or set base_url)", spec.Plugin)
			}
			base = strings.ReplaceAll(preset.BaseURL, "{region}", p.Region)
		} else {
			base = preset.BaseURL
		}
	}
	if base == "" {
		return ProviderView{}, invalid("base_url", "is required: plugin %q has no default base URL", spec.Plugin)
	}
	if p.BaseURL, err = checkBaseURL(base); err != nil {
		return ProviderView{}, err
	}
	var defaults json.RawMessage
	if preset != nil && len(preset.Options) > 0 {
		if defaults, err = json.Marshal(preset.Options); err != nil {
			return ProviderView{}, fmt.Errorf("create provider %q: preset options: %w", spec.Name, err)
		}
	}
	if p.Config, err = mergeOptions(defaults, spec.Options); err != nil {
		return ProviderView{}, err
	}
	if err := spec.applyModels(&p); err != nil {
		return ProviderView{}, err
	}
	stored, err := s.st.CreateProvider(ctx, p)
	if err != nil {
		return ProviderView{}, err
	}
	s.changed()
	return providerView(stored, nil), nil
}

// applyModels sets p's models and enabled flag where spec sets them.
func (spec ProviderSpec) applyModels(p *store.Provider) error {
	if spec.Models != nil {
		if err := checkModels("models", *spec.Models); err != nil {
			return err
		}
		p.Models = slices.Clone(*spec.Models)
	}
	if spec.Enabled != nil {
		p.Enabled = *spec.Enabled
	}
	return nil
}

// UpdateProvider changes the fields spec sets of the provider called name
// and returns it. It returns a *ValidationError for bad input (a
// different Name or Plugin included) and an error wrapping
// [store.ErrNotFound] if there is no such provider.
//
// A provider managed by hub.toml can be changed too, but the next start
// re-applies hub.toml over it.
func (s *Service) UpdateProvider(ctx context.Context, name string, spec ProviderSpec) (ProviderView, error) {
	p, err := s.st.ProviderByName(ctx, name)
	if err != nil {
		return ProviderView{}, err
	}
	if spec.Name != "" && spec.Name != p.Name {
		return ProviderView{}, invalid("name", "a provider cannot be renamed (from %q to %q): create a new one and delete this one", p.Name, spec.Name)
	}
	if spec.Plugin != "" && spec.Plugin != p.Plugin {
		module, _, err := s.resolvePlugin(spec.Plugin)
		if err != nil {
			return ProviderView{}, err
		}
		if module != p.Plugin {
			return ProviderView{}, invalid("plugin", "the provider is served by plugin %q: changing the plugin takes deleting the provider and creating it again", p.Plugin)
		}
	}
	if spec.Region != nil {
		if err := checkRegion(*spec.Region); err != nil {
			return ProviderView{}, err
		}
		p.Region = *spec.Region
	}
	if spec.BaseURL != nil {
		if p.BaseURL, err = checkBaseURL(*spec.BaseURL); err != nil {
			return ProviderView{}, err
		}
	}
	if spec.Options != nil {
		if p.Config, err = mergeOptions(p.Config, spec.Options); err != nil {
			return ProviderView{}, err
		}
	}
	if err := spec.applyModels(&p); err != nil {
		return ProviderView{}, err
	}
	stored, err := s.st.UpdateProvider(ctx, p)
	if err != nil {
		return ProviderView{}, err
	}
	s.changed()
	return s.providerView(ctx, stored)
}

// DeleteProvider deletes the provider called name and its credentials,
// or returns an error wrapping [store.ErrNotFound]. A provider managed by
// hub.toml comes back at the next start unless it is removed from the
// file.
func (s *Service) DeleteProvider(ctx context.Context, name string) error {
	if err := s.st.DeleteProvider(ctx, name); err != nil {
		return err
	}
	s.changed()
	return nil
}
