package config

import (
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/BurntSushi/toml"
)

// nameRE is what provider and plugin names look like.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// regionRE matches cloud region names such as "us-east-1" or "cn-north-1".
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+-[0-9]+$`)

// Bounds checked by validation.
const (
	minMaxRequestBody  = KiB
	maxMaxRequestBody  = GiB
	minPluginMemory    = 16 * MiB
	maxPluginMemory    = 4 * GiB
	wasmPageSize       = 64 * KiB
	minPluginMaxOutput = KiB
	maxPoolSize        = 256

	minPluginDeadline  = Duration(time.Millisecond)
	maxPluginDeadline  = Duration(10 * time.Minute)
	minUpstreamTimeout = Duration(time.Second)
	maxUpstreamTimeout = Duration(24 * time.Hour)
	minConnectTimeout  = Duration(time.Millisecond)
	minShutdownGrace   = Duration(time.Millisecond)
	maxShutdownGrace   = Duration(time.Hour)

	minMaxAttempts      = 1
	maxMaxAttempts      = 20
	maxRetriesPerTarget = 10
	maxBackoff          = Duration(time.Minute)
	maxMaxBackoff       = Duration(5 * time.Minute)
	minDeadline         = Duration(time.Second)
	maxDeadline         = Duration(24 * time.Hour)
	minAttemptTimeout   = Duration(10 * time.Millisecond)
	maxAttemptTimeout   = Duration(time.Hour)
	minFailureThreshold = 1
	maxFailureThreshold = 1000
	minCooldown         = Duration(time.Second)
	maxCooldown         = Duration(time.Hour)
	maxAliasEntries     = 20

	minMaxOutputTokens = 1
	maxMaxOutputTokens = 10_000_000
)

// aliasRE is what routing alias names look like: model-like, without "/".
var aliasRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._:-]*$`)

// issue is a validation problem before its line is known.
type issue struct {
	path fieldPath
	msg  string
}

// problems collects validation problems in order.
type problems []issue

func (ps *problems) add(path fieldPath, format string, args ...any) {
	*ps = append(*ps, issue{path: path, msg: fmt.Sprintf(format, args...)})
}

// fieldPath locates a value: TOML key segments, each maybe with an array index.
type fieldPath []pathSeg

type pathSeg struct {
	key     string
	index   int
	indexed bool
}

// at returns the path of the TOML key keys.
func at(keys ...string) fieldPath {
	p := make(fieldPath, len(keys))
	for i, k := range keys {
		p[i] = pathSeg{key: k}
	}
	return p
}

// dot returns p extended by key.
func (p fieldPath) dot(key string) fieldPath {
	return append(p[:len(p):len(p)], pathSeg{key: key})
}

// index returns p with index i on its last segment.
func (p fieldPath) index(i int) fieldPath {
	q := append(fieldPath(nil), p...)
	q[len(q)-1].index, q[len(q)-1].indexed = i, true
	return q
}

// unindexed returns p without the index on its last segment.
func (p fieldPath) unindexed() fieldPath {
	q := append(fieldPath(nil), p...)
	q[len(q)-1].index, q[len(q)-1].indexed = 0, false
	return q
}

// String formats p like "providers[1].base_url" or `plugins."a b".source`.
func (p fieldPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(toml.Key{s.key}.String())
		if s.indexed {
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return b.String()
}

// tomlKey returns the key segments without indexes.
func (p fieldPath) tomlKey() toml.Key {
	k := make(toml.Key, len(p))
	for i, s := range p {
		k[i] = s.key
	}
	return k
}

// validate checks every field of c, normalizing it on the way (see Options.Parse),
// and returns all problems found.
func (o Options) validate(c *Config) []issue {
	var ps problems
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	builtins := o.Builtins
	if builtins == nil {
		builtins = BuiltinPlugins
	}
	billingBuiltins := o.BillingBuiltins
	if billingBuiltins == nil {
		billingBuiltins = BuiltinBillingPlugins
	}
	c.billingBuiltins = billingBuiltins

	if v, ok := ps.expand(at("listen"), c.Listen, lookup); ok {
		c.Listen = v
		ps.listen(at("listen"), v)
	}

	switch {
	case c.DataDir == "":
		ps.add(at("data_dir"), "must not be empty")
	case !filepath.IsAbs(c.DataDir):
		c.DataDir = filepath.Join(c.dir, c.DataDir)
	default:
		c.DataDir = filepath.Clean(c.DataDir)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		ps.add(at("log", "level"), "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		ps.add(at("log", "format"), "must be text or json; got %q", c.Log.Format)
	}

	ps.limits(&c.Limits)
	ps.routing(c)

	names := make([]string, 0, len(c.Plugins))
	for name := range c.Plugins {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		e := c.Plugins[name]
		ps.plugin(&e, name, c.dir, builtins, billingBuiltins)
		c.Plugins[name] = e
	}

	ps.providers(c, builtins, lookup)
	ps.billing(c, builtins)
	return ps
}

// expand expands ${…} references in v; ok is false when there were problems.
func (ps *problems) expand(path fieldPath, v string, lookup func(string) (string, bool)) (string, bool) {
	out, errs := expandEnv(v, lookup)
	for _, e := range errs {
		ps.add(path, "%s", e)
	}
	return out, len(errs) == 0
}

func (ps *problems) listen(path fieldPath, v string) {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		ps.add(path, "must be host:port, like %q; got %q", DefaultListen, v)
		return
	}
	if strings.ContainsFunc(host, unicode.IsSpace) {
		ps.add(path, "invalid host %q", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(port, "+-") {
		ps.add(path, "port must be a number 0..65535; got %q", port)
	}
}

func (ps *problems) limits(l *Limits) {
	ps.sizeRange(at("limits", "max_request_body"), l.MaxRequestBody, minMaxRequestBody, maxMaxRequestBody)
	ps.durationRange(at("limits", "plugin_deadline"), l.PluginDeadline, minPluginDeadline, maxPluginDeadline)
	memOK := ps.sizeRange(at("limits", "plugin_memory"), l.PluginMemory, minPluginMemory, maxPluginMemory)
	if memOK && l.PluginMemory%wasmPageSize != 0 {
		ps.add(at("limits", "plugin_memory"), "must be a multiple of 64KiB (the Wasm page size); got %s", l.PluginMemory)
		memOK = false
	}
	maxOut := maxPluginMemory
	if memOK {
		maxOut = l.PluginMemory
	}
	ps.sizeRange(at("limits", "plugin_max_output"), l.PluginMaxOutput, minPluginMaxOutput, maxOut)
	upOK := ps.durationRange(at("limits", "upstream_timeout"), l.UpstreamTimeout, minUpstreamTimeout, maxUpstreamTimeout)
	maxConnect := maxUpstreamTimeout
	if upOK {
		maxConnect = l.UpstreamTimeout
	}
	ps.durationRange(at("limits", "upstream_connect_timeout"), l.UpstreamConnectTimeout, minConnectTimeout, maxConnect)
	ps.durationRange(at("limits", "shutdown_grace"), l.ShutdownGrace, minShutdownGrace, maxShutdownGrace)
}

func (ps *problems) routing(c *Config) {
	r := &c.Routing
	pre := at("routing")
	ps.intRange(pre.dot("max_attempts"), r.MaxAttempts, minMaxAttempts, maxMaxAttempts)
	ps.intRange(pre.dot("retries_per_target"), r.RetriesPerTarget, 0, maxRetriesPerTarget)
	minMax := Duration(0)
	if ps.durationRange(pre.dot("backoff"), r.Backoff, 0, maxBackoff) {
		minMax = r.Backoff
	}
	ps.durationRange(pre.dot("max_backoff"), r.MaxBackoff, minMax, maxMaxBackoff)
	if r.Deadline != 0 && (r.Deadline < minDeadline || r.Deadline > maxDeadline) {
		ps.add(pre.dot("deadline"), "must be 0 (limits.upstream_timeout) or between %s and %s; got %s", minDeadline, maxDeadline, r.Deadline)
	}
	if r.AttemptTimeout != 0 && (r.AttemptTimeout < minAttemptTimeout || r.AttemptTimeout > maxAttemptTimeout) {
		ps.add(pre.dot("attempt_timeout"), "must be 0 (no bound) or between %s and %s; got %s", minAttemptTimeout, maxAttemptTimeout, r.AttemptTimeout)
	}
	ps.intRange(pre.dot("failure_threshold"), r.FailureThreshold, minFailureThreshold, maxFailureThreshold)
	ps.durationRange(pre.dot("cooldown"), r.Cooldown, minCooldown, maxCooldown)
	ps.durationRange(pre.dot("rate_limit_cooldown"), r.RateLimitCooldown, minCooldown, maxCooldown)

	names := make([]string, 0, len(r.Aliases))
	for name := range r.Aliases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ps.alias(c, pre.dot("aliases").dot(name), name, r.Aliases[name])
	}
}

// alias checks the alias name = entries at path. Providers are those of the file:
// aliases are config-only, so they are checked against the config's providers, not
// against providers added at run time.
func (ps *problems) alias(c *Config, path fieldPath, name string, entries []string) {
	switch {
	case !aliasRE.MatchString(name):
		ps.add(path, "invalid alias name %q: must match %s", name, aliasRE)
	case c.hasProvider(name):
		ps.add(path, "alias %q has the name of a provider; choose another", name)
	}
	switch {
	case len(entries) == 0:
		ps.add(path, "must list at least one model")
	case len(entries) > maxAliasEntries:
		ps.add(path, "must list at most %d models; got %d", maxAliasEntries, len(entries))
	}
	seen := map[string]int{}
	for j, e := range entries {
		epath := path.index(j)
		if k, dup := seen[e]; dup {
			ps.add(epath, "duplicate entry %q (also %s[%d])", e, toml.Key{name}, k)
			continue
		}
		seen[e] = j
		if msg := aliasEntryProblem(c, e); msg != "" {
			ps.add(epath, "%s", msg)
		}
	}
}

// aliasEntryProblem reports what is wrong with the alias entry e, or "".
func aliasEntryProblem(c *Config, e string) string {
	switch {
	case e == "":
		return "must not be empty"
	case strings.ContainsFunc(e, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return fmt.Sprintf("model %q must not contain whitespace or control characters", e)
	case strings.HasPrefix(e, "/"):
		return fmt.Sprintf(`invalid model %q: want "provider/model" or a model name`, e)
	}
	if _, isAlias := c.Routing.Aliases[e]; isAlias {
		return fmt.Sprintf(`%q is an alias; an alias lists models, not other aliases (write "provider/model" for a model of that name)`, e)
	}
	prov, model, slashed := strings.Cut(e, "/")
	if !slashed {
		return "" // a bare model name: whichever providers serve it
	}
	p, ok := c.Provider(prov)
	if !ok {
		// Like the router, take an id whose prefix is no provider as a bare model
		// name ("meta-llama/llama-3-70b"), but only when a provider lists it: else
		// it is most likely a misspelt provider.
		for i := range c.Providers {
			if c.Providers[i].HasModel(e) {
				return ""
			}
		}
		return fmt.Sprintf(`no provider %q in the config (want "provider/model" with a configured provider, or a model name)`, prov)
	}
	switch {
	case model == "":
		return fmt.Sprintf(`no model after "%s/"`, prov)
	case len(p.Models) > 0 && !p.HasModel(model) && !p.HasModel(AnyModel):
		return fmt.Sprintf("provider %s does not list model %q", prov, model)
	}
	return ""
}

// hasProvider reports whether a provider in the file is called name.
func (c *Config) hasProvider(name string) bool {
	_, ok := c.Provider(name)
	return ok
}

func (ps *problems) intRange(path fieldPath, v, lo, hi int) bool {
	if v < lo || v > hi {
		ps.add(path, "must be between %d and %d; got %d", lo, hi, v)
		return false
	}
	return true
}

func (ps *problems) sizeRange(path fieldPath, v, lo, hi Size) bool {
	if v < lo || v > hi {
		ps.add(path, "must be between %s and %s; got %s", lo, hi, v)
		return false
	}
	return true
}

func (ps *problems) durationRange(path fieldPath, v, lo, hi Duration) bool {
	if v < lo || v > hi {
		ps.add(path, "must be between %s and %s; got %s", lo, hi, v)
		return false
	}
	return true
}

// plugin validates and normalizes the entry [plugins.name]; builtins and
// billingBuiltins are the provider and billing plugins built into the binary.
func (ps *problems) plugin(e *PluginEntry, name, dir string, builtins, billingBuiltins []string) {
	pre := at("plugins", name)
	e.Name = name
	if !nameRE.MatchString(name) {
		ps.add(pre, "invalid plugin name %q: must match %s", name, nameRE)
	}
	if e.Source == "" && (slices.Contains(builtins, name) || slices.Contains(billingBuiltins, name)) {
		e.Source = BuiltinSourcePrefix + name
	}

	builtin := false
	switch bn, ok := e.Builtin(); {
	case e.Source == "":
		ps.add(pre.dot("source"), `must be "builtin:NAME" or the path of a .wasm file`)
	case ok:
		builtin = true
		if !slices.Contains(builtins, bn) && !slices.Contains(billingBuiltins, bn) {
			ps.add(pre.dot("source"), "unknown builtin plugin %q (builtin: %s)", bn, strings.Join(slices.Concat(builtins, billingBuiltins), ", "))
		}
	case !strings.HasSuffix(strings.ToLower(e.Source), ".wasm"):
		ps.add(pre.dot("source"), `must be "builtin:NAME" or the path of a .wasm file; got %q`, e.Source)
	default:
		if !filepath.IsAbs(e.Source) {
			e.Source = filepath.Join(dir, e.Source)
		}
		e.Source = filepath.Clean(e.Source)
		switch fi, err := os.Stat(e.Source); {
		case err != nil && os.IsNotExist(err):
			ps.add(pre.dot("source"), "file %s does not exist", e.Source)
		case err != nil:
			ps.add(pre.dot("source"), "%v", err)
		case !fi.Mode().IsRegular():
			ps.add(pre.dot("source"), "%s is not a regular file (%s)", e.Source, fi.Mode().Type()&fs.ModeType)
		}
	}

	if e.SHA256 != "" {
		e.SHA256 = strings.ToLower(e.SHA256)
		switch b, err := hex.DecodeString(e.SHA256); {
		case builtin:
			ps.add(pre.dot("sha256"), "only a .wasm file source can be pinned")
		case err != nil || len(b) != 32:
			ps.add(pre.dot("sha256"), "must be 64 hex digits; got %d characters", len(e.SHA256))
		}
	}

	if e.Watch && builtin {
		ps.add(pre.dot("watch"), "only a .wasm file source can be watched")
	}

	if e.Trusted == nil {
		e.Trusted = &builtin
	} else if *e.Trusted && !builtin && e.SHA256 == "" {
		ps.add(pre.dot("trusted"), "a trusted .wasm plugin must be pinned with sha256")
	}

	switch {
	case e.PoolSize < 0 || e.PoolSize > maxPoolSize:
		ps.add(pre.dot("pool_size"), "must be between 1 and %d (0 for the default %d); got %d", maxPoolSize, DefaultPoolSize, e.PoolSize)
	case e.PoolSize == 0:
		e.PoolSize = DefaultPoolSize
	}
	switch {
	case e.MinIdle < 0 || e.PoolSize > 0 && e.MinIdle > e.PoolSize:
		ps.add(pre.dot("min_idle"), "must be between 1 and pool_size (0 for the default %d); got %d", DefaultMinIdle, e.MinIdle)
	case e.MinIdle == 0:
		e.MinIdle = min(DefaultMinIdle, max(e.PoolSize, 1))
	}

	if _, err := e.ConfigJSON(); err != nil {
		ps.add(pre.dot("config"), "cannot be passed to the plugin as JSON: %v", err)
	}
}

// builtinEntry is the entry a builtin plugin gets when no [plugins.NAME] names it.
func builtinEntry(name string) PluginEntry {
	trusted := true
	return PluginEntry{
		Name:     name,
		Source:   BuiltinSourcePrefix + name,
		Trusted:  &trusted,
		PoolSize: DefaultPoolSize,
		MinIdle:  DefaultMinIdle,
	}
}

func (ps *problems) providers(c *Config, builtins []string, lookup func(string) (string, bool)) {
	if len(c.Providers) == 0 {
		ps.add(at("providers"), "at least one [[providers]] entry is required")
		return
	}
	seen := map[string]int{}
	// Only a [plugins.NAME] table from the file overrides a preset of the
	// same name; the builtin entries added below for earlier providers do not.
	written := make(map[string]bool, len(c.Plugins))
	for name := range c.Plugins {
		written[name] = true
	}
	for i := range c.Providers {
		p := &c.Providers[i]
		pre := at("providers").index(i)

		switch j, dup := seen[p.Name]; {
		case p.Name == "":
			ps.add(pre.dot("name"), "must not be empty")
		case !nameRE.MatchString(p.Name):
			ps.add(pre.dot("name"), "invalid provider name %q: must match %s", p.Name, nameRE)
		case dup:
			ps.add(pre.dot("name"), "duplicate provider name %q (also providers[%d])", p.Name, j)
		default:
			seen[p.Name] = i
		}

		entry := written[p.Plugin]
		if preset, ok := Presets[p.Plugin]; ok && !entry && slices.Contains(builtins, preset.Plugin) {
			p.Preset = p.Plugin
			p.Plugin = preset.Plugin
			_, entry = c.Plugins[p.Plugin]
			if p.BaseURL == "" && preset.BaseURL != "" {
				if strings.Contains(preset.BaseURL, "{region}") {
					if p.Region == "" {
						ps.add(pre.dot("region"), "is required by the %s preset (or set base_url)", p.Preset)
					}
					p.BaseURL = strings.ReplaceAll(preset.BaseURL, "{region}", p.Region)
				} else {
					p.BaseURL = preset.BaseURL
				}
			}
			if len(preset.Options) > 0 {
				merged := make(map[string]any, len(preset.Options)+len(p.Options))
				for k, v := range preset.Options {
					merged[k] = v
				}
				for k, v := range p.Options {
					merged[k] = v
				}
				p.Options = merged
			}
		}
		if p.Region != "" && !regionRE.MatchString(p.Region) {
			ps.add(pre.dot("region"), "invalid region %q: must match %s", p.Region, regionRE)
		}
		if _, err := p.OptionsJSON(); err != nil {
			ps.add(pre.dot("options"), "cannot be passed to the plugin as JSON: %v", err)
		}
		switch {
		case p.Plugin == "":
			ps.add(pre.dot("plugin"), "must not be empty")
		case c.IsBillingPlugin(p.Plugin):
			ps.add(pre.dot("plugin"), "%s, not a provider plugin: a provider needs a provider plugin (%s) or a [plugins.NAME] entry with a provider module",
				c.billingPluginDescription(p.Plugin), strings.Join(builtins, ", "))
		case entry:
		case slices.Contains(builtins, p.Plugin):
			if c.Plugins == nil {
				c.Plugins = map[string]PluginEntry{}
			}
			c.Plugins[p.Plugin] = builtinEntry(p.Plugin)
		default:
			ps.add(pre.dot("plugin"), "no plugin %q: add a [plugins.%s] table or name a builtin plugin (%s)",
				p.Plugin, p.Plugin, strings.Join(builtins, ", "))
		}

		if v, ok := ps.expand(pre.dot("base_url"), p.BaseURL, lookup); ok {
			p.BaseURL = ps.baseURL(pre.dot("base_url"), v)
		}

		ps.credentials(p, pre)

		models := map[string]int{}
		for j, m := range p.Models {
			path := pre.dot("models").index(j)
			switch k, dup := models[m]; {
			case m == "":
				ps.add(path, "must not be empty")
			case strings.ContainsFunc(m, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
				ps.add(path, "model name %q must not contain whitespace or control characters", m)
			case dup:
				ps.add(path, "duplicate model %q (also models[%d])", m, k)
			default:
				models[m] = j
			}
		}

		if p.Enabled == nil {
			enabled := true
			p.Enabled = &enabled
		}
	}
}

// billingPluginDescription says why name is a billing plugin, for messages.
func (c *Config) billingPluginDescription(name string) string {
	e, ok := c.Plugins[name]
	switch {
	case !ok:
		return fmt.Sprintf("%q is the builtin billing plugin", name)
	case name == c.Billing.Policy:
		return fmt.Sprintf("plugin %q is the billing plugin (billing.policy names it)", name)
	}
	return fmt.Sprintf("plugin %q is a billing plugin (source %q)", name, e.Source)
}

// billing checks the [billing] table. It runs after the plugins and providers:
// the policy must name a plugin, and, when billing is enabled, a builtin policy
// gets its entry in Plugins.
func (ps *problems) billing(c *Config, builtins []string) {
	b := &c.Billing
	pre := at("billing")
	switch b.Durability {
	case DurabilityBatched, DurabilityStrict:
	default:
		ps.add(pre.dot("durability"), "must be %q or %q; got %q", DurabilityBatched, DurabilityStrict, b.Durability)
	}
	ps.intRange(pre.dot("default_max_output_tokens"), b.DefaultMaxOutputTokens, minMaxOutputTokens, maxMaxOutputTokens)

	billingBuiltins := c.builtinBilling()
	known := strings.Join(billingBuiltins, ", ")
	e, entry := c.Plugins[b.Policy]
	bn, builtinSource := e.Builtin()
	switch {
	case b.Policy == "":
		ps.add(pre.dot("policy"), "must name the billing plugin: a [plugins.NAME] entry or a builtin billing plugin (%s)", known)
	case entry && builtinSource && !slices.Contains(billingBuiltins, bn):
		ps.add(pre.dot("policy"), "plugin %q (source %q) is a provider plugin, not a billing plugin: name a builtin billing plugin (%s) or a [plugins.NAME] entry with a billing module",
			b.Policy, e.Source, known)
	case entry:
	case slices.Contains(billingBuiltins, b.Policy):
		if b.Enabled {
			if c.Plugins == nil {
				c.Plugins = map[string]PluginEntry{}
			}
			c.Plugins[b.Policy] = builtinEntry(b.Policy)
		}
	case slices.Contains(builtins, b.Policy):
		ps.add(pre.dot("policy"), "%q is a builtin provider plugin, not a billing plugin: name a builtin billing plugin (%s) or a [plugins.NAME] entry with a billing module",
			b.Policy, known)
	default:
		ps.add(pre.dot("policy"), "no plugin %q: add a [plugins.%s] table or name a builtin billing plugin (%s)", b.Policy, toml.Key{b.Policy}, known)
	}

	models := make([]string, 0, len(b.Rates))
	for m := range b.Rates {
		models = append(models, m)
	}
	slices.Sort(models)
	for _, m := range models {
		path := pre.dot("rates").dot(m)
		switch {
		case m == "":
			ps.add(path, "model must not be empty")
		case strings.ContainsFunc(m, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			ps.add(path, "model %q must not contain whitespace or control characters", m)
		}
	}
}

// credentials checks the credentials of provider p, at pre.
func (ps *problems) credentials(p *Provider, pre fieldPath) {
	secrets := map[string]int{}
	names := map[string]int{} // set names
	for j, cr := range p.Credentials {
		path := pre.dot("credentials").index(j)
		raw, form := cr.rawString(), cr.form
		if form == nil {
			form = &tableForm{hasSecret: true}
		}
		secretPath := path
		if cr.form != nil {
			secretPath = path.dot(credentialSecretKey)
		}
		switch k, dup := secrets[raw]; {
		case !form.hasSecret:
			ps.add(path, `needs a secret: { secret = "env:NAME", … }`)
		case cr.secretProblem() != "":
			ps.add(secretPath, "%s", cr.secretProblem())
		case dup:
			ps.add(secretPath, "duplicate credential %s (also credentials[%d])", cr, k)
		default:
			secrets[raw] = j
		}
		if form.hasWeight && (form.weight < MinCredentialWeight || form.weight > MaxCredentialWeight) {
			msg := fmt.Sprintf("must be between %d and %d; got %d", MinCredentialWeight, MaxCredentialWeight, form.weight)
			if form.weight == 0 {
				msg += " (to stop using a credential, remove it)"
			}
			ps.add(path.dot(credentialWeightKey), "%s", msg)
		}
		if form.hasName {
			switch k, dup := names[form.name]; {
			case form.name == "":
				ps.add(path.dot(credentialNameKey), "must not be empty (leave name out for the default %q)", defaultCredentialName(p.Name, j))
			case !nameRE.MatchString(form.name):
				ps.add(path.dot(credentialNameKey), "invalid credential name %q: must match %s", form.name, nameRE)
			case dup:
				ps.add(path.dot(credentialNameKey), "duplicate credential name %q (also credentials[%d])", form.name, k)
			default:
				names[form.name] = j
			}
		}
	}
	// A set name must not take the default name of a credential without one.
	for j, cr := range p.Credentials {
		if cr.Name() != "" {
			continue
		}
		def := defaultCredentialName(p.Name, j)
		if k, ok := names[def]; ok {
			ps.add(pre.dot("credentials").index(k).dot(credentialNameKey),
				"credential name %q is the default name of credentials[%d], which has no name; choose another", def, j)
		}
	}
}

// baseURL checks v and returns it without trailing slashes.
func (ps *problems) baseURL(path fieldPath, v string) string {
	if v == "" {
		ps.add(path, "must not be empty")
		return v
	}
	u, err := url.Parse(v)
	if err != nil {
		// Not echoed: a malformed URL may hold a password.
		ps.add(path, "must be an absolute http:// or https:// URL; cannot parse it")
		return v
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		ps.add(path, "must be an absolute http:// or https:// URL; got %q", shown)
	case u.Host == "" || u.Hostname() == "":
		ps.add(path, "must have a host; got %q", shown)
	case u.User != nil:
		ps.add(path, "must not contain user info; put secrets in credentials")
	case u.RawQuery != "" || u.ForceQuery:
		ps.add(path, "must not have a query; got %q", shown)
	case u.Fragment != "" || strings.Contains(v, "#"):
		ps.add(path, "must not have a fragment; got %q", shown)
	default:
		return strings.TrimRight(v, "/")
	}
	return v
}
