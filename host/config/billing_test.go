package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestBillingDefaults(t *testing.T) {
	want := Billing{
		Enabled:                false,
		Durability:             "batched",
		Policy:                 "credits",
		NewAccountGrant:        0,
		DefaultMaxOutputTokens: 4096,
	}
	if got := Defaults().Billing; !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults().Billing = %+v, want %+v", got, want)
	}
	for _, src := range []string{provider(), "[billing]\n" + provider(), "[billing.rates]\n" + provider()} {
		c, err := testOptions.Parse([]byte(src), "b.toml")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Billing.Rates) != 0 {
			t.Errorf("Rates = %v", c.Billing.Rates)
		}
		c.Billing.Rates = nil
		if !reflect.DeepEqual(c.Billing, want) {
			t.Errorf("Billing = %+v, want the defaults %+v", c.Billing, want)
		}
		// Disabled, the builtin policy adds no plugin entry, but BillingPlugin
		// still tells what it would be.
		if _, ok := c.Plugins["credits"]; ok {
			t.Errorf("Plugins = %v: a credits entry while billing is off", c.Plugins)
		}
		if e, ok := c.BillingPlugin(); !ok || !reflect.DeepEqual(e, builtinEntry("credits")) {
			t.Errorf("BillingPlugin = %+v, %v", e, ok)
		}
	}
}

func TestBillingParse(t *testing.T) {
	src := `
[billing]
enabled = true
durability = "strict"
policy = "credits"
new_account_grant = "12.5"
default_max_output_tokens = 8192

[billing.rates]
"openai/gpt-4o-mini" = { input = "0.15", output = "0.6", cached_read = "0.075" }
"gpt-4o"             = { input = "2.5", output = "10", cached_read = "1.25", cache_write = "0", per_image = "0", min_per_call = "0" }
"dall-e-3"           = { per_image = "0.04", min_per_call = "0.000001" }
whole                = { input = 3, output = "0" }

[billing.rates."meta-llama/llama-3:free"]
input = "0"
` + provider()
	c, err := testOptions.Parse([]byte(src), "b.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Billing{
		Enabled:                true,
		Durability:             DurabilityStrict,
		Policy:                 "credits",
		NewAccountGrant:        12_500_000,
		DefaultMaxOutputTokens: 8192,
		Rates: map[string]Rate{
			"openai/gpt-4o-mini":      {Input: 150_000, Output: 600_000, CachedRead: 75_000},
			"gpt-4o":                  {Input: 2_500_000, Output: 10_000_000, CachedRead: 1_250_000},
			"dall-e-3":                {PerImage: 40_000, MinPerCall: 1},
			"whole":                   {Input: 3_000_000},
			"meta-llama/llama-3:free": {},
		},
	}
	if !reflect.DeepEqual(c.Billing, want) {
		t.Errorf("Billing = %+v\nwant %+v", c.Billing, want)
	}
	// Enabled, the builtin policy has its entry, like a builtin provider plugin.
	e, ok := c.Plugins["credits"]
	if !ok || e.Name != "credits" || e.Source != "builtin:credits" || !e.IsTrusted() || e.PoolSize != DefaultPoolSize || e.MinIdle != DefaultMinIdle {
		t.Errorf("Plugins[credits] = %+v, %v", e, ok)
	}
	if b, ok := c.BillingPlugin(); !ok || !reflect.DeepEqual(b, e) {
		t.Errorf("BillingPlugin = %+v, %v; want %+v", b, ok, e)
	}
	// It is no provider's plugin.
	for _, u := range c.UsedPlugins() {
		if u.Name == "credits" {
			t.Errorf("UsedPlugins = %v", c.UsedPlugins())
		}
	}
}

// A [plugins.NAME] entry can be the billing policy: the builtin one tuned, or a
// .wasm module; and a binary can bring its own set of billing builtins.
func TestBillingPolicyEntries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bill.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		src    string
		opts   Options
		policy PluginEntry // the BillingPlugin wanted, Trusted aside
		inMap  bool        // whether Plugins holds it
	}{
		{"builtin tuned", "[billing]\nenabled = true\n[plugins.credits]\npool_size = 8\nconfig = { currency = \"AIG\" }\n" + provider(), testOptions,
			PluginEntry{Name: "credits", Source: "builtin:credits", PoolSize: 8, MinIdle: 1, Config: map[string]any{"currency": "AIG"}}, true},
		{"builtin under another name", "[billing]\nenabled = true\npolicy = \"std\"\n[plugins.std]\nsource = \"builtin:credits\"\n" + provider(), testOptions,
			PluginEntry{Name: "std", Source: "builtin:credits", PoolSize: DefaultPoolSize, MinIdle: 1}, true},
		{"wasm module", "[billing]\nenabled = true\npolicy = \"tiered\"\n[plugins.tiered]\nsource = \"bill.wasm\"\n" + provider(), testOptions,
			PluginEntry{Name: "tiered", Source: filepath.Join(dir, "bill.wasm"), PoolSize: DefaultPoolSize, MinIdle: 1}, true},
		{"wasm module while disabled", "[billing]\npolicy = \"tiered\"\n[plugins.tiered]\nsource = \"bill.wasm\"\n" + provider(), testOptions,
			PluginEntry{Name: "tiered", Source: filepath.Join(dir, "bill.wasm"), PoolSize: DefaultPoolSize, MinIdle: 1}, true},
		{"custom billing builtins", "[billing]\nenabled = true\npolicy = \"flat\"\n" + provider(), Options{LookupEnv: env(nil), BillingBuiltins: []string{"flat"}},
			PluginEntry{Name: "flat", Source: "builtin:flat", PoolSize: DefaultPoolSize, MinIdle: 1}, true},
		{"custom billing builtins while disabled", "[billing]\npolicy = \"flat\"\n" + provider(), Options{LookupEnv: env(nil), BillingBuiltins: []string{"flat"}},
			PluginEntry{Name: "flat", Source: "builtin:flat", PoolSize: DefaultPoolSize, MinIdle: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.opts.Parse([]byte(tt.src), filepath.Join(dir, "hub.toml"))
			if err != nil {
				t.Fatal(err)
			}
			e, ok := c.BillingPlugin()
			if !ok || e.Trusted == nil {
				t.Fatalf("BillingPlugin = %+v, %v", e, ok)
			}
			_, builtin := e.Builtin()
			if *e.Trusted != builtin {
				t.Errorf("Trusted = %v for source %s", *e.Trusted, e.Source)
			}
			e.Trusted = nil
			if !reflect.DeepEqual(e, tt.policy) {
				t.Errorf("BillingPlugin = %+v\nwant %+v", e, tt.policy)
			}
			if _, in := c.Plugins[tt.policy.Name]; in != tt.inMap {
				t.Errorf("in Plugins = %v, want %v", in, tt.inMap)
			}
			if !c.IsBillingPlugin(tt.policy.Name) {
				t.Errorf("IsBillingPlugin(%s) = false", tt.policy.Name)
			}
			if c.IsBillingPlugin("openai") || c.IsBillingPlugin("nope") {
				t.Error("IsBillingPlugin of a provider plugin or of nothing")
			}
		})
	}
}

func TestIsBillingPlugin(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"bill.wasm", "prov.wasm"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("\x00asm"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := "[billing]\npolicy = \"bill\"\n" +
		"[plugins.bill]\nsource = \"bill.wasm\"\n" +
		"[plugins.prov]\nsource = \"prov.wasm\"\n" +
		"[plugins.std]\nsource = \"builtin:credits\"\n" +
		"[plugins.alt]\nsource = \"builtin:openai\"\n" +
		provider(`plugin = "prov"`) + provider(`name = "q"`, `plugin = "alt"`)
	c, err := testOptions.Parse([]byte(src), filepath.Join(dir, "hub.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"bill": true, "std": true, "credits": true,
		"prov": false, "alt": false, "openai": false, "nope": false, "": false,
	} {
		if got := c.IsBillingPlugin(name); got != want {
			t.Errorf("IsBillingPlugin(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestBillingProblems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bill.wasm"), []byte("\x00asm"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  string // the whole file
		path string // the one problem expected
		line int
		msg  string // a substring of its message
	}{
		{"durability unknown", "[billing]\ndurability = \"eventual\"\n" + provider(),
			"billing.durability", 2, `must be "batched" or "strict"; got "eventual"`},
		{"durability empty", "[billing]\ndurability = \"\"\n" + provider(),
			"billing.durability", 2, `got ""`},
		{"durability case", "[billing]\ndurability = \"Strict\"\n" + provider(),
			"billing.durability", 2, `got "Strict"`},
		{"default_max_output_tokens zero", "[billing]\ndefault_max_output_tokens = 0\n" + provider(),
			"billing.default_max_output_tokens", 2, "must be between 1 and 10000000; got 0"},
		{"default_max_output_tokens negative", "[billing]\ndefault_max_output_tokens = -5\n" + provider(),
			"billing.default_max_output_tokens", 2, "got -5"},
		{"default_max_output_tokens too many", "[billing]\ndefault_max_output_tokens = 10_000_001\n" + provider(),
			"billing.default_max_output_tokens", 2, "got 10000001"},
		{"policy empty", "[billing]\npolicy = \"\"\n" + provider(),
			"billing.policy", 2, "must name the billing plugin: a [plugins.NAME] entry or a builtin billing plugin (credits)"},
		{"policy unknown", "[billing]\nenabled = true\npolicy = \"tiered\"\n" + provider(),
			"billing.policy", 3, `no plugin "tiered": add a [plugins.tiered] table or name a builtin billing plugin (credits)`},
		{"policy unknown while disabled", "[billing]\npolicy = \"tiered\"\n" + provider(),
			"billing.policy", 2, `no plugin "tiered"`},
		{"policy unknown with a quoted name", "[billing]\npolicy = \"a b\"\n" + provider(),
			"billing.policy", 2, `add a [plugins."a b"] table`},
		{"policy a builtin provider plugin", "[billing]\npolicy = \"anthropic\"\n" + provider(),
			"billing.policy", 2, `"anthropic" is a builtin provider plugin, not a billing plugin`},
		{"policy the plugin of a provider", "[billing]\npolicy = \"openai\"\n" + provider(),
			"billing.policy", 2, `plugin "openai" (source "builtin:openai") is a provider plugin, not a billing plugin`},
		{"policy an entry with a provider module", "[billing]\npolicy = \"alt\"\n[plugins.alt]\nsource = \"builtin:gemini\"\n" + provider(),
			"billing.policy", 2, `plugin "alt" (source "builtin:gemini") is a provider plugin`},
		{"policy a preset", "[billing]\npolicy = \"deepseek\"\n" + provider(),
			"billing.policy", 2, `no plugin "deepseek"`},

		{"provider on the builtin billing plugin", provider(`plugin = "credits"`),
			"providers[0].plugin", 4, `"credits" is the builtin billing plugin, not a provider plugin: a provider needs a provider plugin (openai, anthropic`},
		{"provider on the builtin billing plugin while billing is on", "[billing]\nenabled = true\n" + provider(`plugin = "credits"`),
			"providers[0].plugin", 6, `"credits" is the builtin billing plugin, not a provider plugin`},
		{"provider on the policy's table", "[billing]\nenabled = true\n[plugins.credits]\npool_size = 2\n" + provider(`plugin = "credits"`),
			"providers[0].plugin", 8, `plugin "credits" is the billing plugin (billing.policy names it), not a provider plugin`},
		{"provider on the policy's wasm", "[billing]\npolicy = \"bill\"\n[plugins.bill]\nsource = \"bill.wasm\"\n" + provider(`plugin = "bill"`),
			"providers[0].plugin", 8, `plugin "bill" is the billing plugin (billing.policy names it)`},
		{"provider on another builtin billing entry", "[plugins.std]\nsource = \"builtin:credits\"\n" + provider(`plugin = "std"`),
			"providers[0].plugin", 6, `plugin "std" is a billing plugin (source "builtin:credits"), not a provider plugin`},

		{"rate model with a space", "[billing.rates]\n\"gpt 4o\" = { input = \"1\" }\n" + provider(),
			`billing.rates."gpt 4o"`, 2, `model "gpt 4o" must not contain whitespace or control characters`},
		{"rate model with a tab", "[billing.rates]\n\"m\\t\" = { input = \"1\" }\n" + provider(),
			`billing.rates."m\t"`, 2, "whitespace"},
		{"rate model empty", "[billing.rates]\n\"\" = { input = \"1\" }\n" + provider(),
			`billing.rates.""`, 2, "model must not be empty"},
		// The decoder's key positions cannot be probed for an empty key:
		// no line.
		{"rate model empty as a table", "[billing.rates.\"\"]\ninput = \"1\"\n" + provider(),
			`billing.rates.""`, 0, "model must not be empty"},
		{"rate unknown key", "[billing.rates]\n\"gpt-4o\" = { input = \"1\", ouput = \"2\" }\n" + provider(),
			"billing.rates.gpt-4o.ouput", 2, `unknown key (did you mean "output"?)`},
		{"rate unknown key in a table", "[billing.rates.\"openai/gpt-4o\"]\ninput = \"1\"\ncache_read = \"1\"\n" + provider(),
			`billing.rates."openai/gpt-4o".cache_read`, 3, `unknown key (did you mean "cached_read"?)`},
		{"billing unknown key", "[billing]\nenable = true\n" + provider(),
			"billing.enable", 2, `unknown key (did you mean "enabled"?)`},
		{"billing misspelt", "[biling]\nenabled = true\n" + provider(),
			"biling", 1, `unknown key (did you mean "billing"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), filepath.Join(dir, "hub.toml"))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("problems = %v, want one", ve.Problems)
			}
			p := ve.Problems[0]
			if p.Path != tt.path || p.Line != tt.line || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %s (line %d)\nwant %s at line %d with %q", p, p.Line, tt.path, tt.line, tt.msg)
			}
		})
	}
}

// Every billing problem is reported at once, in file order, with the others.
func TestBillingAllProblemsAtOnce(t *testing.T) {
	src := `[billing]
enabled = true
durability = "fast"
policy = "nope"
default_max_output_tokens = 0

[billing.rates]
"a b" = { input = "1" }
ok = { input = "1", outptu = "2" }
` + provider(`plugin = "credits"`)
	_, err := testOptions.Parse([]byte(src), "b.toml")
	got := problemPaths(t, err)
	want := []string{
		"billing.durability",
		"billing.policy",
		"billing.default_max_output_tokens",
		`billing.rates."a b"`,
		"billing.rates.ok.outptu",
		"providers[0].plugin",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths =\n\t%q\nwant\n\t%q\n%v", got, want, err)
	}
}

func TestBillingDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src, key, msg string
		line                int
	}{
		{"enabled a string", "[billing]\nenabled = \"yes\"\n", "billing.enabled", "", 2},
		{"tokens a string", "[billing]\ndefault_max_output_tokens = \"4096\"\n", "billing.default_max_output_tokens", "", 2},
		{"rate a string", "[billing.rates]\nm = \"2.5\"\n", "billing.rates.m", "", 2},
		{"grant a float", "[billing]\nnew_account_grant = 0.5\n", "billing.new_account_grant", "a TOML float is not exact", 2},
		{"grant negative", "[billing]\nnew_account_grant = \"-0.5\"\n", "billing.new_account_grant", "must not be negative", 2},
		{"rate amount a float", "[billing.rates]\n\"gpt-4o\" = { input = 2.5 }\n", "billing.rates.gpt-4o.input", `write the amount as a string, like "2.5"`, 2},
		{"rate amount too precise", "[billing.rates]\n\n\"openai/gpt-4o\" = { output = \"0.0000001\" }\n", `billing.rates."openai/gpt-4o".output`, "more than 6 decimals", 3},
		{"rate amount in a table", "[billing.rates.m]\ninput = \"1\"\noutput = \"x\"\n", "billing.rates.m.output", "want a decimal number of credits", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src+provider()), "b.toml")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v (%T), want *DecodeError", err, err)
			}
			if de.Key != tt.key || de.Line != tt.line || !strings.Contains(de.Message, tt.msg) {
				t.Errorf("error = %v (key %q, line %d)\nwant key %q, line %d, %q", err, de.Key, de.Line, tt.key, tt.line, tt.msg)
			}
		})
	}
}

// The commented-out [billing] and [billing.rates] examples in hub.toml are
// valid, and every [billing] key shows its default.
func TestRepoHubTomlBillingExample(t *testing.T) {
	b, err := os.ReadFile("../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, block := range []struct {
		first string
		n     int
	}{
		{"# [billing]", 6},
		{"# [billing.rates]", 4},
	} {
		if n := uncommentBlock(lines, block.first); n != block.n {
			t.Fatalf("found %d lines of the %s example, want %d", n, block.first, block.n)
		}
	}
	src := strings.Join(lines, "\n")
	c, err := testOptions.Parse([]byte(src), "../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults().Billing
	want.Rates = map[string]Rate{
		"openai/gpt-4o-mini": {Input: 150_000, Output: 600_000, CachedRead: 75_000},
		"gpt-4o":             {Input: 2_500_000, Output: 10_000_000, CachedRead: 1_250_000},
		"dall-e-3":           {PerImage: 40_000},
	}
	if !reflect.DeepEqual(c.Billing, want) {
		t.Errorf("Billing = %+v\nwant %+v", c.Billing, want)
	}

	// Switched on, the example charges with the builtin credits plugin.
	on := strings.Replace(src, "\nenabled                   = false", "\nenabled                   = true", 1)
	if on == src {
		t.Fatal("no enabled line in the [billing] example")
	}
	c, err = testOptions.Parse([]byte(on), "../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := c.Plugins["credits"]; !c.Billing.Enabled || !ok || e.Source != "builtin:credits" {
		t.Errorf("Enabled = %v, Plugins[credits] = %+v", c.Billing.Enabled, e)
	}
}
