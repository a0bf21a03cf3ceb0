package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

const usageUsage = `usage:
  hub usage [--since DURATION|TIME] [--until DURATION|TIME] [--bucket hour|day]
            [--group-by model,provider,account,key,time] [--account ACCOUNT]
            [--provider P] [--model M] [--csv]
Shows usage statistics from the hourly (default) or daily (UTC) rollups of the
call log: calls, errors, tokens, credits charged and latency percentiles
(precise to within 19%), one row per group, summed over the dimensions not
grouped by (no --group-by: one row of totals). A bucket counts whole when its
start is in [since, until). --since and --until are a duration back from now
(24h) or an RFC 3339 time or date. ACCOUNT is a name or an id. --csv writes CSV
(durations in µs, credits in micro-credits); -json writes JSON.
Takes -config FILE (default $HUB_CONFIG or hub.toml).`

func runUsage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runAlone(ctx, "usage", usageUsage, args, stdout, stderr, usageCmd)
}

// rangeFlags are --since and --until.
type rangeFlags struct{ since, until *string }

func addRangeFlags(c *subcmd) rangeFlags {
	return rangeFlags{
		since: c.fs.String("since", "", "from this `DURATION` ago (24h) or TIME (RFC 3339 or a date)"),
		until: c.fs.String("until", "", "up to this `DURATION` ago or TIME (RFC 3339 or a date)"),
	}
}

func (r rangeFlags) parse(c *subcmd, now time.Time) (since, until time.Time, err error) {
	for _, f := range []struct {
		name string
		v    *string
		to   *time.Time
	}{{"since", r.since, &since}, {"until", r.until, &until}} {
		if *f.v == "" {
			continue
		}
		t, err := parseSince(*f.v, now)
		if err != nil {
			return time.Time{}, time.Time{}, c.usageErr("%s", strings.Replace(err.Error(), "--since", "--"+f.name, 1))
		}
		*f.to = t
	}
	return since, until, nil
}

// accountFilter resolves --account, "" meaning every account.
func accountFilter(ctx context.Context, env *adminEnv, ref string) (int64, error) {
	if ref == "" {
		return 0, nil
	}
	a, err := env.svc.ResolveAccount(ctx, ref)
	return a.ID, err
}

func usageCmd(ctx context.Context, c *subcmd, args []string) error {
	rf := addRangeFlags(c)
	var f store.StatsFilter
	c.fs.StringVar(&f.Bucket, "bucket", store.StatsHour, "the rollup: `hour` or day")
	groupBy := c.fs.String("group-by", "", "comma-separated `dimensions`: "+strings.Join(manage.GroupByDimensions, ","))
	account := c.fs.String("account", "", "only this `ACCOUNT` (name or id)")
	c.fs.StringVar(&f.Provider, "provider", "", "only this `provider`")
	c.fs.StringVar(&f.Model, "model", "", "only this `model` (as requested)")
	csv := c.fs.Bool("csv", false, "write CSV")
	if _, err := c.parse(args); err != nil {
		return err
	}
	var err error
	if f.Since, f.Until, err = rf.parse(c, time.Now()); err != nil {
		return err
	}
	for d := range strings.SplitSeq(*groupBy, ",") {
		if d = strings.TrimSpace(d); d != "" {
			f.GroupBy = append(f.GroupBy, d)
		}
	}
	if *csv && *c.json {
		return c.usageErr("give --csv or -json, not both")
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) (err error) {
		if f.AccountID, err = accountFilter(ctx, env, *account); err != nil {
			return err
		}
		if *csv {
			return env.svc.WriteUsageCSV(ctx, c.stdout, f)
		}
		rows, err := env.svc.Usage(ctx, f)
		if err != nil {
			return err
		}
		return c.output(rows, func(w io.Writer) { usageTable(w, f.GroupBy, rows) })
	})
}

// usageTable prints usage rows with a column per dimension grouped by.
func usageTable(w io.Writer, groupBy []string, rows []manage.StatsView) {
	var head []string
	for _, d := range manage.GroupByDimensions { // a fixed column order
		if slices.Contains(groupBy, d) {
			head = append(head, strings.ToUpper(d))
		}
	}
	head = append(head, "CALLS", "ERRORS", "PROMPT", "COMPLETION", "CACHED", "CREDITS", "TTFB P50", "TTFB P95", "TOTAL P50", "TOTAL P95")
	fmt.Fprintln(w, strings.Join(head, "\t"))
	for _, r := range rows {
		var cols []string
		for _, d := range manage.GroupByDimensions {
			if !slices.Contains(groupBy, d) {
				continue
			}
			switch d {
			case store.GroupByModel:
				cols = append(cols, r.Model)
			case store.GroupByProvider:
				cols = append(cols, r.Provider)
			case store.GroupByAccount:
				cols = append(cols, fmt.Sprint(r.AccountID))
			case store.GroupByKey:
				cols = append(cols, fmt.Sprint(r.KeyID))
			case store.GroupByTime:
				s := "-"
				if r.Start != nil {
					s = fmtTime(*r.Start)
				}
				cols = append(cols, s)
			}
		}
		cols = append(cols, fmt.Sprint(r.Calls), fmt.Sprint(r.Errors), fmt.Sprint(r.PromptTokens), fmt.Sprint(r.CompletionTokens),
			fmt.Sprint(r.CachedTokens), r.ChargedCredits, fmtMS(r.TTFBp50MS), fmtMS(r.TTFBp95MS), fmtMS(r.Durationp50MS), fmtMS(r.Durationp95MS))
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
}

// fmtMS shows milliseconds for a table.
func fmtMS(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", ms)
}

const callsUsage = `usage:
  hub calls export [--since DURATION|TIME] [--until DURATION|TIME] [--account ACCOUNT]
                   [--key ID] [--provider P] [--model M] [--status ok|error|aborted]
                   [--limit N] [--csv | -json]
  hub calls show REQUEST_ID
export writes the recorded calls, newest first, as CSV (the default; durations
in µs, credits in micro-credits) or as JSON with -json; every matching call
unless --limit is given. show prints one call with its upstream attempts
(retries and failovers). --since and --until are a duration back from now (24h)
or an RFC 3339 time or date. ACCOUNT is a name or an id.
Takes -config FILE (default $HUB_CONFIG or hub.toml).`

var callsGroup = group{
	name:  "calls",
	usage: callsUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"export": callsExport,
		"show":   callsShow,
	},
}

func callsExport(ctx context.Context, c *subcmd, args []string) error {
	rf := addRangeFlags(c)
	var f store.CallFilter
	account := c.fs.String("account", "", "only this `ACCOUNT` (name or id)")
	c.fs.Int64Var(&f.KeyID, "key", 0, "only the calls of the key with this `ID`")
	c.fs.StringVar(&f.Provider, "provider", "", "only this `provider`")
	c.fs.StringVar(&f.Model, "model", "", "only this `model` (as requested)")
	c.fs.StringVar(&f.Status, "status", "", "only this `status`: ok, error or aborted")
	c.fs.IntVar(&f.Limit, "limit", 0, "at most `N` calls (default: all)")
	c.fs.Bool("csv", true, "write CSV (the default)")
	if _, err := c.parse(args); err != nil {
		return err
	}
	if f.Limit < 0 {
		return c.usageErr("--limit must be positive")
	}
	if c.given()["csv"] && *c.json {
		return c.usageErr("give --csv or -json, not both")
	}
	var err error
	if f.Since, f.Until, err = rf.parse(c, time.Now()); err != nil {
		return err
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) (err error) {
		if f.AccountID, err = accountFilter(ctx, env, *account); err != nil {
			return err
		}
		if !*c.json {
			return env.svc.WriteCallsCSV(ctx, c.stdout, f)
		}
		// JSON: page through the calls, at most the limit.
		var all []manage.CallView
		var cur manage.CallCursor
		for {
			page := f
			page.Limit = manage.MaxCallsLimit
			if f.Limit > 0 {
				page.Limit = min(page.Limit, f.Limit-len(all))
			}
			p, err := env.svc.CallsPage(ctx, page, cur)
			if err != nil {
				return err
			}
			all = append(all, p.Data...)
			if p.NextBefore == "" || f.Limit > 0 && len(all) >= f.Limit {
				break
			}
			if cur, err = manage.ParseCallCursor(p.NextBefore); err != nil {
				return err
			}
		}
		if all == nil {
			all = []manage.CallView{}
		}
		return writeJSON(c.stdout, all)
	})
}

func callsShow(ctx context.Context, c *subcmd, args []string) error {
	var v manage.CallView
	err := c.query(ctx, args, []string{"REQUEST_ID"}, func(ctx context.Context, env *adminEnv, pos []string) (err error) {
		v, err = env.svc.Call(ctx, pos[0])
		return err
	})
	if err != nil {
		return err
	}
	return c.output(v, func(w io.Writer) {
		fmt.Fprintf(w, "request:\t%s\n", v.RequestID)
		fmt.Fprintf(w, "at:\t%s\n", fmtTime(v.CreatedAt))
		fmt.Fprintf(w, "api:\t%s\n", v.API)
		fmt.Fprintf(w, "account:\t%d (key %d)\n", v.AccountID, v.KeyID)
		fmt.Fprintf(w, "model:\t%s (upstream %s on %s)\n", v.Model, orDash(v.UpstreamModel), orDash(v.Provider))
		status := v.Status
		if v.ErrorType != "" {
			status += " (" + v.ErrorType + ")"
		}
		fmt.Fprintf(w, "status:\t%s, HTTP %d\n", status, v.HTTPStatus)
		if v.ErrorMessage != "" {
			fmt.Fprintf(w, "error:\t%s\n", v.ErrorMessage)
		}
		fmt.Fprintf(w, "tokens:\t%d prompt (%d cached), %d completion\n", v.PromptTokens, v.CachedTokens, v.CompletionTokens)
		fmt.Fprintf(w, "time:\tfirst byte %s, total %s\n", fmtMS(v.TTFBMS), fmtMS(v.DurationMS))
		fmt.Fprintf(w, "charged:\t%s credits\n", config.FormatCredits(v.Charged))
		fmt.Fprintf(w, "attempts:\t%d\n", v.AttemptCount)
		if len(v.Attempts) > 0 {
			fmt.Fprintln(w, "\n#\tPROVIDER\tCREDENTIAL\tUPSTREAM MODEL\tSTATUS\tHTTP\tDURATION\tERROR")
			for _, a := range v.Attempts {
				cred := "-"
				if a.CredentialID != 0 {
					cred = fmt.Sprint(a.CredentialID)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", a.Attempt, a.Provider, cred, orDash(a.UpstreamModel), a.Status,
					a.HTTPStatus, fmtMS(a.DurationMS), orDash(strings.TrimSpace(a.ErrorType+" "+a.ErrorMessage)))
			}
		}
	})
}
