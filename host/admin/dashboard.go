package admin

// The routes the dashboard needs beyond the original admin and user APIs:
// bulk rate changes and the unpriced models (admin), a user key's own keys
// and one call by request ID (user), and the wait for a call's record.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/limits"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// callWait bounds how long a call asked for by request ID is waited for
// when it is not recorded yet: its response may have just ended, with
// its record still on the way to the recorder.
const callWait = 2 * time.Second

// findCall returns the call with the given request ID, flushing the
// recorder and looking again for up to callWait when it is not in the
// database yet.
func (c *core) findCall(ctx context.Context, requestID string) (manage.CallView, error) {
	deadline := time.Now().Add(callWait)
	for {
		v, err := c.opts.Manage.Call(ctx, requestID)
		if !errors.Is(err, store.ErrNotFound) || c.opts.Recorder == nil || time.Now().After(deadline) {
			return v, err
		}
		if err := c.opts.Recorder.Flush(ctx); err != nil {
			return manage.CallView{}, err
		}
		if v, err := c.opts.Manage.Call(ctx, requestID); !errors.Is(err, store.ErrNotFound) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return manage.CallView{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// --- admin: rates

// UnpricedPath is the last segment of GET /api/admin/model-rates/unpriced,
// which lists the models no rate prices (so a model called "unpriced" has
// its rate read through the listing of every rate).
const UnpricedPath = "unpriced"

// bulkRates is the body of POST /api/admin/model-rates/bulk.
type bulkRates struct {
	// Models are the rates to change, by their exact model; or All.
	Models []string `json:"models"`
	All    bool     `json:"all"`
	// Multiply is the exact decimal factor, as a string: "1.10".
	Multiply string `json:"multiply"`
}

// multiplyRates is POST /api/admin/model-rates/bulk: every amount of the
// chosen rates times an exact factor, in one audited transaction.
func (h *Handler) multiplyRates(r *http.Request, _ httprouter.Params) (result, error) {
	var b bulkRates
	if err := decode(r, &b); err != nil {
		return result{}, err
	}
	return rateList(h.opts.Manage.MultiplyRates(r.Context(), b.Models, b.All, b.Multiply))
}

// Unpriced is a model the hub routes that no rate prices, for
// GET /api/admin/model-rates/unpriced: calls to it are refused (400
// unpriced_model) while billing is on.
type Unpriced struct {
	// Model is "provider/model", the rate that would price it on that
	// provider alone; a rate for Name prices it on every provider.
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Name     string `json:"name"`
}

// unpriced lists the routed models without a rate of their own
// ("provider/model") or of their bare name.
func (h *Handler) unpriced(r *http.Request) (result, error) {
	if _, err := query(r); err != nil {
		return result{}, err
	}
	if h.opts.Models == nil {
		return result{}, apierr.Unavailable("The hub's routed models are not available here.")
	}
	rates, err := h.opts.Manage.ListRates(r.Context())
	if err != nil {
		return result{}, err
	}
	priced := make(map[string]bool, len(rates))
	for _, rate := range rates {
		priced[rate.Model] = true
	}
	var out []Unpriced
	for _, m := range h.opts.Models() {
		if !priced[m.ID] && !priced[m.Model] {
			out = append(out, Unpriced{Model: m.ID, Provider: m.Provider, Name: m.Model})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return listOf(out, nil)
}

// --- user: the caller's own keys and calls

// The paths of the user API's keys and single call.
const (
	UserKeysPath = "/api/keys"
	UserKeyPath  = "/api/keys/:id"
	UserCallPath = "/api/calls/:request_id"
)

// withActor audits the caller's changes as its own key's.
func withActor(r *http.Request, k store.APIKey) context.Context {
	return store.WithActor(r.Context(), store.Actor{Name: fmt.Sprintf("key:%d:%s", k.ID, k.Prefix), KeyID: k.ID})
}

// listOwnKeys is GET /api/keys: the keys of the caller's account, never
// their secrets.
func (u *userHandler) listOwnKeys(r *http.Request, _ httprouter.Params) (result, error) {
	if _, err := query(r); err != nil {
		return result{}, err
	}
	return listOf(u.opts.Manage.ListKeys(r.Context(), caller(r.Context()).AccountID))
}

// createOwnKey is POST /api/keys: a user key in the caller's account that
// can do no more than the caller. Its allowed models must be within the
// caller's (default: the caller's), its limits at most the caller's
// (default: the caller's), and it expires no later than the caller
// (default: with it).
func (u *userHandler) createOwnKey(r *http.Request, _ httprouter.Params) (result, error) {
	k := caller(r.Context())
	var spec manage.KeySpec
	if err := decode(r, &spec); err != nil {
		return result{}, err
	}
	if spec.Role != "" && spec.Role != store.RoleUser {
		return result{}, apierr.BadRequest("role", `A key created here has the role "user".`)
	}
	if spec.AccountID != 0 {
		if err := ownAccount(k, spec.AccountID); err != nil {
			return result{}, err
		}
	}
	if spec.Account != "" {
		return result{}, apierr.BadRequest("account", "A key created here belongs to the caller's account: give no account.")
	}
	spec.Role, spec.AccountID = store.RoleUser, k.AccountID
	if err := withinCaller(k, &spec); err != nil {
		return result{}, err
	}
	key, v, err := u.opts.Manage.CreateKey(withActor(r, k), spec)
	if err != nil {
		return result{}, err
	}
	return createdJSON(createdKey{Key: key, KeyView: v})
}

// withinCaller narrows spec to what the caller k may grant, or refuses it.
func withinCaller(k store.APIKey, spec *manage.KeySpec) error {
	if len(k.AllowedModels) > 0 {
		switch {
		case spec.AllowedModels == nil || len(*spec.AllowedModels) == 0:
			models := append([]string(nil), k.AllowedModels...)
			spec.AllowedModels = &models
		default:
			for _, m := range *spec.AllowedModels {
				if !limits.ModelAllowed(k.AllowedModels, m) {
					return apierr.BadRequest("allowed_models", fmt.Sprintf("%q is outside this key's own allowed models.", m))
				}
			}
		}
	}
	for _, l := range []struct {
		field string
		mine  int
		v     **int
	}{{"rpm", k.RPM, &spec.RPM}, {"tpm", k.TPM, &spec.TPM}, {"max_concurrency", k.MaxConcurrency, &spec.MaxConcurrency}} {
		if l.mine == 0 {
			continue
		}
		switch {
		case *l.v == nil || **l.v == 0:
			mine := l.mine
			*l.v = &mine
		case **l.v > l.mine:
			return apierr.BadRequest(l.field, fmt.Sprintf("%s may be at most this key's own, %d.", l.field, l.mine))
		}
	}
	if !k.ExpiresAt.IsZero() {
		switch {
		case spec.ExpiresIn == "never" || spec.ExpiresIn == "0":
			return apierr.BadRequest("expires_in", "This key expires, so a key it creates must expire too.")
		case spec.ExpiresIn != "":
			d, err := time.ParseDuration(spec.ExpiresIn)
			if err == nil && time.Now().Add(d).After(k.ExpiresAt) {
				return apierr.BadRequest("expires_in", "A key created here may not outlive this key ("+k.ExpiresAt.UTC().Format(time.RFC3339)+").")
			}
		case spec.ExpiresAt != nil:
			if spec.ExpiresAt.After(k.ExpiresAt) {
				return apierr.BadRequest("expires_at", "A key created here may not outlive this key ("+k.ExpiresAt.UTC().Format(time.RFC3339)+").")
			}
		default:
			at := k.ExpiresAt
			spec.ExpiresAt = &at
		}
	}
	return nil
}

// ownKey returns the key with the given id if it is in the caller's
// account; a 404 otherwise, as if it did not exist.
func (u *userHandler) ownKey(r *http.Request, ps httprouter.Params) (manage.KeyView, error) {
	kid, err := id(ps, "id")
	if err != nil {
		return manage.KeyView{}, err
	}
	v, err := u.opts.Manage.Key(r.Context(), kid)
	if errors.Is(err, store.ErrNotFound) || err == nil && v.AccountID != caller(r.Context()).AccountID {
		return manage.KeyView{}, apierr.NotFound(fmt.Sprintf("No API key %d in this account.", kid))
	}
	return v, err
}

// revokeOwnKey is DELETE /api/keys/:id: revokes a key of the caller's
// account (the caller itself included). A user key may not revoke an
// admin key.
func (u *userHandler) revokeOwnKey(r *http.Request, ps httprouter.Params) (result, error) {
	k := caller(r.Context())
	v, err := u.ownKey(r, ps)
	if err != nil {
		return result{}, err
	}
	if v.Role == store.RoleAdmin && k.Role != store.RoleAdmin {
		return result{}, apierr.Forbidden("A user key may not revoke an admin key.")
	}
	if err := u.opts.Manage.RevokeKey(withActor(r, k), v.ID); err != nil {
		return result{}, err
	}
	return noContent()
}

// ownCall is GET /api/calls/:request_id: one call of the caller's
// account, with its attempts and charge, waiting briefly for the record
// of a call that has just ended. Another account's call is a 404.
// Credential IDs are not shown.
func (u *userHandler) ownCall(r *http.Request, ps httprouter.Params) (result, error) {
	if _, err := query(r); err != nil {
		return result{}, err
	}
	reqID := ps.ByName("request_id")
	v, err := u.findCall(r.Context(), reqID)
	if errors.Is(err, store.ErrNotFound) || err == nil && v.AccountID != caller(r.Context()).AccountID {
		return result{}, apierr.NotFound(fmt.Sprintf("No call %q in this account.", reqID))
	}
	if err != nil {
		return result{}, err
	}
	v.CredentialID = 0
	for i := range v.Attempts {
		v.Attempts[i].CredentialID = 0
	}
	return okJSON(v)
}
