package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

const auditUsage = `usage:
  hub audit [--since DURATION|TIME] [--action ACTION] [--actor ACTOR] [--target TARGET] [--limit N]
Shows the audit log, newest first: who (key:ID:PREFIX, cli:USER or config),
what (provider.create, credential.update, key.revoke, master_key.rotate, …; a
trailing * matches a prefix, like provider.*), on what, when and the changed
fields (never a secret). --since is a duration back from now (24h) or an
RFC 3339 time or date (2025-01-31). --limit defaults to 100, at most 1000.
Takes -config FILE (default $HUB_CONFIG or hub.toml) and -json.`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runAlone(ctx, "audit", auditUsage, args, stdout, stderr, audit)
}

// parseSince reads --since: a positive duration back from now, an RFC 3339
// time or a date (midnight, local time).
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--since %q: want a positive duration", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration like 24h, an RFC 3339 time like 2025-01-31T12:00:00Z, or a date like 2025-01-31", s)
}

func audit(ctx context.Context, c *subcmd, args []string) error {
	since := c.fs.String("since", "", "entries since this `DURATION` ago (24h) or TIME (RFC 3339 or a date)")
	var f store.AuditFilter
	c.fs.StringVar(&f.Action, "action", "", "only this `action` (provider.* for a prefix)")
	c.fs.StringVar(&f.Actor, "actor", "", "only this `actor` (cli:root, key:12:sk-hub-…)")
	c.fs.StringVar(&f.Target, "target", "", "only this `target` (openai, openai/openai-1, key:12, …)")
	c.fs.IntVar(&f.Limit, "limit", 100, "at most `N` entries (up to 1000)")
	if _, err := c.parse(args); err != nil {
		return err
	}
	if *since != "" {
		t, err := parseSince(*since, time.Now())
		if err != nil {
			return c.usageErr("%v", err)
		}
		f.Since = t
	}
	if f.Limit <= 0 {
		return c.usageErr("--limit must be positive")
	}
	var es []store.AuditEntry
	err := c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) (err error) {
		es, err = env.svc.ListAudit(ctx, f)
		return err
	})
	if err != nil {
		return err
	}
	views := make([]manage.AuditView, 0, len(es))
	for _, e := range es {
		views = append(views, manage.NewAuditView(e))
	}
	return c.output(views, func(w io.Writer) {
		fmt.Fprintln(w, "ID\tAT\tACTOR\tACTION\tTARGET\tDETAIL")
		for _, v := range views {
			var detail bytes.Buffer
			if json.Compact(&detail, v.Detail) != nil {
				detail.Reset()
				detail.Write(v.Detail)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, fmtTime(v.At), v.Actor, v.Action, orDash(v.Target), detail.String())
		}
	})
}
