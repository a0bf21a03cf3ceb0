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

// Credentials mix the string form and the table form, which adds a weight (the
// credential's share of calls) and a name; unnamed credentials keep the name
// "<provider>-<position>".
func ExampleProvider_CredentialName() {
	src := `
[[providers]]
name        = "openai"
plugin      = "openai"
credentials = ["env:OPENAI_KEY_A", { secret = "env:OPENAI_KEY_B", weight = 3, name = "backup" }]
models      = ["gpt-4o-mini"]

[routing]
max_attempts = 3

[routing.aliases]
fast = ["openai/gpt-4o-mini"]
`
	c, err := config.Parse([]byte(src), "hub.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := c.Provider("openai")
	for i, cr := range p.Credentials {
		fmt.Println(p.CredentialName(i), cr, cr.Weight())
	}
	fmt.Println(c.Routing.MaxAttempts, c.Routing.Backoff, c.Routing.Aliases["fast"], c.CallDeadline())
	// Output:
	// openai-1 env:OPENAI_KEY_A 1
	// backup env:OPENAI_KEY_B 3
	// 3 200ms [openai/gpt-4o-mini] 10m0s
}

func ExampleParseCredits() {
	for _, s := range []string{"2.5", "0.000001", "10", "0.1", "1.0000001", "-1"} {
		micro, err := config.ParseCredits(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "=", micro, "micro-credits =", config.FormatCredits(micro), "credits")
	}
	// Output:
	// 2.5 = 2500000 micro-credits = 2.5 credits
	// 0.000001 = 1 micro-credits = 0.000001 credits
	// 10 = 10000000 micro-credits = 10 credits
	// 0.1 = 100000 micro-credits = 0.1 credits
	// invalid credits "1.0000001": more than 6 decimals (the smallest amount is 0.000001 credits)
	// invalid credits "-1": must not be negative
}

func ExampleBilling() {
	src := `
[billing]
enabled = true
new_account_grant = "5"

[billing.rates]
"gpt-4o" = { input = "2.5", output = "10" }

[[providers]]
name = "openai"
plugin = "openai"
models = ["gpt-4o"]
`
	c, err := config.Parse([]byte(src), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	b := c.Billing
	r := b.Rates["gpt-4o"]
	fmt.Println("grant:", b.NewAccountGrant, "credits =", b.NewAccountGrant.Micro(), "micro-credits")
	fmt.Println("gpt-4o input per 1M tokens:", r.Input.Micro(), "micro-credits; output:", r.Output)
	fmt.Println("durability:", b.Durability, "max output assumed:", b.DefaultMaxOutputTokens)
	p, _ := c.BillingPlugin()
	fmt.Println("policy:", p.Name, p.Source, p.IsTrusted())
	// Output:
	// grant: 5 credits = 5000000 micro-credits
	// gpt-4o input per 1M tokens: 2500000 micro-credits; output: 10
	// durability: batched max output assumed: 4096
	// policy: credits builtin:credits true
}
