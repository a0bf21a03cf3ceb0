package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/sdk/abi"
)

// Model discovery: a provider configured without models serves what its
// upstream lists (Ollama's /api/tags, OpenAI's /models, ...), asked through
// the plugin's "models" API.
const (
	discoverTimeout = 5 * time.Second  // one attempt, at start or later
	discoverRetry   = 30 * time.Second // after a failed attempt
	discoverRefresh = 10 * time.Minute // after a successful one
)

// checkDiscoverable fails the start when a provider without models has a
// plugin that cannot list them.
func checkDiscoverable(p *proxy.Provider) error {
	if len(p.Models) == 0 && !slices.Contains(p.Plugin.Manifest().APIs, abi.APIModels) {
		return fmt.Errorf("provider %s: no models are configured and its plugin cannot list the upstream's (it does not serve %q): list them in models", p.Name, abi.APIModels)
	}
	return nil
}

// discoverModels lists the models of every provider of r configured
// without any, once now unless r already has them (carried over by a
// reload) — bounded, so an unreachable upstream does not hold the start:
// that provider serves nothing until a later attempt succeeds — then keeps
// them fresh in the background until ctx ends or the next reload replaces r.
func (h *Hub) discoverModels(ctx context.Context, r *proxy.Router) {
	h.discoverMu.Lock()
	if h.stopDiscover != nil {
		h.stopDiscover()
	}
	ctx, h.stopDiscover = context.WithCancel(ctx)
	h.discoverMu.Unlock()
	for _, p := range r.Providers() {
		if len(p.Models) > 0 {
			continue
		}
		ok := len(r.ModelsOf(p)) > 0
		if !ok {
			ok = h.discoverOnce(ctx, r, p)
		}
		go func() {
			for {
				wait := discoverRetry
				if ok {
					wait = discoverRefresh
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
				ok = h.discoverOnce(ctx, r, p)
			}
		}()
	}
}

func (h *Hub) discoverOnce(ctx context.Context, r *proxy.Router, p *proxy.Provider) bool {
	actx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	ids, err := h.engine.ListModels(actx, p)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Warn("model discovery failed; retrying", "provider", p.Name, "err", err, "retry_in", discoverRetry)
		}
		return false
	}
	r.SetModels(p.Name, ids)
	h.log.Info("models discovered", "provider", p.Name, "models", len(ids))
	return true
}
