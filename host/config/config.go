package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults for every setting. [Defaults] returns a Config holding them; a key absent
// from the file keeps its default.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultDataDir   = "./data"
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"

	DefaultMaxRequestBody         = 4 * MiB
	DefaultPluginDeadline         = Duration(2 * time.Second)
	DefaultPluginMemory           = 64 * MiB
	DefaultPluginMaxOutput        = 16 * MiB
	DefaultUpstreamTimeout        = Duration(10 * time.Minute)
	DefaultUpstreamConnectTimeout = Duration(10 * time.Second)
	DefaultShutdownGrace          = Duration(30 * time.Second)

	// DefaultPoolSize is the number of warm instances a plugin may keep when its
	// pool_size is 0.
	DefaultPoolSize = 4
	// DefaultMinIdle is the number of instances kept warm when min_idle is 0.
	DefaultMinIdle = 1

	DefaultMaxAttempts       = 4
	DefaultRetriesPerTarget  = 1
	DefaultBackoff           = Duration(200 * time.Millisecond)
	DefaultMaxBackoff        = Duration(2 * time.Second)
	DefaultDeadline          = Duration(0) // limits.upstream_timeout
	DefaultAttemptTimeout    = Duration(0) // no bound on one attempt
	DefaultFailureThreshold  = 3
	DefaultCooldown          = Duration(30 * time.Second)
	DefaultRateLimitCooldown = Duration(10 * time.Second)

	DefaultBillingEnabled  = false
	DefaultDurability      = DurabilityBatched
	DefaultBillingPolicy   = "credits"
	DefaultNewAccountGrant = Credits(0)
	// DefaultMaxOutputTokens is the worst case of output tokens assumed for a
	// request that sets no max_tokens.
	DefaultMaxOutputTokens = 4096
)

// The billing durability modes ([Billing.Durability]).
const (
	// DurabilityBatched decides holds in memory and commits each call's
	// charge with its call record, in batches a few milliseconds apart:
	// cheap, and a crash loses at most the calls still queued (the calls
	// of its last milliseconds go unbilled, never billed twice).
	DurabilityBatched = "batched"
	// DurabilityStrict commits a call's hold before its upstream request is
	// sent and its charge before its last bytes reach the client: every call a
	// client saw complete is in the ledger, at the cost of a commit in each
	// call's path.
	DurabilityStrict = "strict"
)

// BuiltinSourcePrefix starts a plugin source that names a plugin built into the
// binary: "builtin:openai".
const BuiltinSourcePrefix = "builtin:"

// BuiltinPlugins is the set of plugin names the binary has built in. [Parse] and
// [Load] accept "builtin:NAME" sources, and provider plugin references without a
// [plugins.NAME] entry, only for these names (unless [Options.Builtins] is set). The
// binary may extend it before loading a config.
var BuiltinPlugins = []string{"openai", "anthropic", "gemini", "bedrock", "ollama", "ideogram"}

// BuiltinBillingPlugins is the set of billing plugin names the binary has built
// in: the policies that price calls in credits. [Parse] and [Load] accept
// "builtin:NAME" sources for them too, and a billing.policy naming one without a
// [plugins.NAME] entry (unless [Options.BillingBuiltins] is set). They are kept
// apart from [BuiltinPlugins] because a provider must not use one. The binary may
// extend it before loading a config.
var BuiltinBillingPlugins = []string{"credits"}

// Config is the hub's configuration, read from a TOML file (hub.toml) by [Load] or
// [Parse]. Absent keys keep the values of [Defaults].
type Config struct {
	// Listen is the HTTP listen address, host:port (host may be empty for all
	// interfaces, port may be 0 for any). ${NAME} and ${NAME:-default} environment
	// references are expanded. Default DefaultListen.
	Listen string `toml:"listen"`

	// DataDir holds the SQLite database and the compilation cache. A relative path is
	// resolved against the config file's directory; after Parse/Load it is absolute.
	// Default DefaultDataDir.
	DataDir string `toml:"data_dir"`

	// Log configures the process log.
	Log Log `toml:"log"`

	// Limits bounds requests, plugins and upstream calls.
	Limits Limits `toml:"limits"`

	// Routing tunes retries, failover between providers, cooldowns and model
	// aliases.
	Routing Routing `toml:"routing"`

	// Billing says whether and how calls are charged in credits.
	Billing Billing `toml:"billing"`

	// Plugins are the plugin modules, keyed by plugin name ([plugins.NAME]). After
	// Parse/Load it also holds an entry, with defaults, for every builtin plugin a
	// provider names without a [plugins.NAME] table, and for a builtin billing
	// policy when billing is enabled. Default empty.
	Plugins map[string]PluginEntry `toml:"plugins"`

	// Providers are the upstream providers ([[providers]]), in file order. At least one
	// is required.
	Providers []Provider `toml:"providers"`

	file string // as given to Parse/Load
	dir  string // absolute directory relative paths resolve against

	billingBuiltins []string // as validated against; nil means BuiltinBillingPlugins
}

// Log configures the process log ([log]).
type Log struct {
	// Level is one of "debug", "info", "warn", "error". Default DefaultLogLevel.
	Level string `toml:"level"`
	// Format is "text" or "json". Default DefaultLogFormat.
	Format string `toml:"format"`
}

// SlogLevel returns Level as a [slog.Level] (info for an unknown level).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Limits bounds requests, plugins and upstream calls ([limits]).
type Limits struct {
	// MaxRequestBody is the largest accepted client request body, 1KiB..1GiB.
	// Default DefaultMaxRequestBody.
	MaxRequestBody Size `toml:"max_request_body"`
	// PluginDeadline bounds one plugin call, 1ms..10m. Default DefaultPluginDeadline.
	PluginDeadline Duration `toml:"plugin_deadline"`
	// PluginMemory is the memory limit of one plugin instance: a multiple of 64KiB
	// (the Wasm page size), 16MiB..4GiB. Default DefaultPluginMemory.
	PluginMemory Size `toml:"plugin_memory"`
	// PluginMaxOutput is the largest single result a plugin call may return,
	// 1KiB..PluginMemory. Default DefaultPluginMaxOutput.
	PluginMaxOutput Size `toml:"plugin_max_output"`
	// UpstreamTimeout bounds a whole upstream call, streaming included, 1s..24h.
	// Default DefaultUpstreamTimeout.
	UpstreamTimeout Duration `toml:"upstream_timeout"`
	// UpstreamConnectTimeout bounds dialing an upstream, 1ms..UpstreamTimeout.
	// Default DefaultUpstreamConnectTimeout, or UpstreamTimeout when that is
	// shorter.
	UpstreamConnectTimeout Duration `toml:"upstream_connect_timeout"`
	// ShutdownGrace is how long shutdown waits for in-flight calls, 1ms..1h.
	// Default DefaultShutdownGrace.
	ShutdownGrace Duration `toml:"shutdown_grace"`
}

// Routing tunes how a call is routed to upstreams ([routing]): how often it is
// retried on the same provider and failed over to the next target, how long it may
// take, when a failing provider or a rate-limited credential is taken out of
// rotation for a while, and which model aliases clients may name.
type Routing struct {
	// MaxAttempts bounds the upstream attempts of one call, retries and failovers
	// together, 1..20. Default DefaultMaxAttempts.
	MaxAttempts int `toml:"max_attempts"`
	// RetriesPerTarget is how many extra attempts a retryable failure gets on the
	// same provider before the call fails over to the next target, 0..10. Default
	// DefaultRetriesPerTarget.
	RetriesPerTarget int `toml:"retries_per_target"`
	// Backoff is the delay before the first retry; it doubles with each retry,
	// with jitter, 0..1m. Default DefaultBackoff.
	Backoff Duration `toml:"backoff"`
	// MaxBackoff caps one retry delay, Backoff..5m. Default DefaultMaxBackoff.
	MaxBackoff Duration `toml:"max_backoff"`
	// Deadline bounds a whole call, retries included: 0, which means
	// limits.upstream_timeout (see [Config.CallDeadline]), or 1s..24h. Default
	// DefaultDeadline (0).
	Deadline Duration `toml:"deadline"`
	// AttemptTimeout bounds one attempt's wait for the upstream's response
	// headers: 0, no bound but the call's, or 10ms..1h. Default
	// DefaultAttemptTimeout (0).
	AttemptTimeout Duration `toml:"attempt_timeout"`
	// FailureThreshold is how many consecutive retryable failures (5xx, connect
	// errors, timeouts) cool a provider down, 1..1000. Default
	// DefaultFailureThreshold.
	FailureThreshold int `toml:"failure_threshold"`
	// Cooldown is how long a provider cools down, 1s..1h. Default DefaultCooldown.
	Cooldown Duration `toml:"cooldown"`
	// RateLimitCooldown is how long a credential rests after a 429 response that
	// carries no Retry-After, 1s..1h. Default DefaultRateLimitCooldown.
	RateLimitCooldown Duration `toml:"rate_limit_cooldown"`
	// Aliases are model names clients may use for a list of models tried in order,
	// each "provider/model" or a bare model name ([routing.aliases], NAME = [...]).
	// An alias name matches ^[a-zA-Z0-9][a-zA-Z0-9._:-]*$ and is not a provider's
	// name; a list has 1..20 entries, no duplicates and no other alias. Aliases
	// come from the config only. Default empty.
	Aliases map[string][]string `toml:"aliases"`
}

// Billing says whether and how calls are charged ([billing]). Every call is
// metered and recorded whether or not billing is enabled; enabling it makes the
// billing plugin price each call, hold the worst case on the account's credits
// before the upstream call (refusing with 402 when they do not cover it) and
// charge the actual cost after.
type Billing struct {
	// Enabled turns charging on. Off, calls are metered and recorded, and
	// nothing is charged. Default DefaultBillingEnabled (false).
	Enabled bool `toml:"enabled"`

	// Durability is DurabilityBatched ("batched") or DurabilityStrict
	// ("strict"): whether holds and charges are committed in batches, or each
	// before the call goes on. Default DefaultDurability.
	Durability string `toml:"durability"`

	// Policy names the billing plugin that prices calls: a [plugins.NAME]
	// entry (a billing .wasm module, or "builtin:credits") or a builtin billing
	// plugin ([BuiltinBillingPlugins]), which implies source "builtin:NAME"
	// with defaults. No provider may use it. When billing is enabled, Parse/Load
	// add a [plugins.NAME] entry for a builtin policy the file has no table for
	// (see [Config.BillingPlugin]). Default DefaultBillingPolicy ("credits").
	Policy string `toml:"policy"`

	// NewAccountGrant is the credits each new account starts with, a decimal
	// string like "10" or "0.5" ([Credits]). Default DefaultNewAccountGrant (0).
	NewAccountGrant Credits `toml:"new_account_grant"`

	// DefaultMaxOutputTokens is the worst case of output tokens assumed when
	// pricing the hold of a request that sets no max_tokens, 1..10_000_000.
	// Default DefaultMaxOutputTokens (4096).
	DefaultMaxOutputTokens int `toml:"default_max_output_tokens"`

	// Rates are the prices of models, keyed by "provider/model" or a bare model
	// name (which prices the model on every provider without a rate of its
	// own): non-empty, without whitespace ([billing.rates], "gpt-4o" = {
	// input = "2.5", … }). They seed the database's model rates at each start:
	// the file wins for the models it names, and rates set through the admin API
	// or the CLI for other models are kept. Default empty.
	Rates map[string]Rate `toml:"rates"`
}

// Rate is the price of one model ([billing.rates]), in credits ([Credits]):
// token prices per 1,000,000 tokens, so input = "2.5" is 2_500_000
// micro-credits per million input tokens, the number the database's
// model_rates.input_per_m holds. An amount left out is 0.
type Rate struct {
	// Input is the price of 1M prompt tokens not read from a cache.
	Input Credits `toml:"input"`
	// Output is the price of 1M completion tokens (reasoning included).
	Output Credits `toml:"output"`
	// CachedRead is the price of 1M prompt tokens read from the provider's
	// cache.
	CachedRead Credits `toml:"cached_read"`
	// CacheWrite is the price of 1M prompt tokens written to the provider's
	// cache.
	CacheWrite Credits `toml:"cache_write"`
	// PerImage is the price of one generated image.
	PerImage Credits `toml:"per_image"`
	// MinPerCall is the least a call costs.
	MinPerCall Credits `toml:"min_per_call"`
}

// PluginEntry is one plugin module ([plugins.NAME]).
type PluginEntry struct {
	// Name is the plugin's name, the key of its [plugins.NAME] table. Set by
	// Parse/Load; not read from TOML.
	Name string `toml:"-"`

	// Source is "builtin:NAME" (a plugin built into the binary, see [BuiltinPlugins])
	// or the path of a .wasm file; a relative path is resolved against the config
	// file's directory and is absolute after Parse/Load. Default "builtin:" + Name when
	// Name is a builtin plugin; required otherwise.
	Source string `toml:"source"`

	// SHA256 optionally pins a .wasm file: 64 hex digits (lower-cased by Parse/Load)
	// that the loader checks against the file's SHA-256. Default "" (no pin). Not
	// allowed for builtin sources.
	SHA256 string `toml:"sha256"`

	// Trusted lets the plugin run without wazero's close-on-context-done check, which
	// costs time on every call but is the only way to stop a guest stuck in a loop.
	// Default (nil): true for builtin plugins, false otherwise; Parse/Load set it. A
	// trusted .wasm file must be pinned with SHA256.
	Trusted *bool `toml:"trusted"`

	// PoolSize is the most warm instances kept, 1..256. Default DefaultPoolSize when 0;
	// Parse/Load set it.
	PoolSize int `toml:"pool_size"`

	// MinIdle is the number of instances kept warm while idle, 1..PoolSize. Default
	// DefaultMinIdle when 0; Parse/Load set it.
	MinIdle int `toml:"min_idle"`

	// Config is passed to the plugin as JSON (see [PluginEntry.ConfigJSON]); its
	// contents are the plugin's business. Default empty.
	Config map[string]any `toml:"config"`

	// Watch hot-reloads the plugin when its .wasm file changes: the hub polls the
	// file's size, modification time and SHA-256 about every second and reloads a
	// new module once it is the same on two polls in a row (so a half-written file
	// is never loaded). Default false. Only a .wasm file source can be watched.
	Watch bool `toml:"watch"`
}

// Builtin returns the builtin plugin name for a "builtin:NAME" source.
func (p PluginEntry) Builtin() (name string, ok bool) {
	return strings.CutPrefix(p.Source, BuiltinSourcePrefix)
}

// IsTrusted reports whether the plugin runs without the close-on-context-done check:
// Trusted when set, else whether the source is builtin.
func (p PluginEntry) IsTrusted() bool {
	if p.Trusted != nil {
		return *p.Trusted
	}
	_, builtin := p.Builtin()
	return builtin
}

// ConfigJSON returns Config encoded as a JSON object ("{}" when empty). TOML dates
// and times become RFC 3339 strings.
func (p PluginEntry) ConfigJSON() ([]byte, error) {
	if len(p.Config) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(p.Config)
	if err != nil {
		return nil, fmt.Errorf("encode plugin %s config: %w", p.Name, err)
	}
	return b, nil
}

// Provider is one upstream provider ([[providers]]).
type Provider struct {
	// Name identifies the provider in routes ("openai/gpt-4o"), logs and records. It
	// matches ^[a-z0-9][a-z0-9_-]*$ and is unique. Required.
	Name string `toml:"name"`

	// Plugin names the provider plugin: a [plugins.NAME] entry, a builtin plugin
	// name, which implies source "builtin:NAME" with defaults, or a builtin provider
	// preset ([Presets]: "deepseek", "google", …), which Parse/Load replace by the
	// preset's plugin, filling in its base URL and options. A billing plugin
	// ([Config.IsBillingPlugin]) is refused. Required.
	Plugin string `toml:"plugin"`

	// Preset is the [Presets] name the provider's plugin key gave, "" when none.
	// Set by Parse/Load; not read from TOML.
	Preset string `toml:"-"`

	// BaseURL is the absolute http(s) URL that upstream paths are appended to, without
	// query, fragment or user info. ${NAME} and ${NAME:-default} environment
	// references are expanded; a trailing "/" is removed. Default: the preset's base
	// URL; required when the plugin is not a preset.
	BaseURL string `toml:"base_url"`

	// Region is the cloud region of providers signed with AWS SigV4 (bedrock), e.g.
	// "us-east-1"; it also fills "{region}" in the preset's base URL. Default "".
	Region string `toml:"region"`

	// Options are passed to the plugin with every request of this provider, as JSON
	// (see [Provider.OptionsJSON]); one plugin module can so serve several providers
	// differently. Default: the preset's options, which these override key by key.
	Options map[string]any `toml:"options"`

	// Credentials are the secrets the host injects upstream, each "env:NAME" or a
	// literal, or a table { secret = "env:NAME", weight = 3, name = "backup" } that
	// also gives the credential's share of calls (1..1000, default 1) and its name
	// (^[a-z0-9][a-z0-9_-]*$, unique within the provider; default
	// "<provider>-<position>", see [Provider.CredentialName]); calls rotate among
	// them by weight. They are not ${…}-expanded. Default empty, which means the
	// upstream needs no authentication.
	Credentials []Credential `toml:"credentials"`

	// Models are the model names the provider serves, as the upstream spells them
	// ("gpt-4o", "openai/gpt-4o"): non-empty, no whitespace, unique; [AnyModel] ("*")
	// accepts any model addressed through the provider's prefix. Empty (or absent)
	// means "ask the upstream": the hub lists its models through the plugin (e.g.
	// Ollama's /api/tags) at start and every ten minutes, which needs a plugin that
	// serves the "models" API.
	Models []string `toml:"models"`

	// Enabled takes the provider out of routing when false. Default (nil) true;
	// Parse/Load set it.
	Enabled *bool `toml:"enabled"`
}

// CredentialName returns the name of Credentials[i]: the name its table form gives,
// or else "<provider>-<i+1>" ("openai-1", "openai-2", …), the name the hub has
// always stored config credentials under. For an i out of range it returns the
// default form.
func (p *Provider) CredentialName(i int) string {
	if i >= 0 && i < len(p.Credentials) {
		if n := p.Credentials[i].Name(); n != "" {
			return n
		}
	}
	return defaultCredentialName(p.Name, i)
}

func defaultCredentialName(provider string, i int) string {
	return provider + "-" + strconv.Itoa(i+1)
}

// OptionsJSON returns Options encoded as a JSON object ("{}" when empty).
func (p *Provider) OptionsJSON() ([]byte, error) {
	if len(p.Options) == 0 {
		return []byte("{}"), nil
	}
	b, err := json.Marshal(p.Options)
	if err != nil {
		return nil, fmt.Errorf("encode provider %s options: %w", p.Name, err)
	}
	return b, nil
}

// AnyModel is the models entry that lets a provider serve any model addressed
// through its prefix ("openrouter/meta-llama/llama-3-70b"), for upstreams with
// catalogs too large or too changeable to list. Bare model names never route to
// it.
const AnyModel = "*"

// IsEnabled reports whether the provider takes traffic: Enabled when set, else true.
func (p *Provider) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// HasModel reports whether the provider lists model.
func (p *Provider) HasModel(model string) bool {
	for _, m := range p.Models {
		if m == model {
			return true
		}
	}
	return false
}

// Defaults returns a Config holding every default: the starting point that a file is
// decoded onto. It has no providers, so it does not validate on its own.
func Defaults() *Config {
	return &Config{
		Listen:  DefaultListen,
		DataDir: DefaultDataDir,
		Log: Log{
			Level:  DefaultLogLevel,
			Format: DefaultLogFormat,
		},
		Limits: Limits{
			MaxRequestBody:         DefaultMaxRequestBody,
			PluginDeadline:         DefaultPluginDeadline,
			PluginMemory:           DefaultPluginMemory,
			PluginMaxOutput:        DefaultPluginMaxOutput,
			UpstreamTimeout:        DefaultUpstreamTimeout,
			UpstreamConnectTimeout: DefaultUpstreamConnectTimeout,
			ShutdownGrace:          DefaultShutdownGrace,
		},
		Routing: Routing{
			MaxAttempts:       DefaultMaxAttempts,
			RetriesPerTarget:  DefaultRetriesPerTarget,
			Backoff:           DefaultBackoff,
			MaxBackoff:        DefaultMaxBackoff,
			Deadline:          DefaultDeadline,
			AttemptTimeout:    DefaultAttemptTimeout,
			FailureThreshold:  DefaultFailureThreshold,
			Cooldown:          DefaultCooldown,
			RateLimitCooldown: DefaultRateLimitCooldown,
		},
		Billing: Billing{
			Enabled:                DefaultBillingEnabled,
			Durability:             DefaultDurability,
			Policy:                 DefaultBillingPolicy,
			NewAccountGrant:        DefaultNewAccountGrant,
			DefaultMaxOutputTokens: DefaultMaxOutputTokens,
		},
	}
}

// File returns the file name the config was read from, as given to Parse or Load.
func (c *Config) File() string { return c.file }

// Dir returns the absolute directory that relative paths in the config resolve
// against: the config file's directory.
func (c *Config) Dir() string { return c.dir }

// CallDeadline returns the bound on one whole call, retries included:
// Routing.Deadline, or Limits.UpstreamTimeout when that is 0.
func (c *Config) CallDeadline() Duration {
	if c.Routing.Deadline > 0 {
		return c.Routing.Deadline
	}
	return c.Limits.UpstreamTimeout
}

// Provider returns the provider called name.
func (c *Config) Provider(name string) (*Provider, bool) {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i], true
		}
	}
	return nil, false
}

// PluginFor returns the plugin entry provider p uses, with defaults resolved: in a
// config from Parse/Load every provider's plugin has an entry in Plugins, a builtin
// one included. It returns the zero PluginEntry for an unknown plugin.
func (c *Config) PluginFor(p *Provider) PluginEntry {
	if e, ok := c.Plugins[p.Plugin]; ok {
		return e
	}
	return PluginEntry{}
}

// BillingPlugin returns the entry of the billing plugin, Billing.Policy, with
// defaults resolved: its [plugins.NAME] entry, or, for a builtin billing plugin
// the file has no table for, the entry it would get (when billing is enabled a
// config from Parse/Load holds that entry in Plugins). ok is false when the
// policy names neither, which Parse/Load do not let through.
func (c *Config) BillingPlugin() (e PluginEntry, ok bool) {
	if e, ok := c.Plugins[c.Billing.Policy]; ok {
		return e, true
	}
	if slices.Contains(c.builtinBilling(), c.Billing.Policy) {
		return builtinEntry(c.Billing.Policy), true
	}
	return PluginEntry{}, false
}

// IsBillingPlugin reports whether the plugin called name is a billing plugin,
// which no provider may use: an entry of Plugins with a builtin billing source
// ("builtin:credits"), the .wasm entry that Billing.Policy names, or, without an
// entry, a builtin billing plugin name.
func (c *Config) IsBillingPlugin(name string) bool {
	if e, ok := c.Plugins[name]; ok {
		if b, builtin := e.Builtin(); builtin {
			return slices.Contains(c.builtinBilling(), b)
		}
		return name == c.Billing.Policy
	}
	return slices.Contains(c.builtinBilling(), name)
}

func (c *Config) builtinBilling() []string {
	if c.billingBuiltins != nil {
		return c.billingBuiltins
	}
	return BuiltinBillingPlugins
}

// UsedPlugins returns the entries of the plugins that enabled providers use, sorted
// by name: the plugins worth compiling and warming. The billing plugin is not
// among them (see [Config.BillingPlugin]).
func (c *Config) UsedPlugins() []PluginEntry {
	seen := map[string]bool{}
	var out []PluginEntry
	for i := range c.Providers {
		p := &c.Providers[i]
		if !p.IsEnabled() || seen[p.Plugin] {
			continue
		}
		seen[p.Plugin] = true
		if e, ok := c.Plugins[p.Plugin]; ok {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
