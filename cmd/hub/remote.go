package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
)

// EnvAdminKey holds the admin API key of the commands that ask the
// running hub.
const EnvAdminKey = "HUB_ADMIN_KEY"

// maxAnswer bounds an admin API answer.
const maxAnswer = 16 << 20

// remoteFlags are the flags of the commands that ask the running hub.
type remoteFlags struct {
	hub     *string
	timeout *time.Duration
}

func addRemoteFlags(fs *flag.FlagSet) remoteFlags {
	return remoteFlags{
		hub:     fs.String("hub", "", "the running hub's `URL` (default: http:// and the config's listen address)"),
		timeout: fs.Duration("timeout", 2*time.Minute, "give up after this `duration`"),
	}
}

// An adminClient calls the running hub's admin API.
type adminClient struct {
	base string // "http://127.0.0.1:8080"
	key  string
	http *http.Client
}

// client returns the admin API client the flags, the config and
// $HUB_ADMIN_KEY describe.
func (f remoteFlags) client(c *subcmd) (*adminClient, error) {
	key := os.Getenv(EnvAdminKey)
	if key == "" {
		return nil, fmt.Errorf("%s is not set: this command asks the running hub through its admin API, "+
			"which takes an admin key (create one with `hub keys create --name NAME --role admin`, then export %s=sk-hub-…)",
			EnvAdminKey, EnvAdminKey)
	}
	base := strings.TrimRight(*f.hub, "/")
	if base == "" {
		cfg, err := config.Load(*c.config)
		if err != nil {
			return nil, fmt.Errorf("%w (or give --hub URL)", err)
		}
		if base, err = hubURL(cfg.Listen); err != nil {
			return nil, err
		}
	} else if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return nil, fmt.Errorf("--hub %q: want an http:// or https:// URL", *f.hub)
	}
	return &adminClient{base: base, key: key, http: &http.Client{Timeout: *f.timeout}}, nil
}

// hubURL returns the URL a local client reaches a hub listening on
// listen at: an empty or unspecified host (0.0.0.0, ::) means the
// loopback address.
func hubURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w (give --hub URL)", listen, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("listen address %q has no fixed port: give --hub URL", listen)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// apiError is the admin API's error body.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// call sends a request without a body and returns the answer's "data"
// member, or the whole answer when it has none.
func (a *adminClient) call(ctx context.Context, method, path string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Accept", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the hub (is it running at %s? give --hub URL otherwise): %w", a.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e apiError
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			kind := e.Error.Type
			if code, ok := e.Error.Code.(string); ok && code != "" {
				kind += ", " + code
			}
			return nil, fmt.Errorf("the hub answered %d (%s): %s", resp.StatusCode, kind, e.Error.Message)
		}
		text := strings.TrimSpace(string(body))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
		return nil, fmt.Errorf("the hub answered %s: %s", resp.Status, text)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%s %s: the answer is not JSON: %w", method, path, err)
	}
	if len(env.Data) > 0 && !bytes.Equal(env.Data, []byte("null")) {
		return env.Data, nil
	}
	return body, nil
}

const pluginsUsage = `usage:
  hub plugins list [--hub URL]
  hub plugins reload|rollback NAME [--hub URL]   (see hub plugins reload -h)
Lists the plugins the running hub has loaded, with the providers using them.
--hub defaults to http:// and the config's listen address (-config FILE); the
admin key is read from $HUB_ADMIN_KEY. -json prints JSON.`

// A pluginInfo is one loaded plugin, as the admin API describes it.
type pluginInfo struct {
	Name          string   `json:"name"`
	Kind          string   `json:"kind"`
	Version       string   `json:"version"`
	SHA256        string   `json:"sha256"`
	Source        string   `json:"source"`
	APIs          []string `json:"apis"`
	Trusted       bool     `json:"trusted"`
	PoolSize      int      `json:"pool_size"`
	Providers     []string `json:"providers"`
	StreamFraming string   `json:"stream_framing"`
}

func runPlugins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "reload" || args[0] == "rollback") {
		return runPluginsReload(ctx, args[0], args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "list" {
		args = args[1:]
	}
	c := newSubcmd("plugins list", pluginsUsage, stdout, stderr)
	return c.fail(pluginsList(ctx, c, args))
}

// getRemote takes --hub, asks the running hub for path and returns its
// answer; with -json it prints the answer itself and returns done.
func (c *subcmd) getRemote(ctx context.Context, args []string, path string) (raw json.RawMessage, done bool, err error) {
	rf := addRemoteFlags(c.fs)
	if _, err := c.parse(args); err != nil {
		return nil, true, err
	}
	client, err := rf.client(c)
	if err != nil {
		return nil, true, err
	}
	if raw, err = client.call(ctx, "GET", path); err != nil {
		return nil, true, err
	}
	if *c.json {
		return nil, true, writeJSON(c.stdout, raw)
	}
	return raw, false, nil
}

func pluginsList(ctx context.Context, c *subcmd, args []string) error {
	raw, done, err := c.getRemote(ctx, args, "/api/admin/plugins")
	if done {
		return err
	}
	var ps []pluginInfo
	if err := json.Unmarshal(raw, &ps); err != nil {
		return fmt.Errorf("the hub's answer: %w", err)
	}
	return c.output(ps, func(w io.Writer) {
		fmt.Fprintln(w, "NAME\tKIND\tVERSION\tSOURCE\tTRUSTED\tPOOL\tAPIS\tPROVIDERS\tSHA256")
		for _, p := range ps {
			sum := p.SHA256
			if len(sum) > 12 {
				sum = sum[:12] + "…"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.Name, orDash(p.Kind), orDash(p.Version), orDash(p.Source),
				yesNo(p.Trusted), p.PoolSize, orDash(strings.Join(p.APIs, ",")), orDash(strings.Join(p.Providers, ",")), orDash(sum))
		}
	})
}

const stateUsage = `usage:
  hub state [--hub URL]
Shows the running hub's provider and credential health: each provider healthy,
cooling_down or unavailable; each credential active, cooling_down, disabled or
broken, with the reason and until when. --hub defaults to http:// and the
config's listen address (-config FILE); the admin key is read from
$HUB_ADMIN_KEY. -json prints JSON.`

// A providerState is a provider's health, as the admin API reports it.
type providerState struct {
	Name                string            `json:"name"`
	Status              string            `json:"status"`
	CoolingUntil        *time.Time        `json:"cooling_until"`
	ConsecutiveFailures int               `json:"consecutive_failures"`
	LastError           string            `json:"last_error"`
	Models              []string          `json:"models"`
	Credentials         []credentialState `json:"credentials"`
}

type credentialState struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Hint         string     `json:"hint"`
	Weight       int        `json:"weight"`
	Status       string     `json:"status"`
	Reason       string     `json:"reason"`
	CoolingUntil *time.Time `json:"cooling_until"`
	NextCheck    *time.Time `json:"next_check"`
	Successes    uint64     `json:"successes"`
	Failures     uint64     `json:"failures"`
}

func runState(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newSubcmd("state", stateUsage, stdout, stderr)
	return c.fail(state(ctx, c, args))
}

func state(ctx context.Context, c *subcmd, args []string) error {
	raw, done, err := c.getRemote(ctx, args, "/api/admin/state")
	if done {
		return err
	}
	var ps []providerState
	if err := json.Unmarshal(raw, &ps); err != nil {
		var wrapped struct {
			Providers []providerState `json:"providers"`
		}
		if json.Unmarshal(raw, &wrapped) != nil {
			return fmt.Errorf("the hub's answer: %w", err)
		}
		ps = wrapped.Providers
	}
	return c.output(ps, func(w io.Writer) {
		fmt.Fprintln(w, "PROVIDER\tCREDENTIAL\tID\tSTATUS\tWEIGHT\tOK\tFAILED\tDETAIL")
		for _, p := range ps {
			var detail []string
			if p.CoolingUntil != nil {
				detail = append(detail, "until "+fmtTime(*p.CoolingUntil))
			}
			if p.ConsecutiveFailures > 0 {
				detail = append(detail, fmt.Sprintf("%d failures in a row", p.ConsecutiveFailures))
			}
			if p.LastError != "" {
				detail = append(detail, "last error: "+p.LastError)
			}
			detail = append(detail, "models: "+orDash(strings.Join(p.Models, ",")))
			fmt.Fprintf(w, "%s\t\t\t%s\t\t\t\t%s\n", p.Name, p.Status, strings.Join(detail, "; "))
			for _, cr := range p.Credentials {
				var d []string
				if cr.Hint != "" {
					d = append(d, cr.Hint)
				}
				if cr.Reason != "" {
					d = append(d, cr.Reason)
				}
				if cr.CoolingUntil != nil {
					d = append(d, "until "+fmtTime(*cr.CoolingUntil))
				}
				if cr.NextCheck != nil {
					d = append(d, "next check "+fmtTime(*cr.NextCheck))
				}
				fmt.Fprintf(w, "\t%s\t%d\t%s\t%d\t%d\t%d\t%s\n", cr.Name, cr.ID, cr.Status, cr.Weight, cr.Successes, cr.Failures, strings.Join(d, "; "))
			}
		}
	})
}
