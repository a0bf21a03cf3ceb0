// Package config loads and validates the hub's configuration file, hub.toml.
//
// Loading follows one fixed flow: start from [Defaults], decode the TOML strictly
// onto it, then validate everything. Strict means a key the schema does not have is
// an error naming the key and its line, and keys must match exactly (no case
// folding). A syntax error, or a value of the wrong type, stops decoding and is
// reported as a [*DecodeError] with file:line:col. Everything else — unknown keys
// and every failed check — is collected and returned at once as a
// [*ValidationError], one [Problem] per failure, each with a field path such as
// "limits.plugin_memory" or "providers[1].base_url" and its line in the file, so
// that one run of `hub validate` shows all there is to fix.
//
// The schema, with defaults:
//
//	listen   = "127.0.0.1:8080"   # host:port; ${NAME} and ${NAME:-default} expanded
//	data_dir = "./data"           # relative to the config file's directory
//
//	[log]
//	level  = "info"               # debug | info | warn | error
//	format = "text"               # text | json
//
//	[limits]
//	max_request_body         = "4MiB"   # Size: "4MiB", "512KiB", "1MB", or bytes
//	plugin_deadline          = "2s"     # Duration: time.ParseDuration syntax
//	plugin_memory            = "64MiB"  # multiple of 64KiB, 16MiB..4GiB
//	plugin_max_output        = "16MiB"  # at most plugin_memory
//	upstream_timeout         = "10m"
//	upstream_connect_timeout = "10s"    # at most upstream_timeout
//	shutdown_grace           = "30s"
//
//	[routing]
//	max_attempts        = 4       # attempts per call, retries and failovers together, 1..20
//	retries_per_target  = 1       # extra attempts on one provider before failing over, 0..10
//	backoff             = "200ms" # first retry delay, doubling with jitter, 0..1m
//	max_backoff         = "2s"    # cap on one delay, backoff..5m
//	deadline            = "0s"    # whole call; 0 = limits.upstream_timeout, else 1s..24h
//	attempt_timeout     = "0s"    # one attempt's wait for headers; 0 = none, else 10ms..1h
//	failure_threshold   = 3       # consecutive retryable failures that cool a provider down
//	cooldown            = "30s"   # a provider's cooldown, 1s..1h
//	rate_limit_cooldown = "10s"   # a credential's rest after a 429 without Retry-After
//
//	[routing.aliases]             # optional; model names for lists tried in order
//	fast = ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku-latest"]
//
//	[billing]
//	enabled    = false            # off: calls are metered and recorded, nothing is charged
//	durability = "batched"        # batched | strict
//	policy     = "credits"        # the billing plugin: a [plugins.NAME] entry or a builtin one
//	new_account_grant = "0"       # Credits: a decimal string, at most 6 decimals, or an integer
//	default_max_output_tokens = 4096  # assumed for a request without max_tokens, 1..10000000
//
//	[billing.rates]               # optional; credits per 1M tokens, per image, per call
//	"gpt-4o" = { input = "2.5", output = "10", cached_read = "1.25", cache_write = "0", per_image = "0", min_per_call = "0" }
//
//	[plugins.NAME]                # optional; a builtin needs no table
//	source    = "builtin:NAME"    # or a .wasm path, relative to the config file
//	sha256    = ""                # optional pin of the .wasm file, 64 hex digits
//	trusted   = false             # default: true for builtins, false otherwise
//	pool_size = 0                 # 0 means 4
//	min_idle  = 0                 # 0 means 1
//	config    = { }               # handed to the plugin as JSON
//	watch     = false             # hot-reload a .wasm file when it changes (polled every second)
//
//	[[providers]]
//	name        = "openai"        # ^[a-z0-9][a-z0-9_-]*$, unique
//	plugin      = "openai"        # a [plugins.NAME] entry, a builtin plugin, or a preset
//	base_url    = "${OPENAI_BASE_URL:-https://api.openai.com/v1}"  # default: the preset's
//	credentials = ["env:OPENAI_API_KEY"]  # "env:NAME" or a literal; [] = no auth
//	# or tables, mixable: { secret = "env:KEY_B", weight = 3, name = "backup" }
//	models      = ["gpt-4o-mini"] # "*" = any model via the prefix; [] = ask the upstream
//	region      = ""              # AWS region of SigV4 providers (bedrock)
//	options     = { }             # handed to the plugin with every request, as JSON
//	enabled     = true
//
// A provider's plugin may name a builtin preset ([Presets]: "deepseek", "xai",
// "openrouter", "doubao", "poe", "openai-compatible", "google", "bedrock", …): the
// preset supplies the plugin module, the public base_url and default options, so
// that several OpenAI-compatible providers share one module told apart by their
// options' "flavor".
//
// Money is exact: [Credits] are read from decimal strings into int64
// micro-credits without floating point ([ParseCredits], [FormatCredits]), and a
// TOML float where credits belong is an error. The billing policy is a plugin
// like the providers' but of another kind: no provider may use it
// ([Config.IsBillingPlugin]), and a builtin policy such as "credits" needs no
// [plugins.NAME] table ([Config.BillingPlugin]).
//
// A credential's weight is its share of the provider's calls (1..1000, default 1);
// its name (default "<provider>-<position>", [Provider.CredentialName]) is what
// the database and the admin API know it by. Alias entries are "provider/model",
// with a provider of the file, or bare model names; aliases are checked against
// the file's providers, since only the file defines aliases.
//
// Environment references are expanded only in listen and base_url, after decoding:
// ${NAME} is NAME's value (unset is an error), ${NAME:-default} falls back to
// default when NAME is unset or empty, and $$ is a literal "$". Credentials are
// never expanded: an "env:NAME" credential is read when the host calls
// [Credential.Resolve], and a [Credential] never prints a literal secret.
package config
