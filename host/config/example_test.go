package config_test

import (
	"errors"
	"fmt"

	"github.com/aignehub/hub/host/config"
)

func ExampleParse() {
	src := `
listen = "127.0.0.1:9090"

[limits]
plugin_deadline = "5s"

[[providers]]
name        = "openai"
plugin      = "openai"
base_url    = "${OPENAI_BASE_URL:-https://api.openai.com/v1}"
credentials = ["env:OPENAI_API_KEY"]
models      = ["gpt-4o-mini"]
`
	opts := config.Options{LookupEnv: func(string) (string, bool) { return "", false }}
	c, err := opts.Parse([]byte(src), "hub.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := c.Provider("openai")
	plugin := c.PluginFor(p)
	fmt.Println(c.Listen, c.Limits.PluginDeadline, c.Limits.PluginMemory)
	fmt.Println(p.BaseURL, p.Credentials, p.IsEnabled())
	fmt.Println(plugin.Source, plugin.IsTrusted(), plugin.PoolSize)
	// Output:
	// 127.0.0.1:9090 5s 64MiB
	// https://api.openai.com/v1 [env:OPENAI_API_KEY] true
	// builtin:openai true 4
}

func ExampleValidationError() {
	src := `
listen = "127.0.0.1"
[limits]
plugin_memroy = "32MiB"

[[providers]]
name     = "openai"
plugin   = "openai"
base_url = "api.openai.com"
models   = ["gpt-4o", ""]
`
	_, err := config.Parse([]byte(src), "hub.toml")
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// line 2: listen: must be host:port, like "127.0.0.1:8080"; got "127.0.0.1"
	// line 4: limits.plugin_memroy: unknown key (did you mean "plugin_memory"?)
	// line 9: providers[0].base_url: must be an absolute http:// or https:// URL; got "api.openai.com"
	// line 10: providers[0].models[1]: must not be empty
}
