package main

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// credits is the default policy. It has no configuration: the operator
// prices models through the hub's model rates.
type credits struct{}

func (credits) Manifest() abi.Manifest {
	return abi.Manifest{
		Kind:        abi.KindBilling,
		Name:        "credits",
		Version:     "1.0.0",
		Description: "Exact credit billing at the model's rate: a worst-case hold before the call, line items after it.",
	}
}

func (credits) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	if !in.Rate.Found {
		return unpriced(in), nil
	}
	return abi.QuoteOut{Allow: true, Hold: billing.WorstCase(in.Rate, in.EstInputTokens, in.MaxOutputTokens, in.Images)}, nil
}

func (credits) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	return billing.ListPrice(in.Rate, in.Usage), nil
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
