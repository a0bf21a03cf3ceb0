package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and a config it
// accepts must be normalized as documented.
func FuzzParse(f *testing.F) {
	for _, path := range []string{"../../hub.toml", "testdata/invalid.toml"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(provider()))
	f.Add([]byte(provider() + provider(`name = "b"`, "modles = []") + "[[provider]]\nx=1\n"))
	f.Add([]byte("providers = [{name=\"a\", nme=1}, {name=\"b\", nme=2}]\nlog = { level = \"info\", fmt = 3 }\na.b.c = 1\n"))
	f.Add([]byte("[plugins.\"x,y\"]\nsource = \"builtin:openai\"\n\"\" = 1\n[plugins.a.config]\nk = 1979-05-27T07:32:00Z\n"))
	f.Add([]byte("listen = \"${X:-127.0.0.1:1}\"\n[limits]\nplugin_memory = 1048576\n"))
	f.Add([]byte(provider(`credentials = ["env:A", { secret = "env:B", weight = 3, name = "b" }, { secret = "x", nmae = 1 }]`)))
	f.Add([]byte(provider() + "[[providers.credentials]]\nsecret = \"env:A\"\nweight = 0\n"))
	f.Add([]byte("[billing]\nenabled = true\ndurability = \"strict\"\nnew_account_grant = \"0.5\"\n[billing.rates]\n\"p/m\" = { input = \"2.5\", output = 3 }\n\"a b\" = { per_image = 1.5 }\n" + provider()))
	f.Add([]byte("[billing]\npolicy = \"x\"\n[plugins.x]\nsource = \"builtin:credits\"\n" + provider(`plugin = "credits"`)))
	f.Add([]byte("[routing]\nmax_attempts = 3\nbackoff = \"1s\"\n[routing.aliases]\nfast = [\"p/m\", \"m\", \"fast\"]\n\"a b\" = []\n" + provider()))

	dir := f.TempDir()
	name := filepath.Join(dir, "hub.toml")
	opts := Options{LookupEnv: env(map[string]string{"X": "1"})}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := opts.Parse(data, name)
		if err != nil {
			if c != nil {
				t.Fatal("non-nil config with an error")
			}
			_ = err.Error()
			return
		}
		if !filepath.IsAbs(c.DataDir) || len(c.Providers) == 0 {
			t.Fatalf("not normalized: %+v", c)
		}
		for i := range c.Providers {
			p := &c.Providers[i]
			if p.Enabled == nil {
				t.Fatal("Enabled not set")
			}
			e := c.PluginFor(p)
			if e.Name != p.Plugin || e.Trusted == nil || e.PoolSize < 1 || e.MinIdle < 1 || e.MinIdle > e.PoolSize {
				t.Fatalf("plugin entry not normalized: %+v", e)
			}
			if _, err := e.ConfigJSON(); err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for j, cr := range p.Credentials {
				if w := cr.Weight(); w < MinCredentialWeight || w > MaxCredentialWeight {
					t.Fatalf("credential %d weight %d", j, w)
				}
				n := p.CredentialName(j)
				if n == "" || names[n] {
					t.Fatalf("credential %d name %q empty or not unique", j, n)
				}
				names[n] = true
			}
		}
		b := c.Billing
		if b.Durability != DurabilityBatched && b.Durability != DurabilityStrict ||
			b.DefaultMaxOutputTokens < 1 || b.DefaultMaxOutputTokens > 10_000_000 || b.NewAccountGrant < 0 {
			t.Fatalf("billing not validated: %+v", b)
		}
		e, ok := c.BillingPlugin()
		if !ok || e.Name != b.Policy || !c.IsBillingPlugin(b.Policy) {
			t.Fatalf("billing plugin %q: %+v, %v", b.Policy, e, ok)
		}
		if _, in := c.Plugins[b.Policy]; b.Enabled && !in {
			t.Fatalf("billing enabled without a %q entry", b.Policy)
		}
		for i := range c.Providers {
			if c.IsBillingPlugin(c.Providers[i].Plugin) {
				t.Fatalf("provider %s uses the billing plugin %s", c.Providers[i].Name, c.Providers[i].Plugin)
			}
		}
		for m, rate := range b.Rates {
			if m == "" || strings.ContainsAny(m, " \t\n") {
				t.Fatalf("rate model %q", m)
			}
			for _, v := range []Credits{rate.Input, rate.Output, rate.CachedRead, rate.CacheWrite, rate.PerImage, rate.MinPerCall} {
				if v < 0 {
					t.Fatalf("rate %q = %+v", m, rate)
				}
			}
		}
		r := c.Routing
		if r.MaxAttempts < 1 || r.FailureThreshold < 1 || r.MaxBackoff < r.Backoff || r.Cooldown <= 0 || r.RateLimitCooldown <= 0 || c.CallDeadline() <= 0 {
			t.Fatalf("routing not validated: %+v", r)
		}
		for name, entries := range r.Aliases {
			if len(entries) == 0 || strings.Contains(name, "/") {
				t.Fatalf("alias %q = %q", name, entries)
			}
			if _, ok := c.Provider(name); ok {
				t.Fatalf("alias %q names a provider", name)
			}
			for _, e := range entries {
				if _, ok := r.Aliases[e]; ok {
					t.Fatalf("alias %q names alias %q", name, e)
				}
			}
		}
	})
}
