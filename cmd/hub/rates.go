package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

const ratesUsage = `usage:
  hub rates list
  hub rates set MODEL [--input X] [--output X] [--cached-read X] [--cache-write X]
                      [--per-image X] [--min X]
  hub rates remove MODEL
MODEL is provider/model, or a bare model name that prices the model on every
provider without a rate of its own. Amounts are credits as decimals ("2.5", at
most 6 decimals): token rates per 1,000,000 tokens, --per-image per generated
image, --min the least a call costs. set keeps the stored amounts it is not
given (a new rate starts at 0). -json shows amounts in micro-credits
(1 credit = 1,000,000), as the admin API does.
` + reachNote

var ratesGroup = group{
	name:  "rates",
	usage: ratesUsage,
	subs: map[string]func(context.Context, *subcmd, []string) error{
		"list":   ratesList,
		"set":    ratesSet,
		"remove": ratesRemove,
	},
}

func rateViews(rs []store.ModelRate) []manage.RateView {
	out := make([]manage.RateView, 0, len(rs))
	for _, r := range rs {
		out = append(out, manage.NewRateView(r))
	}
	return out
}

func rateTable(w io.Writer, rs ...store.ModelRate) {
	fmt.Fprintln(w, "MODEL\tINPUT/1M\tOUTPUT/1M\tCACHED READ/1M\tCACHE WRITE/1M\tPER IMAGE\tMIN/CALL\tUPDATED")
	for _, r := range rs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Model, config.FormatCredits(r.InputPerM), config.FormatCredits(r.OutputPerM),
			config.FormatCredits(r.CachedReadPerM), config.FormatCredits(r.CacheWritePerM), config.FormatCredits(r.PerImage),
			config.FormatCredits(r.MinPerCall), fmtTime(r.UpdatedAt))
	}
}

func ratesList(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, nil, func(ctx context.Context, env *adminEnv, _ []string) error {
		rs, err := env.svc.ListRates(ctx)
		if err != nil {
			return err
		}
		return c.output(rateViews(rs), func(w io.Writer) { rateTable(w, rs...) })
	})
}

func ratesSet(ctx context.Context, c *subcmd, args []string) error {
	type amount struct {
		flag, usage string
		field       func(*store.ModelRate) *int64
	}
	amounts := []amount{
		{"input", "credits per 1M prompt tokens not read from a cache", func(r *store.ModelRate) *int64 { return &r.InputPerM }},
		{"output", "credits per 1M completion tokens", func(r *store.ModelRate) *int64 { return &r.OutputPerM }},
		{"cached-read", "credits per 1M prompt tokens read from the provider's cache", func(r *store.ModelRate) *int64 { return &r.CachedReadPerM }},
		{"cache-write", "credits per 1M prompt tokens written to the provider's cache", func(r *store.ModelRate) *int64 { return &r.CacheWritePerM }},
		{"per-image", "credits per generated image", func(r *store.ModelRate) *int64 { return &r.PerImage }},
		{"min", "the least a call costs, in credits", func(r *store.ModelRate) *int64 { return &r.MinPerCall }},
	}
	values := make([]*string, len(amounts))
	for i, a := range amounts {
		values[i] = c.fs.String(a.flag, "", a.usage+", `X` like 2.5")
	}
	pos, err := c.parse(args, "MODEL")
	if err != nil {
		return err
	}
	given := c.given()
	var set []int
	for i, a := range amounts {
		if given[a.flag] {
			set = append(set, i)
		}
	}
	if len(set) == 0 {
		return c.usageErr("nothing to set: give at least one of --input, --output, --cached-read, --cache-write, --per-image, --min")
	}
	parsed := map[int]int64{}
	for _, i := range set {
		n, err := config.ParseCredits(*values[i])
		if err != nil {
			return fmt.Errorf("--%s %w", amounts[i].flag, err)
		}
		parsed[i] = n
	}
	return c.withEnv(ctx, false, func(ctx context.Context, env *adminEnv) error {
		r, err := env.svc.Rate(ctx, pos[0])
		switch {
		case errors.Is(err, store.ErrNotFound):
			r = store.ModelRate{Model: pos[0]}
		case err != nil:
			return err
		}
		for i, n := range parsed {
			*amounts[i].field(&r) = n
		}
		r, err = env.svc.SetRate(ctx, r)
		if err != nil {
			return err
		}
		return c.output(manage.NewRateView(r), func(w io.Writer) { rateTable(w, r) })
	})
}

func ratesRemove(ctx context.Context, c *subcmd, args []string) error {
	return c.query(ctx, args, []string{"MODEL"}, func(ctx context.Context, env *adminEnv, pos []string) error {
		if err := env.svc.DeleteRate(ctx, pos[0]); err != nil {
			return err
		}
		return c.say(map[string]any{"removed": pos[0]}, "removed the rate of %s\n", pos[0])
	})
}
