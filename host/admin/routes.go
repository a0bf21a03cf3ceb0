package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// routeTable lists every route of the admin API. The tests walk it, so
// that no route escapes the authentication and role checks' tests.
func (h *Handler) routeTable() []route {
	const p = "/api/admin"
	return []route{
		{"GET", p + "/providers", h.listProviders},
		{"POST", p + "/providers", h.createProvider},
		{"GET", p + "/providers/:name", h.getProvider},
		{"PATCH", p + "/providers/:name", h.updateProvider},
		{"DELETE", p + "/providers/:name", h.deleteProvider},

		{"GET", p + "/providers/:name/credentials", h.listCredentials},
		{"POST", p + "/providers/:name/credentials", h.addCredential},
		{"GET", p + "/providers/:name/credentials/:id", h.getCredential},
		{"PATCH", p + "/providers/:name/credentials/:id", h.updateCredential},
		{"DELETE", p + "/providers/:name/credentials/:id", h.deleteCredential},
		{"POST", p + "/providers/:name/credentials/:id/test", h.testCredential},

		{"GET", p + "/state", h.state},

		{"GET", p + "/model-rates", h.listRates},
		{"POST", p + "/model-rates", h.setRate},
		{"POST", p + "/model-rates/bulk", h.multiplyRates},
		{"GET", p + "/model-rates/*model", h.getRate},
		{"DELETE", p + "/model-rates/*model", h.deleteRate},

		{"GET", p + "/keys", h.listKeys},
		{"POST", p + "/keys", h.createKey},
		{"GET", p + "/keys/:id", h.getKey},
		{"PATCH", p + "/keys/:id", h.updateKey},
		{"DELETE", p + "/keys/:id", h.revokeKey},
		{"GET", p + "/keys/:id/usage", h.keyUsage},

		{"GET", p + "/accounts", h.listAccounts},
		{"POST", p + "/accounts", h.createAccount},
		{"GET", p + "/accounts/:id", h.getAccount},
		{"PATCH", p + "/accounts/:id", h.renameAccount},
		{"POST", p + "/accounts/:id/credits", h.grant},
		{"POST", p + "/accounts/:id/adjustments", h.adjust},
		{"GET", p + "/accounts/:id/ledger", h.ledger},
		{"GET", p + "/ledger/verify", h.verifyLedger},

		{"GET", p + "/usage", h.usage},
		{"GET", p + "/calls", h.calls},
		{"GET", p + "/calls/:request_id", h.call},

		{"GET", p + "/plugins", h.plugins},
		{"POST", p + "/plugins/:name/reload", h.reloadPlugin(false)},
		{"POST", p + "/plugins/:name/rollback", h.reloadPlugin(true)},
		{"GET", p + "/audit", h.audit},
	}
}

// list is the body of every list response.
type list[T any] struct {
	Data []T `json:"data"`
}

func okJSON(body any) (result, error) {
	return result{status: http.StatusOK, body: body}, nil
}

func createdJSON(body any) (result, error) {
	return result{status: http.StatusCreated, body: body}, nil
}

func noContent() (result, error) {
	return result{status: http.StatusNoContent}, nil
}

func listOf[T any](items []T, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	if items == nil {
		items = []T{}
	}
	return okJSON(list[T]{Data: items})
}

func one[T any](v T, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	return okJSON(v)
}

func createdOne[T any](v T, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	return createdJSON(v)
}

// id parses the path parameter name as a positive integer ID.
func id(ps httprouter.Params, name string) (int64, error) {
	v := ps.ByName(name)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, apierr.BadRequest(name, fmt.Sprintf("%s must be a positive integer; got %q.", name, v))
	}
	return n, nil
}

// query returns r's query, or a 400 if it has a parameter not in allowed
// or one given twice.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q := r.URL.Query()
	for k, vs := range q {
		if !slices.Contains(allowed, k) {
			return nil, apierr.BadRequest(k, fmt.Sprintf("Unknown query parameter %q.", k))
		}
		if len(vs) > 1 {
			return nil, apierr.BadRequest(k, fmt.Sprintf("Query parameter %q is given more than once.", k))
		}
	}
	return q, nil
}

// runtime returns the Runtime, or a 503 when there is none.
func (h *Handler) runtime() (Runtime, error) {
	if h.opts.Runtime == nil {
		return nil, apierr.Unavailable("The hub's runtime state is not available here.")
	}
	return h.opts.Runtime, nil
}

// --- providers

func (h *Handler) listProviders(r *http.Request, _ httprouter.Params) (result, error) {
	return listOf(h.opts.Manage.ListProviders(r.Context()))
}

func (h *Handler) createProvider(r *http.Request, _ httprouter.Params) (result, error) {
	var spec manage.ProviderSpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	return createdOne(h.opts.Manage.CreateProvider(r.Context(), spec))
}

func (h *Handler) getProvider(r *http.Request, ps httprouter.Params) (result, error) {
	return one(h.opts.Manage.Provider(r.Context(), ps.ByName("name")))
}

func (h *Handler) updateProvider(r *http.Request, ps httprouter.Params) (result, error) {
	var spec manage.ProviderSpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.UpdateProvider(r.Context(), ps.ByName("name"), spec))
}

func (h *Handler) deleteProvider(r *http.Request, ps httprouter.Params) (result, error) {
	if err := h.opts.Manage.DeleteProvider(r.Context(), ps.ByName("name")); err != nil {
		return result{}, err
	}
	return noContent()
}

// --- credentials

func (h *Handler) listCredentials(r *http.Request, ps httprouter.Params) (result, error) {
	return listOf(h.opts.Manage.Credentials(r.Context(), ps.ByName("name")))
}

func (h *Handler) addCredential(r *http.Request, ps httprouter.Params) (result, error) {
	var spec manage.CredentialSpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	return createdOne(h.opts.Manage.AddCredential(r.Context(), ps.ByName("name"), spec))
}

func (h *Handler) getCredential(r *http.Request, ps httprouter.Params) (result, error) {
	cid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.Credential(r.Context(), ps.ByName("name"), cid))
}

func (h *Handler) updateCredential(r *http.Request, ps httprouter.Params) (result, error) {
	cid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	var spec manage.CredentialSpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.UpdateCredential(r.Context(), ps.ByName("name"), cid, spec))
}

func (h *Handler) deleteCredential(r *http.Request, ps httprouter.Params) (result, error) {
	cid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	if err := h.opts.Manage.DeleteCredential(r.Context(), ps.ByName("name"), cid); err != nil {
		return result{}, err
	}
	return noContent()
}

// testCredential checks a credential against its upstream and audits the
// outcome as "credential.test" (the result holds no secret).
func (h *Handler) testCredential(r *http.Request, ps httprouter.Params) (result, error) {
	cid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	c, err := h.opts.Manage.Credential(r.Context(), ps.ByName("name"), cid)
	if err != nil {
		return result{}, err
	}
	rt, err := h.runtime()
	if err != nil {
		return result{}, err
	}
	res, err := rt.TestCredential(r.Context(), cid)
	if err != nil {
		return result{}, err
	}
	detail := map[string]any{"id": cid, "ok": res.OK, "status": res.Status, "method": res.Method, "latency_ms": res.Latency.Milliseconds()}
	if res.ErrorType != "" {
		detail["error_type"] = res.ErrorType
	}
	if err := h.opts.Manage.AppendAudit(r.Context(), "credential.test", c.Provider+"/"+c.Name, detail); err != nil {
		return result{}, err
	}
	return okJSON(res)
}

// --- state and plugins

func (h *Handler) state(_ *http.Request, _ httprouter.Params) (result, error) {
	rt, err := h.runtime()
	if err != nil {
		return result{}, err
	}
	return listOf(rt.ProviderStates(), nil)
}

func (h *Handler) plugins(_ *http.Request, _ httprouter.Params) (result, error) {
	rt, err := h.runtime()
	if err != nil {
		return result{}, err
	}
	return listOf(rt.Plugins(), nil)
}

// --- model rates

func (h *Handler) listRates(r *http.Request, _ httprouter.Params) (result, error) {
	return rateList(h.opts.Manage.ListRates(r.Context()))
}

// rateList is the list of the views of rates, or err.
func rateList(rates []store.ModelRate, err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	views := make([]manage.RateView, 0, len(rates))
	for _, rate := range rates {
		views = append(views, manage.NewRateView(rate))
	}
	return listOf(views, nil)
}

// setRate creates (201) or replaces (200) the rate of one model; its
// updated_at, if given, is ignored.
func (h *Handler) setRate(r *http.Request, _ httprouter.Params) (result, error) {
	var v manage.RateView
	if err := decode(r, &v); err != nil {
		return result{}, err
	}
	status := http.StatusOK
	if _, err := h.opts.Manage.Rate(r.Context(), v.Model); errors.Is(err, store.ErrNotFound) {
		status = http.StatusCreated
	}
	v.UpdatedAt = time.Time{}
	rate, err := h.opts.Manage.SetRate(r.Context(), v.ModelRate())
	if err != nil {
		return result{}, err
	}
	return result{status: status, body: manage.NewRateView(rate)}, nil
}

// rateModel is the *model path parameter: everything after
// /model-rates/, slashes included ("openai/gpt-4o").
func rateModel(ps httprouter.Params) (string, error) {
	m := strings.TrimPrefix(ps.ByName("model"), "/")
	if m == "" {
		return "", apierr.BadRequest("model", "The path must name a model: /api/admin/model-rates/MODEL.")
	}
	return m, nil
}

func (h *Handler) getRate(r *http.Request, ps httprouter.Params) (result, error) {
	m, err := rateModel(ps)
	if err != nil {
		return result{}, err
	}
	if m == UnpricedPath {
		return h.unpriced(r)
	}
	rate, err := h.opts.Manage.Rate(r.Context(), m)
	if err != nil {
		return result{}, err
	}
	return okJSON(manage.NewRateView(rate))
}

func (h *Handler) deleteRate(r *http.Request, ps httprouter.Params) (result, error) {
	m, err := rateModel(ps)
	if err != nil {
		return result{}, err
	}
	if err := h.opts.Manage.DeleteRate(r.Context(), m); err != nil {
		return result{}, err
	}
	return noContent()
}

// --- keys

func (h *Handler) listKeys(r *http.Request, _ httprouter.Params) (result, error) {
	q, err := query(r, "account_id")
	if err != nil {
		return result{}, err
	}
	var account int64
	if v := q.Get("account_id"); v != "" {
		if account, err = strconv.ParseInt(v, 10, 64); err != nil || account <= 0 {
			return result{}, apierr.BadRequest("account_id", fmt.Sprintf("account_id must be a positive integer; got %q.", v))
		}
	}
	return listOf(h.opts.Manage.ListKeys(r.Context(), account))
}

// createdKey is the answer to a key creation: the key, shown this once,
// and its view.
type createdKey struct {
	Key string `json:"key"`
	manage.KeyView
}

func (h *Handler) createKey(r *http.Request, _ httprouter.Params) (result, error) {
	var spec manage.KeySpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	key, v, err := h.opts.Manage.CreateKey(r.Context(), spec)
	if err != nil {
		return result{}, err
	}
	return createdJSON(createdKey{Key: key, KeyView: v})
}

func (h *Handler) getKey(r *http.Request, ps httprouter.Params) (result, error) {
	kid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.Key(r.Context(), kid))
}

func (h *Handler) updateKey(r *http.Request, ps httprouter.Params) (result, error) {
	kid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	var spec manage.KeySpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.UpdateKey(r.Context(), kid, spec))
}

func (h *Handler) revokeKey(r *http.Request, ps httprouter.Params) (result, error) {
	kid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	if err := h.opts.Manage.RevokeKey(r.Context(), kid); err != nil {
		return result{}, err
	}
	return noContent()
}

// KeyUsage is a key's use in the current limits window next to its
// limits, for GET /api/admin/keys/:id/usage.
type KeyUsage struct {
	KeyID int64 `json:"key_id"`
	// WindowSeconds is the length of the sliding window Requests and
	// Tokens count over.
	WindowSeconds int   `json:"window_seconds"`
	Requests      int64 `json:"requests"`
	Tokens        int64 `json:"tokens"`
	InFlight      int   `json:"in_flight"`
	// The key's limits; 0 means unlimited.
	RPM            int `json:"rpm"`
	TPM            int `json:"tpm"`
	MaxConcurrency int `json:"max_concurrency"`
}

func (h *Handler) keyUsage(r *http.Request, ps httprouter.Params) (result, error) {
	kid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	k, err := h.opts.Manage.Key(r.Context(), kid)
	if err != nil {
		return result{}, err
	}
	rt, err := h.runtime()
	if err != nil {
		return result{}, err
	}
	u := rt.KeyUsage(kid)
	return okJSON(KeyUsage{
		KeyID: kid, WindowSeconds: 60,
		Requests: u.Requests, Tokens: u.Tokens, InFlight: u.InFlight,
		RPM: k.RPM, TPM: k.TPM, MaxConcurrency: k.MaxConcurrency,
	})
}

// --- accounts

// accountBody is the body of an account's creation or rename.
type accountBody struct {
	Name string `json:"name"`
}

func (h *Handler) listAccounts(r *http.Request, _ httprouter.Params) (result, error) {
	return listOf(h.opts.Manage.ListAccounts(r.Context()))
}

func (h *Handler) createAccount(r *http.Request, _ httprouter.Params) (result, error) {
	var b accountBody
	if err := decode(r, &b); err != nil {
		return result{}, err
	}
	return createdOne(h.opts.Manage.CreateAccount(r.Context(), b.Name))
}

func (h *Handler) getAccount(r *http.Request, ps httprouter.Params) (result, error) {
	aid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.Account(r.Context(), aid))
}

func (h *Handler) renameAccount(r *http.Request, ps httprouter.Params) (result, error) {
	aid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	var b accountBody
	if err := decode(r, &b); err != nil {
		return result{}, err
	}
	return one(h.opts.Manage.RenameAccount(r.Context(), aid, b.Name))
}

// --- audit

// auditPage is the answer to GET /api/admin/audit.
type auditPage struct {
	Data []manage.AuditView `json:"data"`
	// NextBefore, when set, is the before= value of the next (older)
	// page; absent when this page is the last.
	NextBefore int64 `json:"next_before,omitempty"`
}

// Audit paging bounds, as the store applies them.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

func (h *Handler) audit(r *http.Request, _ httprouter.Params) (result, error) {
	q, err := query(r, "since", "until", "action", "actor", "target", "before", "limit")
	if err != nil {
		return result{}, err
	}
	f := store.AuditFilter{Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target")}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(t.name); v != "" {
			if *t.to, err = time.Parse(time.RFC3339, v); err != nil {
				return result{}, apierr.BadRequest(t.name, fmt.Sprintf("%s must be an RFC 3339 time like 2025-01-02T15:04:05Z; got %q.", t.name, v))
			}
		}
	}
	for _, n := range []struct {
		name  string
		least int64
		to    func(int64)
	}{
		{"before", 1, func(v int64) { f.BeforeID = v }},
		{"limit", 1, func(v int64) { f.Limit = int(min(v, maxAuditLimit)) }},
	} {
		if v := q.Get(n.name); v != "" {
			i, err := strconv.ParseInt(v, 10, 64)
			if err != nil || i < n.least {
				return result{}, apierr.BadRequest(n.name, fmt.Sprintf("%s must be a positive integer; got %q.", n.name, v))
			}
			n.to(i)
		}
	}
	entries, err := h.opts.Manage.ListAudit(r.Context(), f)
	if err != nil {
		return result{}, err
	}
	page := auditPage{Data: make([]manage.AuditView, 0, len(entries))}
	for _, e := range entries {
		page.Data = append(page.Data, manage.NewAuditView(e))
	}
	limit := f.Limit
	if limit == 0 {
		limit = defaultAuditLimit
	}
	if len(entries) == limit {
		page.NextBefore = entries[len(entries)-1].ID
	}
	return okJSON(page)
}
