package config

import (
	"os"
	"path/filepath"
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
		}
	})
}
