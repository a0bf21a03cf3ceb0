package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// env returns a LookupEnv over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// testOptions uses an empty environment so that tests do not depend on the caller's.
var testOptions = Options{LookupEnv: env(nil)}

// provider returns a valid [[providers]] table; each override is a "key = value"
// line that replaces the line with the same key, or adds it; "key =" removes it.
func provider(overrides ...string) string {
	lines := []string{
		`name = "p"`,
		`plugin = "openai"`,
		`base_url = "https://example.com/v1"`,
		`models = ["m"]`,
	}
	for _, o := range overrides {
		key, _, _ := strings.Cut(o, "=")
		key = strings.TrimSpace(key)
		replaced := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+" ") {
				lines[i] = o
				replaced = true
			}
		}
		if !replaced {
			lines = append(lines, o)
		}
	}
	var b strings.Builder
	b.WriteString("\n[[providers]]\n")
	for _, l := range lines {
		if !strings.HasSuffix(strings.TrimSpace(l), "=") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// problemPaths returns the paths of the problems in err, which must be a
// *ValidationError.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	return paths
}

func TestRepoHubToml(t *testing.T) {
	const path = "../../hub.toml"
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		baseURL string
	}{
		{"real API", map[string]string{"OPENAI_API_KEY": "sk-real"}, "https://api.openai.com/v1"},
		{"emulator", map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8081/v1", "OPENAI_API_KEY": "dummy"}, "http://127.0.0.1:8081/v1"},
		{"empty base url var", map[string]string{"OPENAI_BASE_URL": ""}, "https://api.openai.com/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Options{LookupEnv: env(tt.env)}.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.Listen != "127.0.0.1:8080" {
				t.Errorf("Listen = %q", c.Listen)
			}
			if want := filepath.Join(root, "data"); c.DataDir != want {
				t.Errorf("DataDir = %q, want %q", c.DataDir, want)
			}
			if !reflect.DeepEqual(c.Limits, Defaults().Limits) {
				t.Errorf("Limits = %+v, want the defaults %+v", c.Limits, Defaults().Limits)
			}
			if !reflect.DeepEqual(c.Routing, Defaults().Routing) {
				t.Errorf("Routing = %+v, want the defaults %+v", c.Routing, Defaults().Routing)
			}
			if !reflect.DeepEqual(c.Billing, Defaults().Billing) {
				t.Errorf("Billing = %+v, want the defaults %+v", c.Billing, Defaults().Billing)
			}
			p, ok := c.Provider("openai")
			if !ok {
				t.Fatal("no provider openai")
			}
			if p.BaseURL != tt.baseURL {
				t.Errorf("BaseURL = %q, want %q", p.BaseURL, tt.baseURL)
			}
			if len(p.Credentials) != 1 || p.Credentials[0].EnvName() != "OPENAI_API_KEY" || p.Credentials[0].Weight() != 1 || p.CredentialName(0) != "openai-1" {
				t.Errorf("Credentials = %v", p.Credentials)
			}
			for _, m := range []string{"gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-5", "gpt-5-mini", "o4-mini"} {
				if !p.HasModel(m) {
					t.Errorf("model %s missing", m)
				}
			}
			if !p.IsEnabled() {
				t.Error("provider disabled")
			}
			e := c.PluginFor(p)
			if e.Name != "openai" || e.Source != "builtin:openai" || !e.IsTrusted() || e.PoolSize != DefaultPoolSize || e.MinIdle != DefaultMinIdle {
				t.Errorf("PluginFor = %+v", e)
			}
		})
	}
}

// The commented-out [plugins.openai] example in hub.toml is valid too.
func TestRepoHubTomlPluginExample(t *testing.T) {
	b, err := os.ReadFile("../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	in, n := false, 0
	for i, l := range lines {
		switch {
		case l == "# [plugins.openai]":
			in = true
		case in && !strings.HasPrefix(l, "# "):
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "# ")
			n++
		}
	}
	if n < 7 {
		t.Fatalf("found %d lines of the [plugins.openai] example, want 7", n)
	}
	c, err := testOptions.Parse([]byte(strings.Join(lines, "\n")), "../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Plugins["openai"]; e.Source != "builtin:openai" || e.IsTrusted() || e.PoolSize != DefaultPoolSize {
		t.Errorf("entry = %+v", e)
	}
}

// uncommentBlock removes the "# " of the block of comment lines that starts with
// the line first and runs to the first line that is not a "# " comment (an empty
// "#" line included), and reports how many lines it uncommented.
func uncommentBlock(lines []string, first string) int {
	in, n := false, 0
	for i, l := range lines {
		switch {
		case l == first:
			in = true
		case in && !strings.HasPrefix(l, "# "):
			in = false
		}
		if in {
			lines[i] = strings.TrimPrefix(l, "# ")
			n++
		}
	}
	return n
}

// The commented-out [routing] and [routing.aliases] examples in hub.toml are valid
// (with the anthropic provider that the smart alias names uncommented too), and so
// is the credential table example; every routing key shows its default.
func TestRepoHubTomlRoutingExample(t *testing.T) {
	b, err := os.ReadFile("../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, block := range []struct {
		first string
		n     int
	}{
		{"# [routing]", 10},
		{"# [routing.aliases]", 3},
		{"# name        = \"anthropic\"", 4},
	} {
		if n := uncommentBlock(lines, block.first); n != block.n {
			t.Fatalf("found %d lines of the %s example, want %d", n, block.first, block.n)
		}
	}
	// The anthropic block's [[providers]] header is on the line before its name.
	for i, l := range lines {
		if l == `name        = "anthropic"` {
			lines[i-1] = "[[providers]]"
		}
	}
	// The credential table example replaces the live credentials line.
	var example string
	for _, l := range lines {
		if ex, ok := strings.CutPrefix(l, "#   credentials = "); ok {
			example = ex
		}
	}
	if example == "" {
		t.Fatal("no credential table example")
	}
	live := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "credentials ") }) // openai's
	if live < 0 {
		t.Fatal("no credentials line")
	}
	lines[live] = "credentials = " + example

	c, err := testOptions.Parse([]byte(strings.Join(lines, "\n")), "../../hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults().Routing
	want.Aliases = map[string][]string{
		"fast":  {"openai/gpt-4o-mini", "openai/gpt-4.1-mini"},
		"smart": {"openai/gpt-5", "anthropic/claude-sonnet-4-5"},
	}
	if !reflect.DeepEqual(c.Routing, want) {
		t.Errorf("Routing = %+v\nwant %+v", c.Routing, want)
	}
	if _, ok := c.Provider("anthropic"); !ok {
		t.Error("no anthropic provider")
	}
	p, _ := c.Provider("openai")
	type cred struct {
		str, name string
		weight    int
	}
	var got []cred
	for i, cr := range p.Credentials {
		got = append(got, cred{cr.String(), p.CredentialName(i), cr.Weight()})
	}
	if w := []cred{{"env:OPENAI_API_KEY", "openai-1", 1}, {"env:OPENAI_API_KEY_2", "backup", 3}}; !reflect.DeepEqual(got, w) {
		t.Errorf("credentials = %+v, want %+v", got, w)
	}

	// Without the anthropic provider, the smart alias is the one problem.
	b2 := strings.Replace(strings.Join(lines, "\n"), `name        = "anthropic"`, `name        = "claude"`, 1)
	_, err = testOptions.Parse([]byte(b2), "../../hub.toml")
	if paths := problemPaths(t, err); !reflect.DeepEqual(paths, []string{"routing.aliases.smart[1]"}) {
		t.Errorf("paths = %q (%v)", paths, err)
	}
}

func TestDefaultsApplied(t *testing.T) {
	c, err := testOptions.Parse([]byte(provider()), "")
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	if c.Listen != DefaultListen || c.Log != d.Log || c.Limits != d.Limits || !reflect.DeepEqual(c.Routing, d.Routing) {
		t.Errorf("got %+v, want the defaults", c)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "data"); c.DataDir != want {
		t.Errorf("DataDir = %q, want %q (relative to the working directory for an unnamed config)", c.DataDir, want)
	}
	if c.File() != "" || c.Dir() != wd {
		t.Errorf("File, Dir = %q, %q", c.File(), c.Dir())
	}
}

func TestValidationProblems(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ok.wasm", "Upper.WASM"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("\x00asm"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.wasm"), 0o755); err != nil {
		t.Fatal(err)
	}
	const pin = `sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"`

	tests := []struct {
		name string
		src  string
		path string // the one problem expected
		msg  string // a substring of its message
	}{
		{"listen not host:port", `listen = "localhost"` + provider(), "listen", "host:port"},
		{"listen bad port", `listen = "127.0.0.1:99999"` + provider(), "listen", "port must be"},
		{"listen named port", `listen = "127.0.0.1:http"` + provider(), "listen", "port must be"},
		{"listen unset env", `listen = "${HUB_LISTEN}"` + provider(), "listen", "HUB_LISTEN is not set"},
		{"listen bad env ref", `listen = "${1X}:80"` + provider(), "listen", "invalid reference"},
		{"listen unterminated env ref", `listen = "${HUB_LISTEN"` + provider(), "listen", "unterminated"},
		{"data_dir empty", `data_dir = ""` + provider(), "data_dir", "must not be empty"},
		{"log level", "[log]\nlevel = \"verbose\"\n" + provider(), "log.level", "debug, info, warn, error"},
		{"log format", "[log]\nformat = \"xml\"\n" + provider(), "log.format", "text or json"},
		{"max_request_body too small", "[limits]\nmax_request_body = \"100B\"\n" + provider(), "limits.max_request_body", "between 1KiB and 1GiB"},
		{"max_request_body too large", "[limits]\nmax_request_body = \"2GiB\"\n" + provider(), "limits.max_request_body", "got 2GiB"},
		{"plugin_deadline zero", "[limits]\nplugin_deadline = \"0s\"\n" + provider(), "limits.plugin_deadline", "between 1ms and 10m0s"},
		{"plugin_deadline negative", "[limits]\nplugin_deadline = \"-1s\"\n" + provider(), "limits.plugin_deadline", "got -1s"},
		{"plugin_deadline too long", "[limits]\nplugin_deadline = \"11m\"\n" + provider(), "limits.plugin_deadline", "got 11m0s"},
		{"plugin_memory too small", "[limits]\nplugin_memory = \"8MiB\"\nplugin_max_output = \"1MiB\"\n" + provider(), "limits.plugin_memory", "between 16MiB and 4GiB"},
		{"plugin_memory too large", "[limits]\nplugin_memory = \"5GiB\"\n" + provider(), "limits.plugin_memory", "got 5GiB"},
		{"plugin_memory not pages", "[limits]\nplugin_memory = \"16400KiB\"\n" + provider(), "limits.plugin_memory", "multiple of 64KiB"},
		{"plugin_max_output over memory", "[limits]\nplugin_max_output = \"128MiB\"\n" + provider(), "limits.plugin_max_output", "between 1KiB and 64MiB"},
		{"plugin_max_output zero", "[limits]\nplugin_max_output = 0\n" + provider(), "limits.plugin_max_output", "got 0"},
		{"upstream_timeout zero", "[limits]\nupstream_timeout = \"0s\"\nupstream_connect_timeout = \"1s\"\n" + provider(), "limits.upstream_timeout", "between 1s and 24h0m0s"},
		{"upstream_connect_timeout over upstream_timeout", "[limits]\nupstream_timeout = \"5s\"\nupstream_connect_timeout = \"10s\"\n" + provider(), "limits.upstream_connect_timeout", "between 1ms and 5s"},
		{"shutdown_grace too long", "[limits]\nshutdown_grace = \"2h\"\n" + provider(), "limits.shutdown_grace", "got 2h0m0s"},
		{"plugin name", "[plugins.Bad_Name]\nsource = \"builtin:openai\"\n" + provider(), `plugins.Bad_Name`, "invalid plugin name"},
		{"plugin name quoted", "[plugins.\"a b\"]\nsource = \"builtin:openai\"\n" + provider(), `plugins."a b"`, "invalid plugin name"},
		{"plugin source missing", "[plugins.custom]\npool_size = 2\n" + provider(), "plugins.custom.source", "builtin:NAME"},
		{"plugin unknown builtin", "[plugins.custom]\nsource = \"builtin:nope\"\n" + provider(), "plugins.custom.source", `unknown builtin plugin "nope"`},
		{"plugin source not wasm", "[plugins.custom]\nsource = \"plugin.so\"\n" + provider(), "plugins.custom.source", ".wasm"},
		{"plugin file missing", "[plugins.custom]\nsource = \"missing.wasm\"\n" + provider(), "plugins.custom.source", "missing.wasm does not exist"},
		{"plugin file is a directory", "[plugins.custom]\nsource = \"dir.wasm\"\n" + provider(), "plugins.custom.source", "not a regular file"},
		{"sha256 too short", "[plugins.custom]\nsource = \"ok.wasm\"\nsha256 = \"abc\"\n" + provider(), "plugins.custom.sha256", "64 hex digits"},
		{"sha256 not hex", "[plugins.custom]\nsource = \"ok.wasm\"\nsha256 = \"" + strings.Repeat("g", 64) + "\"\n" + provider(), "plugins.custom.sha256", "64 hex digits"},
		{"sha256 on builtin", "[plugins.openai]\n" + pin + "\n" + provider(), "plugins.openai.sha256", "only a .wasm file"},
		{"trusted wasm without pin", "[plugins.custom]\nsource = \"ok.wasm\"\ntrusted = true\n" + provider(), "plugins.custom.trusted", "pinned with sha256"},
		{"pool_size negative", "[plugins.openai]\npool_size = -1\n" + provider(), "plugins.openai.pool_size", "between 1 and 256"},
		{"pool_size too large", "[plugins.openai]\npool_size = 1000\n" + provider(), "plugins.openai.pool_size", "got 1000"},
		{"min_idle over pool_size", "[plugins.openai]\npool_size = 2\nmin_idle = 3\n" + provider(), "plugins.openai.min_idle", "between 1 and pool_size"},
		{"min_idle negative", "[plugins.openai]\nmin_idle = -1\n" + provider(), "plugins.openai.min_idle", "got -1"},
		{"plugin config not JSON", "[plugins.openai]\nconfig = { f = nan }\n" + provider(), "plugins.openai.config", "JSON"},
		{"no providers", `listen = "127.0.0.1:1"`, "providers", "at least one"},
		{"provider name empty", provider(`name = ""`), "providers[0].name", "must not be empty"},
		{"provider name missing", provider(`name =`), "providers[0].name", "must not be empty"},
		{"provider name invalid", provider(`name = "Open AI"`), "providers[0].name", "invalid provider name"},
		{"provider name duplicate", provider() + provider(), "providers[1].name", `duplicate provider name "p" (also providers[0])`},
		{"provider plugin empty", provider(`plugin =`), "providers[0].plugin", "must not be empty"},
		{"provider plugin unknown", provider(`plugin = "nope"`), "providers[0].plugin", `no plugin "nope"`},
		{"base_url missing", "[plugins.openai]\n" + provider(`base_url =`), "providers[0].base_url", "must not be empty"},
		{"preset region missing", provider(`plugin = "bedrock"`, `base_url =`), "providers[0].region", "required by the bedrock preset"},
		{"region invalid", provider(`region = "US East"`), "providers[0].region", "invalid region"},
		{"options not JSON", provider(`options = { f = nan }`), "providers[0].options", "JSON"},
		{"base_url relative", provider(`base_url = "/v1"`), "providers[0].base_url", "absolute http"},
		{"base_url scheme", provider(`base_url = "ftp://example.com"`), "providers[0].base_url", "absolute http"},
		{"base_url no host", provider(`base_url = "https:///v1"`), "providers[0].base_url", "must have a host"},
		{"base_url query", provider(`base_url = "https://example.com/v1?key=1"`), "providers[0].base_url", "query"},
		{"base_url empty query", provider(`base_url = "https://example.com/v1?"`), "providers[0].base_url", "query"},
		{"base_url fragment", provider(`base_url = "https://example.com/v1#x"`), "providers[0].base_url", "fragment"},
		{"base_url user info", provider(`base_url = "https://u:hunter2@example.com/v1"`), "providers[0].base_url", "user info"},
		{"base_url unparsable", provider(`base_url = "http://[::1"`), "providers[0].base_url", "cannot parse"},
		{"base_url unset env", provider(`base_url = "${NO_SUCH_VAR}/v1"`), "providers[0].base_url", "NO_SUCH_VAR is not set"},
		{"credential empty", provider(`credentials = [""]`), "providers[0].credentials[0]", "must not be empty"},
		{"credential bad env name", provider(`credentials = ["env:1BAD"]`), "providers[0].credentials[0]", "invalid environment variable name"},
		{"credential whitespace", provider(`credentials = ["env:A", " sk-x "]`), "providers[0].credentials[1]", "whitespace"},
		{"credential duplicate", provider(`credentials = ["env:A", "env:A"]`), "providers[0].credentials[1]", "duplicate credential env:A (also credentials[0])"},
		{"model empty", provider(`models = ["a", ""]`), "providers[0].models[1]", "must not be empty"},
		{"model space", provider(`models = ["gpt 4o"]`), "providers[0].models[0]", "whitespace"},
		{"model duplicate", provider(`models = ["a", "b", "a"]`), "providers[0].models[2]", `duplicate model "a" (also models[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), filepath.Join(dir, "hub.toml"))
			paths := problemPaths(t, err)
			if len(paths) != 1 || paths[0] != tt.path {
				t.Fatalf("problem paths = %q, want [%q]\n%v", paths, tt.path, err)
			}
			msg := err.(*ValidationError).Problems[0].Message
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, tt.msg)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error reveals a password: %v", err)
			}
		})
	}
}

func TestValidConfigs(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.WASM"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, c *Config)
	}{
		{"model with slash", provider(`models = ["openai/gpt-4o", "meta-llama/llama-3.1-8b:free"]`), nil},
		{"no credentials means no auth", provider(`credentials = []`), func(t *testing.T, c *Config) {
			if n := len(c.Providers[0].Credentials); n != 0 {
				t.Errorf("%d credentials", n)
			}
		}},
		{"listen any host any port", `listen = ":0"` + provider(), nil},
		{"listen ipv6", `listen = "[::1]:8080"` + provider(), nil},
		{"disabled provider", provider(`enabled = false`), func(t *testing.T, c *Config) {
			if c.Providers[0].IsEnabled() || len(c.UsedPlugins()) != 0 {
				t.Errorf("IsEnabled = true or UsedPlugins = %v", c.UsedPlugins())
			}
		}},
		{"base_url trailing slash trimmed", provider(`base_url = "https://example.com/v1/"`), func(t *testing.T, c *Config) {
			if got := c.Providers[0].BaseURL; got != "https://example.com/v1" {
				t.Errorf("BaseURL = %q", got)
			}
		}},
		{"size as integer bytes", "[limits]\nmax_request_body = 1048576\n" + provider(), func(t *testing.T, c *Config) {
			if c.Limits.MaxRequestBody != MiB {
				t.Errorf("MaxRequestBody = %v", c.Limits.MaxRequestBody)
			}
		}},
		{"pinned trusted wasm, upper-case extension and hash", "[plugins.x]\nsource = \"x.WASM\"\ntrusted = true\nsha256 = \"" + strings.Repeat("AB", 32) + "\"\n" + provider(`plugin = "x"`), func(t *testing.T, c *Config) {
			e := c.PluginFor(&c.Providers[0])
			if !e.IsTrusted() || e.SHA256 != strings.Repeat("ab", 32) || e.Source != filepath.Join(dir, "x.WASM") {
				t.Errorf("entry = %+v", e)
			}
		}},
		{"builtin entry tuned without source", "[plugins.openai]\npool_size = 8\nmin_idle = 2\nconfig = { organization = \"org-1\", retry = { max = 2 } }\n" + provider(), func(t *testing.T, c *Config) {
			e := c.PluginFor(&c.Providers[0])
			if e.Source != "builtin:openai" || e.PoolSize != 8 || e.MinIdle != 2 || !e.IsTrusted() {
				t.Errorf("entry = %+v", e)
			}
			js, err := e.ConfigJSON()
			if err != nil || string(js) != `{"organization":"org-1","retry":{"max":2}}` {
				t.Errorf("ConfigJSON = %s, %v", js, err)
			}
		}},
		{"untrusted builtin", "[plugins.openai]\ntrusted = false\n" + provider(), func(t *testing.T, c *Config) {
			if c.PluginFor(&c.Providers[0]).IsTrusted() {
				t.Error("trusted")
			}
		}},
		{"small pool clamps min_idle default", "[plugins.openai]\npool_size = 1\n" + provider(), func(t *testing.T, c *Config) {
			if e := c.Plugins["openai"]; e.PoolSize != 1 || e.MinIdle != 1 {
				t.Errorf("entry = %+v", e)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testOptions.Parse([]byte(tt.src), filepath.Join(dir, "hub.toml"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	src := `listen = "nope"
typo = 1
data_dir = ""

[log]
level = "loud"

[limits]
plugin_memory = "10MiB"
plugin_deadline = "0s"

[plugins.custom]
source = "builtin:nope"
` + provider(`name = "Bad"`, `base_url = "ftp://x"`, `models = ["a", "a"]`) + provider(`plugin = "missing"`, `models = []`, `credentials = ["env:OK", "env:9"]`)
	_, err := testOptions.Parse([]byte(src), "multi.toml")
	got := problemPaths(t, err)
	want := []string{ // in file order
		"listen",
		"typo",
		"data_dir",
		"log.level",
		"limits.plugin_memory",
		"limits.plugin_deadline",
		"plugins.custom.source",
		"providers[0].name",
		"providers[0].base_url",
		"providers[0].models[1]",
		"providers[1].plugin",
		"providers[1].credentials[1]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths =\n\t%q\nwant\n\t%q", got, want)
	}
	// One line per problem after the summary.
	if n := strings.Count(err.Error(), "\n"); n != len(want) {
		t.Errorf("Error() has %d newlines, want %d:\n%v", n, len(want), err)
	}
	if !strings.HasPrefix(err.Error(), "invalid config multi.toml: 12 problems:\n") {
		t.Errorf("Error() = %v", err)
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Problem // Path and Line; Message must start with "unknown key"
		hint string    // a suggestion the first message must carry, if any
	}{
		{"top level", "listen = \"127.0.0.1:1\"\nlisten_addr = \"x\"\n" + provider(),
			[]Problem{{Path: "listen_addr", Line: 2}}, ""},
		{"top level after providers", provider() + "port = 1\n",
			[]Problem{{Path: "providers[0].port", Line: 7}}, ""},
		{"nested table key", "[limits]\nplugin_deadline = \"1s\"\n\nplugin_memroy = \"32MiB\"\n" + provider(),
			[]Problem{{Path: "limits.plugin_memroy", Line: 4}}, "plugin_memory"},
		{"unknown table reported once", "# comment\n[limitz]\na = 1\nb = 2\n" + provider(),
			[]Problem{{Path: "limitz", Line: 2}}, "limits"},
		{"dotted key", "log.levle = \"info\"\n" + provider(),
			[]Problem{{Path: "log.levle", Line: 1}}, "level"},
		{"inline table", "log = { level = \"info\", formatt = \"json\" }\n" + provider(),
			[]Problem{{Path: "log.formatt", Line: 1}}, "format"},
		{"case mismatch", "LISTEN = \"127.0.0.1:1\"\n" + provider(),
			[]Problem{{Path: "LISTEN", Line: 1}}, "listen"},
		{"in a provider", provider() + "api_key = \"x\"\n" + provider(`name = "q"`),
			[]Problem{{Path: "providers[0].api_key", Line: 7}}, ""},
		{"same key in two providers", provider("modles = []") + provider(`name = "q"`, "modles = []"),
			[]Problem{{Path: "providers[0].modles", Line: 7}, {Path: "providers[1].modles", Line: 14}}, "models"},
		{"in a plugin", "[plugins.openai]\npool_size = 2\nsorce = \"x\"\n" + provider(),
			[]Problem{{Path: "plugins.openai.sorce", Line: 3}}, "source"},
		{"unknown array of tables", provider() + "[[provider]]\nname = \"x\"\n[[provider]]\nname = \"y\"\n",
			[]Problem{{Path: "provider", Line: 7}}, "providers"},
		{"in a credential table", provider(`credentials = [{ secret = "env:A", nmae = "x" }]`),
			[]Problem{{Path: "providers[0].credentials[0].nmae", Line: 7}}, "name"},
		{"in routing", "[routing]\nmax_attempts = 2\nretries = 1\n" + provider(),
			[]Problem{{Path: "routing.retries", Line: 3}}, ""},
		{"routing table misspelt", "[routnig]\nmax_attempts = 2\n" + provider(),
			[]Problem{{Path: "routnig", Line: 1}}, "routing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), "k.toml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *ValidationError", err)
			}
			var got []Problem
			for _, p := range ve.Problems {
				if !strings.HasPrefix(p.Message, "unknown key") {
					t.Fatalf("unexpected problem %v", p)
				}
				got = append(got, Problem{Path: p.Path, Line: p.Line})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems = %+v, want %+v", got, tt.want)
			}
			if tt.hint != "" && !strings.Contains(ve.Problems[0].Message, `did you mean "`+tt.hint+`"`) {
				t.Errorf("message = %q, want a hint %q", ve.Problems[0].Message, tt.hint)
			}
			for _, p := range tt.want {
				line := "k.toml:" + strconv.Itoa(p.Line) + ": " + p.Path + ": unknown key"
				if !strings.Contains(err.Error(), line) {
					t.Errorf("Error() lacks %q:\n%v", line, err)
				}
			}
		})
	}
}

func TestFreeFormPluginConfigIsNotStrict(t *testing.T) {
	src := "[plugins.openai]\nconfig = { anything = 1, nested = { deep = [1, 2] } }\n[plugins.openai.config.more]\nkey = \"v\"\n" + provider()
	c, err := testOptions.Parse([]byte(src), "f.toml")
	if err != nil {
		t.Fatal(err)
	}
	js, _ := c.Plugins["openai"].ConfigJSON()
	if want := `{"anything":1,"more":{"key":"v"},"nested":{"deep":[1,2]}}`; string(js) != want {
		t.Errorf("ConfigJSON = %s, want %s", js, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
		key       string
		msg       string
	}{
		{"missing value", "listen = \"127.0.0.1:1\"\ndata_dir = \n", 2, 12, "", "expected value"},
		{"unterminated string", "[log]\nlevel = \"info\n", 2, 14, "", "newline"},
		{"bad table header", provider() + "[limits\n", 8, 8, "", "to end table name"},
		{"duplicate key", "listen = \"a:1\"\nlisten = \"b:2\"\n", 2, 16, "", "already been defined"},
		{"wrong type", "\n\nlisten = 8080\n", 3, 0, "listen", "incompatible types"},
		{"wrong table type", "limits = 5\n", 1, 0, "limits", "type mismatch"},
		{"bad size", "[limits]\n\nplugin_memory = \"64 MeB\"\n", 3, 18, "limits.plugin_memory", `unknown unit "MeB"`},
		{"bad duration", "[limits]\nplugin_deadline = \"2 secs\"\n", 2, 20, "limits.plugin_deadline", "invalid duration"},
		{"credential not a string", provider(`credentials = ["env:A", 12345]`), 7, 16, "providers.credentials", "must be a string"},
		{"integer duration", "[limits]\nplugin_deadline = 2\n", 2, 19, "limits.plugin_deadline", "invalid duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), "bad.toml")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v (%T), want *DecodeError", err, err)
			}
			if de.Line != tt.line || de.Col != tt.col {
				t.Errorf("position = %d:%d, want %d:%d (%v)", de.Line, de.Col, tt.line, tt.col, err)
			}
			if de.Key != tt.key {
				t.Errorf("Key = %q, want %q", de.Key, tt.key)
			}
			if !strings.Contains(de.Message, tt.msg) {
				t.Errorf("Message = %q, want it to contain %q", de.Message, tt.msg)
			}
			loc := "bad.toml:" + strconv.Itoa(tt.line)
			if tt.col > 0 {
				loc += ":" + strconv.Itoa(tt.col)
			}
			if !strings.HasPrefix(err.Error(), "decode config "+loc+": ") {
				t.Errorf("Error() = %q, want prefix %q", err, "decode config "+loc+": ")
			}
			if de.Unwrap() == nil {
				t.Error("Unwrap() = nil")
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "load config: ") {
		t.Errorf("error = %v", err)
	}
}

func TestRelativePathsResolveAgainstConfigDir(t *testing.T) {
	root := t.TempDir()
	cfgDir := filepath.Join(root, "etc", "hub")
	if err := os.MkdirAll(filepath.Join(cfgDir, "plugins"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "plugins", "echo.wasm"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(root, "abs-data")
	tests := []struct {
		name, dataDir, source string
		wantData, wantSource  string
	}{
		{"relative", "./data", "plugins/echo.wasm", filepath.Join(cfgDir, "data"), filepath.Join(cfgDir, "plugins", "echo.wasm")},
		{"parent", "../var/hub", "./plugins/../plugins/echo.wasm", filepath.Join(root, "etc", "var", "hub"), filepath.Join(cfgDir, "plugins", "echo.wasm")},
		{"absolute", abs, filepath.Join(cfgDir, "plugins", "echo.wasm"), abs, filepath.Join(cfgDir, "plugins", "echo.wasm")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "data_dir = \"" + tt.dataDir + "\"\n[plugins.echo]\nsource = \"" + tt.source + "\"\n" + provider(`plugin = "echo"`)
			path := filepath.Join(cfgDir, "hub.toml")
			if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := testOptions.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.wantData {
				t.Errorf("DataDir = %q, want %q", c.DataDir, tt.wantData)
			}
			if e := c.PluginFor(&c.Providers[0]); e.Source != tt.wantSource || e.IsTrusted() {
				t.Errorf("plugin = %+v, want source %q, untrusted", e, tt.wantSource)
			}
			if c.Dir() != cfgDir || c.File() != path {
				t.Errorf("Dir, File = %q, %q", c.Dir(), c.File())
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	src := "[plugins.alt]\nsource = \"builtin:openai\"\npool_size = 2\n" +
		provider(`name = "a"`, `plugin = "alt"`) +
		provider(`name = "b"`) +
		provider(`name = "c"`, `enabled = false`)
	c, err := testOptions.Parse([]byte(src), "a.toml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Provider("zzz"); ok {
		t.Error("Provider(zzz) found")
	}
	a, ok := c.Provider("a")
	if !ok || a.Name != "a" {
		t.Fatalf("Provider(a) = %v, %v", a, ok)
	}
	if e := c.PluginFor(a); e.Name != "alt" || e.PoolSize != 2 {
		t.Errorf("PluginFor(a) = %+v", e)
	}
	b, _ := c.Provider("b")
	if e := c.PluginFor(b); e.Name != "openai" || e.Source != "builtin:openai" || e.PoolSize != DefaultPoolSize {
		t.Errorf("PluginFor(b) = %+v", e)
	}
	if e := c.PluginFor(&Provider{Plugin: "nope"}); !reflect.DeepEqual(e, PluginEntry{}) {
		t.Errorf("PluginFor(nope) = %+v", e)
	}
	var names []string
	for _, e := range c.UsedPlugins() {
		names = append(names, e.Name)
	}
	if !reflect.DeepEqual(names, []string{"alt", "openai"}) {
		t.Errorf("UsedPlugins = %v", names)
	}
	if c.Log.SlogLevel().String() != "INFO" {
		t.Errorf("SlogLevel = %v", c.Log.SlogLevel())
	}
}

func TestCustomBuiltins(t *testing.T) {
	src := "[plugins.claude]\nsource = \"builtin:anthropic\"\n" + provider(`plugin = "claude"`) + provider(`name = "g"`, `plugin = "gemini"`)
	opts := Options{Builtins: []string{"anthropic", "gemini"}, LookupEnv: env(nil)}
	c, err := opts.Parse([]byte(src), "b.toml")
	if err != nil {
		t.Fatal(err)
	}
	if e := c.Plugins["gemini"]; e.Source != "builtin:gemini" {
		t.Errorf("gemini = %+v", e)
	}
	// "openai" is not in this binary's builtin set.
	_, err = opts.Parse([]byte(provider()), "b.toml")
	if paths := problemPaths(t, err); !reflect.DeepEqual(paths, []string{"providers[0].plugin"}) {
		t.Errorf("paths = %q", paths)
	}
}

func TestProblemLines(t *testing.T) {
	tests := []struct {
		name string
		src  string
		path string
		line int
	}{
		{"top-level key", "\nlisten = \"x\"\n" + provider(), "listen", 2},
		{"table key", "[limits]\n\nplugin_deadline = \"0s\"\n" + provider(), "limits.plugin_deadline", 3},
		{"inline table key", "limits = { plugin_deadline = \"0s\" }\n" + provider(), "limits.plugin_deadline", 1},
		{"list element on the list's key", provider(`models = ["a",`, `"a"]`), "providers[0].models[1]", 6},
		{"second provider", provider() + provider(`name = "q"`, `base_url = "x"`), "providers[1].base_url", 11},
		{"missing key on its [[providers]] header", provider() + "\n" + provider(`name = "q"`, `plugin =`), "providers[1].plugin", 9},
		{"missing key on its [plugins.X] header", "[plugins.custom]\npool_size = 1\n" + provider(), "plugins.custom.source", 1},
		{"inline array of providers", `providers = [{ name = "a", plugin = "openai", base_url = "https://x", models = ["m"] },` + "\n" +
			`  { name = "b", plugin = "openai", base_url = "ftp://x", models = ["m"] }]`, "providers[1].base_url", 2},
		{"after a plugin table", "[plugins.openai]\npool_size = 0\nmin_idle = 0\n" + provider(`credentials = ["env:A", "env:A"]`), "providers[0].credentials[1]", 10},
		{"no providers", "listen = \"127.0.0.1:1\"\n", "providers", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte(tt.src), "l.toml")
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 {
				t.Fatalf("error = %v, want one problem", err)
			}
			if p := ve.Problems[0]; p.Path != tt.path || p.Line != tt.line {
				t.Errorf("problem = %s (line %d), want %s at line %d", p, p.Line, tt.path, tt.line)
			}
		})
	}
}

func TestConnectTimeoutDefaultFollowsUpstreamTimeout(t *testing.T) {
	base := "[[providers]]\nname = \"p\"\nplugin = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\nmodels = [\"m\"]\n"
	c, err := Parse([]byte("[limits]\nupstream_timeout = \"2s\"\n"+base), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.UpstreamConnectTimeout.Std() != 2*time.Second {
		t.Fatalf("connect timeout = %v", c.Limits.UpstreamConnectTimeout)
	}
	// An explicit connect timeout longer than the upstream timeout is still an error.
	if _, err := Parse([]byte("[limits]\nupstream_timeout = \"2s\"\nupstream_connect_timeout = \"5s\"\n"+base), ""); err == nil || !strings.Contains(err.Error(), "upstream_connect_timeout") {
		t.Fatalf("got %v", err)
	}
}

func TestPresets(t *testing.T) {
	src := provider(`name = "ds"`, `plugin = "deepseek"`, `base_url =`, `options = { extra = 1 }`) +
		provider(`name = "or"`, `plugin = "openrouter"`, `options = { flavor = "compatible" }`, `models = ["*"]`) +
		provider(`name = "google"`, `plugin = "google"`, `base_url =`) +
		provider(`name = "br"`, `plugin = "bedrock"`, `base_url =`, `region = "eu-west-3"`)
	c, err := testOptions.Parse([]byte(src), "hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, plugin, preset, baseURL, options string }{
		{"ds", "openai", "deepseek", "https://api.deepseek.com", `{"extra":1,"flavor":"deepseek"}`},
		{"or", "openai", "openrouter", "https://example.com/v1", `{"flavor":"compatible"}`},
		{"google", "gemini", "google", "https://generativelanguage.googleapis.com", `{}`},
		{"br", "bedrock", "bedrock", "https://bedrock-runtime.eu-west-3.amazonaws.com", `{}`},
	}
	for i, w := range want {
		p := c.Providers[i]
		opts, _ := p.OptionsJSON()
		if p.Name != w.name || p.Plugin != w.plugin || p.Preset != w.preset || p.BaseURL != w.baseURL || string(opts) != w.options {
			t.Errorf("provider %d = %s %s %s %s %s, want %+v", i, p.Name, p.Plugin, p.Preset, p.BaseURL, opts, w)
		}
		if _, ok := c.Plugins[w.plugin]; !ok {
			t.Errorf("no plugin entry %s", w.plugin)
		}
	}
	if len(c.UsedPlugins()) != 3 {
		t.Fatalf("used plugins %v: the openai-compatible presets share one module", c.UsedPlugins())
	}
}

// Two providers on the same preset both get it: the builtin plugin entry
// added for the first must not count as a [plugins.NAME] table for the second.
func TestSamePresetTwice(t *testing.T) {
	c, err := Parse([]byte(`
[[providers]]
name = "a"
plugin = "openai"
credentials = ["env:A"]
[[providers]]
name = "b"
plugin = "deepseek"
[[providers]]
name = "c"
plugin = "deepseek"
`), "hub.toml")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{Presets["openai"].BaseURL, Presets["deepseek"].BaseURL, Presets["deepseek"].BaseURL} {
		if got := c.Providers[i].BaseURL; got != want {
			t.Errorf("providers[%d].base_url = %q, want %q", i, got, want)
		}
	}
}
