package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

const pluginsReloadUsage = `usage:
  hub plugins reload NAME [--hub URL]
  hub plugins rollback NAME [--hub URL]
reload hot-reloads the running hub's plugin NAME from its .wasm file: load,
validate (the hub.toml sha256 pin, the ABI, the manifest), canary on canonical
inputs, warm the pool, swap. Calls in flight finish on the old version. A
failed step leaves the old version serving; the command prints the step and
the reason and exits 1. rollback brings back the version the serving one
replaced. Both are audited. --hub defaults to http:// and the config's listen
address (-config FILE); the admin key is read from $HUB_ADMIN_KEY. -json
prints JSON. (A running hub also reloads changed plugins on SIGHUP.)`

// A pluginReload is the admin API's reload result.
type pluginReload struct {
	Plugin   string `json:"plugin"`
	Action   string `json:"action"`
	OK       bool   `json:"ok"`
	Changed  bool   `json:"changed"`
	SHA256   string `json:"sha256"`
	Version  string `json:"version"`
	Previous *struct {
		Version string `json:"version"`
		SHA256  string `json:"sha256"`
	} `json:"previous"`
	TookMS int64 `json:"took_ms"`
}

// runPluginsReload runs `hub plugins reload|rollback NAME`.
func runPluginsReload(ctx context.Context, action string, args []string, stdout, stderr io.Writer) error {
	c := newSubcmd("plugins "+action, pluginsReloadUsage, stdout, stderr)
	return c.fail(pluginsReload(ctx, c, action, args))
}

func pluginsReload(ctx context.Context, c *subcmd, action string, args []string) error {
	rf := addRemoteFlags(c.fs)
	pos, err := c.parse(args, "NAME")
	if err != nil {
		return err
	}
	client, err := rf.client(c)
	if err != nil {
		return err
	}
	start := time.Now()
	raw, err := client.call(ctx, "POST", "/api/admin/plugins/"+url.PathEscape(pos[0])+"/"+action)
	if err != nil {
		return err
	}
	if *c.json {
		return writeJSON(c.stdout, raw)
	}
	var r pluginReload
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("the hub's answer: %w", err)
	}
	switch {
	case !r.Changed:
		fmt.Fprintf(c.stdout, "plugin %s unchanged: version %s (sha256 %s) already serves\n", r.Plugin, orDash(r.Version), shortSum(r.SHA256))
	case r.Previous != nil:
		fmt.Fprintf(c.stdout, "plugin %s: %s done in %s: version %s (sha256 %s) serves, replacing %s (sha256 %s)\n", r.Plugin, action,
			time.Duration(r.TookMS)*time.Millisecond, orDash(r.Version), shortSum(r.SHA256), orDash(r.Previous.Version), shortSum(r.Previous.SHA256))
	default:
		fmt.Fprintf(c.stdout, "plugin %s: %s done in %s: version %s (sha256 %s) serves\n", r.Plugin, action,
			time.Since(start).Round(time.Millisecond), orDash(r.Version), shortSum(r.SHA256))
	}
	return nil
}

func shortSum(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return orDash(s)
}
