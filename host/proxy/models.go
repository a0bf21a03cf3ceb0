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

// maxModelList bounds an upstream model-list body (and a probe's answer).
const maxModelList = 8 << 20

// ListModels asks p's upstream for its models through the plugin's
// "models" API (e.g. Ollama's /api/tags) and returns their ids. The call is
// not recorded: it is the hub's own, not a client's.
func (e *Engine) ListModels(ctx context.Context, p *Provider) ([]string, error) {
	if !slices.Contains(p.Plugin.Manifest().APIs, abi.APIModels) {
		return nil, fmt.Errorf("provider %s: its plugin cannot list models", p.Name)
	}
	idx, perr := p.pick(p.now())
	if perr != nil {
		return nil, perr
	}
	ro, _, err := e.probe(ctx, p, idx, abi.APIModels, "", nil)
	if err != nil {
		return nil, err
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

// probe makes one unrecorded upstream call of the hub's own (a model
// list, a credential check) with the credential at idx and returns the
// plugin's answer and the upstream's status.
func (e *Engine) probe(ctx context.Context, p *Provider, idx int, api, model string, body []byte) (abi.ResponseOut, int, error) {
	options := p.Options
	if options == nil {
		options = emptyObject
	}
	out, err := p.Plugin.Request(ctx, &abi.RequestIn{API: api, Model: model, RequestID: "hub-" + api + "-" + p.Name, Body: body,
		Provider: p.Name, Options: options, UnixMS: time.Now().UnixMilli()})
	if err != nil {
		return abi.ResponseOut{}, 0, err
	}
	x := &exchange{e: e, c: &Call{}, rec: &store.Call{}}
	req, err := x.newUpstreamRequest(ctx, p, idx, &out)
	if err != nil {
		return abi.ResponseOut{}, 0, err
	}
	resp, err := e.opts.Client.Do(req)
	if err != nil {
		redactURL(err)
		return abi.ResponseOut{}, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxModelList+1))
	if err != nil {
		return abi.ResponseOut{}, resp.StatusCode, err
	}
	if len(raw) > maxModelList {
		return abi.ResponseOut{}, resp.StatusCode, fmt.Errorf("provider %s: answer over %d bytes", p.Name, maxModelList)
	}
	ro, err := p.Plugin.Response(ctx, &abi.ResponseIn{State: out.State, Status: uint32(resp.StatusCode), Headers: upstreamHeaders(resp.Header), Body: raw})
	if err != nil {
		return abi.ResponseOut{}, resp.StatusCode, apierr.From(err)
	}
	return ro, resp.StatusCode, nil
}

// CheckResult is the outcome of a credential check.
type CheckResult struct {
	OK bool `json:"ok"`
	// Status is the upstream's HTTP status (0 when it was not reached).
	Status int `json:"status"`
	// Method says how the check was made: "models" (listing models, free)
	// or "chat" (a one-token completion with the provider's first model).
	Method    string        `json:"method"`
	Latency   time.Duration `json:"latency_ns"`
	Error     string        `json:"error,omitempty"`
	ErrorType string        `json:"error_type,omitempty"`
}

// CheckCredential tests one credential of p (by its index in
// p.Credentials) against the upstream: through the plugin's models API
// when it has one, else with a one-token chat completion of the provider's
// first listed model. The error text never contains the secret: it is the
// plugin's normalized, client-safe message.
func (e *Engine) CheckCredential(ctx context.Context, p *Provider, idx int) CheckResult {
	var res CheckResult
	start := time.Now()
	var err error
	switch {
	case slices.Contains(p.Plugin.Manifest().APIs, abi.APIModels):
		res.Method = "models"
		_, res.Status, err = e.probe(ctx, p, idx, abi.APIModels, "", nil)
	default:
		res.Method = "chat"
		model := ""
		for _, m := range e.Router().ModelsOf(p) {
			if m != AnyModel {
				model = m
				break
			}
		}
		if model == "" {
			res.Error = "the provider lists no model to test with and its plugin cannot list models"
			return res
		}
		body := []byte(`{"model":` + quote(model) + `,"messages":[{"role":"user","content":"ping"}],"max_tokens":1}`)
		_, res.Status, err = e.probe(ctx, p, idx, abi.APIChatCompletions, model, body)
	}
	res.Latency = time.Since(start)
	if err != nil {
		ae := apierr.From(err)
		res.Error, res.ErrorType = ae.Message, ae.Type
		return res
	}
	res.OK = res.Status >= 200 && res.Status <= 299
	return res
}

func quote(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf(`\u%04x`, c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// RunHealthChecks re-validates disabled credentials in the background until
// ctx is done: every interval, each credential disabled by a 401/403 whose
// backoff has passed is checked (CheckCredential); one that works is
// re-enabled, one still refused waits twice as long. A check that cannot
// tell (the upstream is down, or nothing to test with) re-enables the
// credential on probation: the next real call decides, and a refusal then
// disables it again with a longer backoff.
func (e *Engine) RunHealthChecks(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.checkDisabled(ctx)
	}
}

func (e *Engine) checkDisabled(ctx context.Context) {
	r := e.Router()
	for _, p := range r.providers {
		if p.credHealth == nil {
			continue
		}
		for i := range p.Credentials {
			if !p.dueForCheck(i, p.now()) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			res := e.CheckCredential(cctx, p, i)
			cancel()
			switch {
			case res.OK:
				p.enable(i, false)
				e.opts.Logger.Info("credential re-enabled: check passed", "provider", p.Name, "credential", p.Credentials[i].Name)
			case res.Status == 401 || res.Status == 403:
				p.checkFailed(i, "the provider still refuses the credential ("+fmt.Sprint(res.Status)+")")
			default:
				p.enable(i, true)
				e.opts.Logger.Info("credential re-enabled on probation", "provider", p.Name, "credential", p.Credentials[i].Name,
					"check_status", res.Status)
			}
		}
	}
}
