package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// credits is the default policy. It has no configuration: the operator
// prices models through the hub's model rates. items is the buffer of its
// line items, reused from call to call (the SDK encodes them before the
// next call).
type credits struct{ items []abi.LineItem }

func (*credits) Manifest() abi.Manifest {
	return abi.Manifest{
		Kind:        abi.KindBilling,
		Name:        "credits",
		Version:     "1.0.0",
		Description: "Exact credit billing at the model's rate: a worst-case hold before the call, line items after it.",
	}
}

func (*credits) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	if !in.Rate.Found {
		return unpriced(in), nil
	}
	return abi.QuoteOut{Allow: true, Hold: billing.WorstCase(in.Rate, in.EstInputTokens, in.MaxOutputTokens, in.Images)}, nil
}

func (c *credits) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	out := billing.ListPriceInto(c.items, in.Rate, in.Usage)
	c.items = out.Items
	return out, nil
}

// unpriced refuses a call to a model without a rate. The model is named as
// the operator prices it, "provider/model".
func unpriced(in *abi.QuoteIn) abi.QuoteOut {
	model := in.Model
	if in.Provider != "" {
		model = in.Provider + "/" + in.Model
	}
	return abi.QuoteOut{Code: abi.CodeUnpricedModel, Reason: "model " + model + " has no rate; ask an administrator to set one"}
}
