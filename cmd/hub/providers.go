package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aignehub/hub/host/manage"
)

const providersUsage = `usage:
  hub providers list
  hub providers show NAME
  hub providers add --name NAME --plugin PLUGIN [--base-url URL] [--region REGION]
                    [--model MODEL]... [--option KEY=VALUE]... [--disable]
  hub providers set NAME [--base-url URL] [--region REGION] [--model MODEL]... [--clear-models]
                    [--option KEY=VALUE]... [--enable|--disable]
  hub providers remove NAME
PLUGIN is a configured or builtin plugin, or a preset (deepseek, bedrock, …)
that fills in the base URL and options. --model lists the models served (none:
discover them from the upstream; in set, the list replaces the stored one).
--option VALUE is JSON when it parses as JSON, else a string; in set, options
merge key by key and KEY=null removes one. Removing a provider removes its
credentials; one from hub.toml comes back at the next start unless removed there.
` + reachNote

var providersGroup = group{
	name:  "providers",
	usage: providersUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"list":   providersList,
		"show":   providersShow,
		"add":    providersAdd,
		"set":    providersSet,
		"remove": providersRemove,
	},
}

func providersList(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) error {
		ps, err := env.svc.ListProviders(ctx)
		if err != nil {
			return err
		}
		return c.output(ps, func(w io.Writer) {
			fmt.Fprintln(w, "NAME\tPLUGIN\tBASE URL\tMODELS\tENABLED\tMANAGED BY\tCREDENTIALS")
			for _, p := range ps {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.Name, p.Plugin, p.BaseURL, models(p.Models),
					yesNo(p.Enabled), p.ManagedBy, len(p.Credentials))
			}
		})
	})
}

// models shows a provider's models, none meaning discovered.
func models(ms []string) string {
	if len(ms) == 0 {
		return "(discovered)"
	}
	return strings.Join(ms, ",")
}

func providersShow(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		return c.showProvider(env.svc.Provider(ctx, pos[0]))
	})
}

// showProvider outputs p unless err.
func (c *subcmd) showProvider(p manage.ProviderView, err error) error {
	if err != nil {
		return err
	}
	return c.output(p, func(w io.Writer) { showProvider(w, p) })
}

func showProvider(w io.Writer, p manage.ProviderView) {
	var opts bytes.Buffer
	if json.Compact(&opts, p.Options) != nil {
		opts.Reset()
		opts.Write(p.Options)
	}
	fmt.Fprintf(w, "name:\t%s\n", p.Name)
	fmt.Fprintf(w, "plugin:\t%s\n", p.Plugin)
	fmt.Fprintf(w, "base url:\t%s\n", p.BaseURL)
	fmt.Fprintf(w, "region:\t%s\n", orDash(p.Region))
	fmt.Fprintf(w, "options:\t%s\n", opts.String())
	fmt.Fprintf(w, "models:\t%s\n", models(p.Models))
	fmt.Fprintf(w, "enabled:\t%s\n", yesNo(p.Enabled))
	fmt.Fprintf(w, "managed by:\t%s\n", p.ManagedBy)
	fmt.Fprintf(w, "created:\t%s\n", fmtTime(p.CreatedAt))
	fmt.Fprintf(w, "updated:\t%s\n", fmtTime(p.UpdatedAt))
	fmt.Fprintf(w, "credentials:\t%d\n", len(p.Credentials))
	if len(p.Credentials) > 0 {
		fmt.Fprintln(w)
		credentialTable(w, p.Credentials)
	}
}

// providerFlags are the flags of add and set.
type providerFlags struct {
	baseURL, region string
	models          stringList
	options         stringList
	enable          enableFlags
}

func addProviderFlags(c *subcmd) *providerFlags {
	f := &providerFlags{}
	c.fs.StringVar(&f.baseURL, "base-url", "", "the upstream's base `URL` (default: the preset's)")
	c.fs.StringVar(&f.region, "region", "", "the cloud `region`, for AWS-signed providers")
	c.fs.Var(&f.models, "model", "a `model` the provider serves (repeatable)")
	c.fs.Var(&f.options, "option", "a plugin option `KEY=VALUE`, VALUE as JSON or a string (repeatable)")
	f.enable = addEnableFlags(c.fs, "provider")
	return f
}

// spec returns the ProviderSpec the given flags describe.
func (f *providerFlags) spec(c *subcmd) (manage.ProviderSpec, error) {
	given := c.given()
	var spec manage.ProviderSpec
	if given["base-url"] {
		spec.BaseURL = &f.baseURL
	}
	if given["region"] {
		spec.Region = &f.region
	}
	if len(f.models) > 0 {
		ms := []string(f.models)
		spec.Models = &ms
	}
	if len(f.options) > 0 {
		spec.Options = map[string]any{}
		for _, o := range f.options {
			k, v, err := parseOption(o)
			if err != nil {
				return spec, c.usageErr("%v", err)
			}
			if _, dup := spec.Options[k]; dup {
				return spec, c.usageErr("--option %s given twice", k)
			}
			spec.Options[k] = v
		}
	}
	var err error
	spec.Enabled, err = f.enable.value(c)
	return spec, err
}

// parseOption parses KEY=VALUE: VALUE is JSON when it is valid JSON
// (numbers kept exact), else the string itself.
func parseOption(s string) (string, any, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return "", nil, fmt.Errorf("--option %q: want KEY=VALUE", s)
	}
	if json.Valid([]byte(v)) {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err == nil {
			return k, x, nil
		}
	}
	return k, v, nil
}

func providersAdd(ctx context.Context, c *subcmd, args []string) error {
	var name, plugin string
	c.fs.StringVar(&name, "name", "", "the provider's `name` (required)")
	c.fs.StringVar(&plugin, "plugin", "", "the `plugin` or preset that serves it (required)")
	f := addProviderFlags(c)
	if _, err := c.parse(args); err != nil {
		return err
	}
	spec, err := f.spec(c)
	if err != nil {
		return err
	}
	spec.Name, spec.Plugin = name, plugin
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		p, err := env.svc.CreateProvider(ctx, spec)
		if err != nil {
			return err
		}
		format := "created provider %s (plugin %s, %s)\n"
		if len(p.Credentials) == 0 {
			format += "add its credentials with: hub credentials add %[1]s --secret-stdin (or --secret-env NAME)\n"
		}
		return c.say(p, format, p.Name, p.Plugin, p.BaseURL)
	})
}

func providersSet(ctx context.Context, c *subcmd, args []string) error {
	f := addProviderFlags(c)
	clearModels := c.fs.Bool("clear-models", false, "serve the models discovered from the upstream instead of a list")
	pos, err := c.parse(args, "NAME")
	if err != nil {
		return err
	}
	spec, err := f.spec(c)
	if err != nil {
		return err
	}
	if *clearModels {
		if spec.Models != nil {
			return c.usageErr("give --model or --clear-models, not both")
		}
		spec.Models = &[]string{}
	}
	if spec.BaseURL == nil && spec.Region == nil && spec.Models == nil && spec.Options == nil && spec.Enabled == nil {
		return c.usageErr("nothing to change")
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		return c.showProvider(env.svc.UpdateProvider(ctx, pos[0], spec))
	})
}

func providersRemove(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"NAME"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		if err := env.svc.DeleteProvider(ctx, pos[0]); err != nil {
			return err
		}
		return c.say(map[string]any{"removed": pos[0]}, "removed provider %s and its credentials\n", pos[0])
	})
}
