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

// discoverModels lists the models of every provider configured without
// any, once now (bounded, so an unreachable upstream does not hold the
// start: that provider serves nothing until a later attempt succeeds), then
// keeps them fresh in the background until ctx ends.
func (h *Hub) discoverModels(ctx context.Context, providers []*proxy.Provider) {
	for _, p := range providers {
		if len(p.Models) > 0 {
			continue
		}
		ok := h.discoverOnce(ctx, p)
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
				ok = h.discoverOnce(ctx, p)
			}
		}()
	}
}

func (h *Hub) discoverOnce(ctx context.Context, p *proxy.Provider) bool {
	actx, cancel := context.WithTimeout(ctx, discoverTimeout)
	defer cancel()
	ids, err := h.engine.ListModels(actx, p)
	if err != nil {
		h.log.Warn("model discovery failed; retrying", "provider", p.Name, "err", err, "retry_in", discoverRetry)
		return false
	}
	h.engine.Router().SetModels(p.Name, ids)
	h.log.Info("models discovered", "provider", p.Name, "models", len(ids))
	return true
}
