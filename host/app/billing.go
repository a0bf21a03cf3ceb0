package app

import (
	"context"
	"fmt"

	"github.com/aignehub/hub/host/billing"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// seedRates writes [billing.rates] into model_rates: the file wins for the
// models it names; rates set through the API for other models are kept.
func (h *Hub) seedRates(ctx context.Context) error {
	ctx = store.WithActor(ctx, configActor)
	for model, r := range h.cfg.Billing.Rates {
		_, err := h.store.SetModelRate(ctx, store.ModelRate{Model: model, InputPerM: r.Input.Micro(), OutputPerM: r.Output.Micro(),
			CachedReadPerM: r.CachedRead.Micro(), CacheWritePerM: r.CacheWrite.Micro(), PerImage: r.PerImage.Micro(), MinPerCall: r.MinPerCall.Micro()})
		if err != nil {
			return fmt.Errorf("seed rate %s: %w", model, err)
		}
	}
	return nil
}

// startBilling seeds rates and, with billing on, loads the policy plugin,
// releases the holds a previous process left, and starts the ledger writer.
// It returns nil (no billing) when billing is off.
func (h *Hub) startBilling(ctx context.Context) (proxy.Billing, error) {
	if err := h.seedRates(ctx); err != nil {
		return nil, err
	}
	b := h.cfg.Billing
	if !b.Enabled {
		return nil, nil
	}
	entry, _ := h.cfg.BillingPlugin()
	pol, err := h.loadPlugin(ctx, entry)
	if err != nil {
		return nil, fmt.Errorf("billing policy: %w", err)
	}
	if k := pol.Manifest().Kind; k != abi.KindBilling {
		return nil, fmt.Errorf("billing policy: plugin %s is a %s plugin, not a billing plugin", entry.Name, k)
	}
	// The biller holds a handle, not the version: a reload of the policy
	// swaps the version behind it (see reload.go).
	pol.slot.mu.Lock()
	pol.slot.billing = true
	pol.slot.mu.Unlock()
	biller := billing.New(billing.Options{Store: h.store, Policy: policyHandle{pol.slot}, Strict: b.Durability == config.DurabilityStrict,
		RecordCarries: true, FlushRecords: h.recorder.Flush, DefaultMaxOutputTokens: int64(b.DefaultMaxOutputTokens), Logger: h.log})
	n, err := biller.Recover(ctx)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		h.log.Warn("released credit holds left by a previous run", "holds", n)
	}
	if err := biller.LoadRates(ctx); err != nil {
		return nil, fmt.Errorf("load rates: %w", err)
	}
	h.biller = biller // Close waits for Run: set only once it runs
	go biller.Run(h.bgCtx)
	h.log.Info("billing on", "policy", entry.Name, "durability", b.Durability)
	return h.biller, nil
}
