package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// DefaultDailyFree is the free allowance when the config sets none: one
// credit a day.
const DefaultDailyFree = 1_000_000

// Line items this policy adds after the list-price lines.
const (
	ItemFreeAllowance = "free_allowance" // negative: the part of the list price the allowance pays
	ItemMarkup        = "markup"         // the 20% on the rest
	ItemNightDiscount = "night_discount" // negative: half of the marked-up rest, at night
)

const (
	markupNum, markupDen = 6, 5 // × 1.2
	nightStartHour       = 0    // 00:00 UTC, inclusive
	nightEndHour         = 6    // 06:00 UTC, exclusive
	msPerHour            = 3_600_000
	msPerDay             = 24 * msPerHour
)

// config is the plugin's config: the [plugins.NAME.config] table of hub.toml.
type config struct {
	// DailyFree is the free allowance per account and UTC day, in
	// micro-credits. Absent: DefaultDailyFree; 0 turns it off.
	DailyFree *int64 `json:"daily_free_microcredits"`
}

// policy is the example policy.
type policy struct {
	dailyFree int64
}

// newPolicy makes the policy from its config JSON. Unknown keys are errors,
// so that a misspelt key is not silently ignored.
func newPolicy(cfg []byte) (*policy, error) {
	var c config
	if len(bytes.TrimSpace(cfg)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(cfg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("billing-policy config: %w", err)
		}
	}
	p := &policy{dailyFree: DefaultDailyFree}
	if c.DailyFree != nil {
		if *c.DailyFree < 0 {
			return nil, errors.New("billing-policy config: daily_free_microcredits must not be negative")
		}
		p.dailyFree = *c.DailyFree
	}
	return p, nil
}

func (p *policy) Manifest() abi.Manifest {
	return abi.Manifest{
		Kind:        abi.KindBilling,
		Name:        "billing-policy",
		Version:     "1.0.0",
		Description: "Example: a free daily allowance, then rates × 1.2, half price from 00:00 to 06:00 UTC.",
		ConfigSchema: map[string]any{
			"type":                 "object",
			"additionalProperties": false,
			"properties": map[string]any{
				"daily_free_microcredits": map[string]any{"type": "integer", "minimum": 0, "default": DefaultDailyFree},
			},
		},
	}
}

// Quote refuses unpriced models, like the builtin policy, and holds what
// the call's worst case would cost under this policy, given what the
// account has used today and the time of the call.
func (p *policy) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	if !in.Rate.Found {
		model := in.Model
		if in.Provider != "" {
			model = in.Provider + "/" + in.Model
		}
		return abi.QuoteOut{Code: abi.CodeUnpricedModel, Reason: "model " + model + " has no rate; ask an administrator to set one"}, nil
	}
	list := billing.WorstCase(in.Rate, in.EstInputTokens, in.MaxOutputTokens, in.Images)
	amount, _ := p.adjust(list, in.ChargedToday, in.UnixMS, nil)
	return abi.QuoteOut{Allow: true, Hold: amount}, nil
}

// Settle prices the usage at list price, then applies the allowance, the
// markup and the night discount as line items of their own.
func (p *policy) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	out := billing.ListPrice(in.Rate, in.Usage)
	out.Amount, out.Items = p.adjust(out.Amount, in.ChargedToday, in.UnixMS, out.Items)
	return out, nil
}

// adjust turns a list price into this policy's price, given the account's
// daily total before the call and the call's time, appending the
// adjustment lines to items.
func (p *policy) adjust(list, chargedToday, unixMS int64, items []abi.LineItem) (int64, []abi.LineItem) {
	left := p.dailyFree - min(max(chargedToday, 0), p.dailyFree) // never below 0
	free := min(list, left)
	rest := list - free
	marked := billing.MulDivCeil(rest, markupNum, markupDen)
	amount := marked
	if night(unixMS) {
		amount = billing.MulDivCeil(marked, 1, 2)
	}
	if free > 0 {
		items = append(items, abi.LineItem{Name: ItemFreeAllowance, Amount: -free})
	}
	if marked > rest {
		items = append(items, abi.LineItem{Name: ItemMarkup, Amount: marked - rest})
	}
	if amount < marked {
		items = append(items, abi.LineItem{Name: ItemNightDiscount, Amount: amount - marked})
	}
	return amount, items
}

// night reports whether unixMS (Unix milliseconds) falls between 00:00 and
// 06:00 UTC.
func night(unixMS int64) bool {
	ms := unixMS % msPerDay
	if ms < 0 {
		ms += msPerDay
	}
	return ms >= nightStartHour*msPerHour && ms < nightEndHour*msPerHour
}
