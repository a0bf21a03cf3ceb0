package proxy

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tidwall/gjson"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

// maxModelList bounds an upstream model-list body.
const maxModelList = 8 << 20

// ListModels asks p's upstream for its models through the plugin's
// "models" API (e.g. Ollama's /api/tags) and returns their ids. The call is
// not recorded: it is the hub's own, not a client's.
func (e *Engine) ListModels(ctx context.Context, p *Provider) ([]string, error) {
	if !slices.Contains(p.Plugin.Manifest().APIs, abi.APIModels) {
		return nil, fmt.Errorf("provider %s: its plugin cannot list models", p.Name)
	}
	options := p.Options
	if options == nil {
		options = emptyObject
	}
	out, err := p.Plugin.Request(ctx, &abi.RequestIn{API: abi.APIModels, RequestID: "list-models-" + p.Name,
		Provider: p.Name, Options: options, UnixMS: time.Now().UnixMilli()})
	if err != nil {
		return nil, err
	}
	x := &exchange{e: e, c: &Call{}, rec: &store.Call{}}
	req, err := x.newUpstreamRequest(ctx, p, &out)
	if err != nil {
		return nil, err
	}
	resp, err := e.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxModelList {
		return nil, fmt.Errorf("provider %s: model list over %d bytes", p.Name, maxModelList)
	}
	ro, err := p.Plugin.Response(ctx, &abi.ResponseIn{State: out.State, Status: uint32(resp.StatusCode), Headers: upstreamHeaders(resp.Header), Body: body})
	if err != nil {
		return nil, apierr.From(err)
	}
	var ids []string
	gjson.GetBytes(ro.Body, "data").ForEach(func(_, m gjson.Result) bool {
		if id := m.Get("id").String(); id != "" {
			ids = append(ids, id)
		}
		return true
	})
	return ids, nil
}
