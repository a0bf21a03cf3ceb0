package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

const creditsUsage = `usage:
  hub credits grant ACCOUNT AMOUNT [--expires DURATION|TIME] [--memo MEMO]
  hub credits adjust ACCOUNT AMOUNT [--memo MEMO]
  hub credits balance ACCOUNT
ACCOUNT is an account's name or id. AMOUNT is credits as a decimal ("12.5", at
most 6 decimals); an adjustment's may be negative ("-1.5") and may not take the
balance below zero. --expires is a duration from now (720h) or an RFC 3339 time
or date; expiry is recorded, not enforced yet. -json shows amounts in
micro-credits (1 credit = 1,000,000) too, as the admin API does.
` + reachNote

var creditsGroup = group{
	name:  "credits",
	usage: creditsUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"grant":   creditsGrant,
		"adjust":  creditsAdjust,
		"balance": creditsBalance,
	},
}

const ledgerUsage = `usage:
  hub ledger verify
  hub ledger show ACCOUNT [--limit N] [--before ID]
verify checks the credit ledger against itself (balances against entries,
transactions against their kinds, holds against their settlements) and exits
1 if it finds any problem. show lists an account's ledger entries, newest
first: both legs of each transaction (the account's, and the system
account's that takes the other side). --limit defaults to 100, at most 1000;
--before ID shows the entries before that one (the next page).
Takes -config FILE (default $HUB_CONFIG or hub.toml) and -json.`

var ledgerGroup = group{
	name:  "ledger",
	usage: ledgerUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"verify": ledgerVerify,
		"show":   ledgerShow,
	},
}

// negativeRE is what a negative amount looks like.
var negativeRE = regexp.MustCompile(`^-[0-9]*\.?[0-9]+$`)

// takeNegative removes from args the first negative number that is not a
// flag's value, so that the flag package does not read "-1.5" as a flag,
// and returns it ("" for none). "--" before it works too.
func takeNegative(fs *flag.FlagSet, args []string) (rest []string, neg string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args, ""
		case negativeRE.MatchString(a):
			return slices.Concat(args[:i], args[i+1:]), a
		case strings.HasPrefix(a, "-") && !strings.Contains(a, "="):
			// A flag that takes a value takes the next argument, whatever
			// it looks like ("--memo -5").
			if f := fs.Lookup(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")); f != nil {
				if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
					i++
				}
			}
		}
	}
	return args, ""
}

// parseExpiry reads --expires: a positive duration from now, an RFC 3339
// time or a date (midnight, local time).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %q: want a positive duration", s)
		}
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a duration like 720h, an RFC 3339 time like 2025-12-31T00:00:00Z, or a date like 2025-12-31", s)
}

// postCredits grants (or, with signed, adjusts) and prints the outcome.
func postCredits(ctx context.Context, c *subcmd, args []string, signed bool) error {
	memo := c.fs.String("memo", "", "a note kept with the transaction and in the audit log")
	var expires *string
	if !signed {
		expires = c.fs.String("expires", "", "the credits expire after this `DURATION` (720h) or at this TIME (recorded, not enforced yet)")
	}
	args, neg := takeNegative(c.fs, args)
	var pos []string
	var err error
	if neg != "" {
		if !signed {
			return fmt.Errorf("AMOUNT %q: a grant must be positive (hub credits adjust takes negative amounts)", neg)
		}
		if pos, err = c.parse(args, "ACCOUNT"); err != nil {
			return err
		}
		pos = append(pos, neg)
	} else if pos, err = c.parse(args, "ACCOUNT", "AMOUNT"); err != nil {
		return err
	}
	amount, err := manage.ParseAmount("AMOUNT", pos[1], signed)
	if err != nil {
		return err
	}
	var until time.Time
	if expires != nil && *expires != "" {
		if until, err = parseExpiry(*expires, time.Now()); err != nil {
			return c.usageErr("%v", err)
		}
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		a, err := env.svc.ResolveAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		verb := "granted"
		if signed {
			verb = "adjusted by"
			err = env.svc.Adjust(ctx, a.ID, amount, *memo)
		} else {
			err = env.svc.Grant(ctx, a.ID, amount, *memo, until)
		}
		if err != nil {
			return err
		}
		bal, err := env.svc.Balance(ctx, a.ID)
		if err != nil {
			return err
		}
		return c.say(admin.CreditsResult{AccountID: a.ID, Amount: amount, AmountCredits: config.FormatCredits(amount),
			Balance: bal, BalanceCredits: config.FormatCredits(bal)},
			"account %q (id %d) %s %s credits; balance %s credits\n", a.Name, a.ID, verb,
			config.FormatCredits(amount), config.FormatCredits(bal))
	})
}

func creditsGrant(ctx context.Context, c *subcmd, args []string) error {
	return postCredits(ctx, c, args, false)
}

func creditsAdjust(ctx context.Context, c *subcmd, args []string) error {
	return postCredits(ctx, c, args, true)
}

func creditsBalance(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"ACCOUNT"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		a, err := env.svc.ResolveAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		return c.say(a, "account %q (id %d): %s credits (%d micro-credits)\n", a.Name, a.ID, a.BalanceCredits, a.Balance)
	})
}

// errLedgerProblems is the failure of a verification that found
// problems.
var errLedgerProblems = errors.New("the ledger is inconsistent")

func ledgerVerify(ctx context.Context, c *subcmd, args []string) error {
	var r store.VerifyReport
	err := c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) (err error) {
		r, err = env.svc.VerifyLedger(ctx)
		return err
	})
	if err != nil {
		return err
	}
	v := manage.NewVerifyView(r)
	if *c.json {
		if err := writeJSON(c.stdout, v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "checked %d accounts, %d transactions, %d entries; %d holds open (calls in flight)\n",
			v.Accounts, v.Transactions, v.Entries, v.OpenHolds)
		for _, p := range v.Problems {
			fmt.Fprintf(c.stdout, "problem: %s\n", p)
		}
		if v.OK {
			fmt.Fprintln(c.stdout, "ok: the ledger is consistent")
		}
	}
	switch n := len(v.Problems); {
	case n == 1:
		return fmt.Errorf("%w: 1 problem", errLedgerProblems)
	case n > 1:
		return fmt.Errorf("%w: %d problems", errLedgerProblems, n)
	}
	return nil
}

func ledgerShow(ctx context.Context, c *subcmd, args []string) error {
	limit := c.fs.Int("limit", 100, "at most `N` entries (up to 1000)")
	before := c.fs.Int64("before", 0, "only entries before the one with this `ID`")
	pos, err := c.parse(args, "ACCOUNT")
	if err != nil {
		return err
	}
	if *limit <= 0 {
		return c.usageErr("--limit must be positive")
	}
	if *before < 0 {
		return c.usageErr("--before must be positive")
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		a, err := env.svc.ResolveAccount(ctx, pos[0])
		if err != nil {
			return err
		}
		es, err := env.svc.Ledger(ctx, store.LedgerFilter{AccountID: a.ID, Limit: min(*limit, 1000), BeforeID: *before})
		if err != nil {
			return err
		}
		return c.output(es, func(w io.Writer) {
			fmt.Fprintf(w, "account %q (id %d), balance %s credits\n", a.Name, a.ID, a.BalanceCredits)
			fmt.Fprintln(w, "ID\tAT\tKIND\tACCOUNT\tAMOUNT\tREQUEST\tMEMO")
			for _, e := range es {
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, fmtTime(e.At), e.Kind, e.Account, e.AmountCredits, orDash(e.RequestID), orDash(e.Memo))
			}
		})
	})
}
