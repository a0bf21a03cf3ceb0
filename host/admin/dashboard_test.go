package admin

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/store"
)

// withDashboard serves the admin and user APIs of x again with the
// options only the dashboard's routes use.
func withDashboard(t *testing.T, x *hub, rec Flusher, models func() []proxy.ModelInfo) {
	t.Helper()
	opts := Options{Auth: x.auth, Manage: x.svc, Runtime: x.rt, Recorder: rec, Models: models}
	x.srv = httptest.NewServer(New(opts))
	t.Cleanup(x.srv.Close)
	x.userSrv = httptest.NewServer(NewUser(opts))
	t.Cleanup(x.userSrv.Close)
}

func TestBulkRates(t *testing.T) {
	x := newHub(t, hubOpts{})
	set := func(model string, in, out, img, min int64) {
		t.Helper()
		x.do("POST", "/api/admin/model-rates", x.admin, map[string]any{"model": model, "input_per_m": in, "output_per_m": out, "per_image": img, "min_per_call": min}).ok(t, 201, nil)
	}
	set("openai/gpt-4o", 2_500_000, 10_000_000, 0, 5)
	set("gpt-4o-mini", 150_000, 600_000, 0, 15)
	set("dall-e-3", 0, 0, 40_000, 1)

	var got list[manage.RateView]
	x.do("POST", "/api/admin/model-rates/bulk", x.admin, map[string]any{"models": []string{"openai/gpt-4o", "gpt-4o-mini"}, "multiply": "1.1"}).ok(t, 200, &got)
	// exact: 2_500_000 × 1.1 = 2_750_000, 5 × 1.1 = 5.5 → 6, 15 × 1.1 = 16.5 → 17 (halves up)
	if len(got.Data) != 2 || got.Data[0].Model != "openai/gpt-4o" || got.Data[0].InputPerM != 2_750_000 || got.Data[0].OutputPerM != 11_000_000 ||
		got.Data[0].MinPerCall != 6 || got.Data[1].InputPerM != 165_000 || got.Data[1].OutputPerM != 660_000 || got.Data[1].MinPerCall != 17 {
		t.Errorf("bulk = %+v", got.Data)
	}
	// dall-e-3 untouched
	var img manage.RateView
	x.do("GET", "/api/admin/model-rates/dall-e-3", x.admin, nil).ok(t, 200, &img)
	if img.PerImage != 40_000 {
		t.Errorf("unselected rate changed: %+v", img)
	}

	// all, with a factor below one: 40_000 × 0.333333 = 13_333.32 → 13_333; 1 × 0.333333 → 0
	x.do("POST", "/api/admin/model-rates/bulk", x.admin, map[string]any{"all": true, "multiply": "0.333333"}).ok(t, 200, &got)
	if len(got.Data) != 3 || got.Data[0].Model != "dall-e-3" || got.Data[0].PerImage != 13_333 || got.Data[0].MinPerCall != 0 ||
		got.Data[2].InputPerM != 916_666 { // 2_750_000 × 0.333333 = 916_665.75
		t.Errorf("bulk all = %+v", got.Data)
	}

	// Refusals change nothing.
	before := x.do("GET", "/api/admin/model-rates", x.admin, nil).body
	for _, tc := range []struct {
		body  any
		param string
	}{
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": 1.1}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": "1.1e2"}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": "-1"}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": "0"}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": "1.1234567"}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "multiply": ""}, "multiply"},
		{map[string]any{"models": []string{"gpt-4o-mini", "nope"}, "multiply": "2"}, "models"},
		{map[string]any{"models": []string{"gpt-4o-mini", "gpt-4o-mini"}, "multiply": "2"}, "models"},
		{map[string]any{"multiply": "2"}, "models"},
		{map[string]any{"models": []string{"gpt-4o-mini"}, "all": true, "multiply": "2"}, "models"},
	} {
		r := x.do("POST", "/api/admin/model-rates/bulk", x.admin, tc.body)
		if tc.param == "multiply" && r.status == 400 && strings.Contains(string(r.body), "must be a string") {
			continue // a JSON number is refused by the decoder
		}
		r.fails(t, 400, "invalid_request_error", tc.param, "")
	}
	set("big", 1<<62, 0, 0, 0)
	x.do("POST", "/api/admin/model-rates/bulk", x.admin, map[string]any{"all": true, "multiply": "4"}).fails(t, 400, "invalid_request_error", "multiply", "")
	x.do("DELETE", "/api/admin/model-rates/big", x.admin, nil).ok(t, 204, nil)
	if after := x.do("GET", "/api/admin/model-rates", x.admin, nil).body; string(after) != string(before) {
		t.Errorf("a refused bulk change wrote:\n%s\n%s", before, after)
	}

	// Audited, per rate, with the factor, as the admin key.
	es, err := x.svc.ListAudit(context.Background(), store.AuditFilter{Action: "rate.set", Target: "dall-e-3"})
	if err != nil || len(es) != 2 || es[0].Actor != x.actor() || !strings.Contains(string(es[0].Detail), `"multiply":"0.333333"`) {
		t.Errorf("audit %+v, %v", es, err)
	}
	// A user key may not.
	x.do("POST", "/api/admin/model-rates/bulk", x.user, map[string]any{"all": true, "multiply": "2"}).fails(t, 403, "permission_error", "", "")
}

func TestUnpriced(t *testing.T) {
	x := newHub(t, hubOpts{})
	x.do("GET", "/api/admin/model-rates/unpriced", x.admin, nil).fails(t, 503, "service_unavailable", "", "")
	withDashboard(t, x, nil, func() []proxy.ModelInfo {
		return []proxy.ModelInfo{
			{ID: "openai/gpt-4o", Provider: "openai", Model: "gpt-4o"},
			{ID: "openai/gpt-4o-mini", Provider: "openai", Model: "gpt-4o-mini"},
			{ID: "azure/gpt-4o-mini", Provider: "azure", Model: "gpt-4o-mini"},
			{ID: "anthropic/claude-3-5-haiku", Provider: "anthropic", Model: "claude-3-5-haiku"},
		}
	})
	for _, m := range []string{"openai/gpt-4o", "gpt-4o-mini"} { // a provider's rate, and a bare one for every provider
		x.do("POST", "/api/admin/model-rates", x.admin, map[string]any{"model": m, "input_per_m": 1}).ok(t, 201, nil)
	}
	var got list[Unpriced]
	x.do("GET", "/api/admin/model-rates/unpriced", x.admin, nil).ok(t, 200, &got)
	if len(got.Data) != 1 || got.Data[0] != (Unpriced{Model: "anthropic/claude-3-5-haiku", Provider: "anthropic", Name: "claude-3-5-haiku"}) {
		t.Errorf("unpriced = %+v", got.Data)
	}
	x.do("GET", "/api/admin/model-rates/unpriced?x=1", x.admin, nil).fails(t, 400, "invalid_request_error", "x", "")
	x.do("GET", "/api/admin/model-rates/unpriced", x.user, nil).fails(t, 403, "permission_error", "", "")
}

func TestUserKeys(t *testing.T) {
	x := newHub(t, hubOpts{})
	cli := store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
	mine := x.userKey.AccountID
	// Another user account with a key, and an admin key in the user's account.
	_, stranger, err := x.svc.CreateKey(cli, manage.KeySpec{Name: "stranger", Account: "other"})
	if err != nil {
		t.Fatal(err)
	}
	_, adminHere, err := x.svc.CreateKey(cli, manage.KeySpec{Name: "boss", Role: "admin", AccountID: mine})
	if err != nil {
		t.Fatal(err)
	}

	var keys list[manage.KeyView]
	x.doUser("GET", "/api/keys", x.user, nil).ok(t, 200, &keys)
	if len(keys.Data) != 2 || keys.Data[0].ID != x.userKey.ID || keys.Data[1].ID != adminHere.ID {
		t.Errorf("GET /api/keys = %+v", keys.Data)
	}
	x.doUser("GET", "/api/keys", "", nil).fails(t, 401, "invalid_request_error", "", "invalid_api_key")

	// Create: a user key in the caller's account, shown once.
	var created struct {
		Key string `json:"key"`
		manage.KeyView
	}
	r := x.doUser("POST", "/api/keys", x.user, map[string]any{"name": "ci", "rpm": 30, "allowed_models": []string{"gpt-4o-mini"}})
	r.ok(t, 201, &created)
	if !strings.HasPrefix(created.Key, "sk-hub-") || created.AccountID != mine || created.Role != "user" || created.RPM != 30 || created.Name != "ci" {
		t.Errorf("created %+v", created)
	}
	if k, err := x.auth.Lookup(context.Background(), created.Key); err != nil || k.ID != created.ID {
		t.Errorf("the new key does not work: %v", err)
	}
	x.doUser("GET", "/api/keys", x.user, nil).ok(t, 200, &keys)
	if len(keys.Data) != 3 || strings.Contains(string(x.doUser("GET", "/api/keys", x.user, nil).body), created.Key) {
		t.Errorf("listing after create: %d keys, or it shows the key", len(keys.Data))
	}
	es, err := x.svc.ListAudit(context.Background(), store.AuditFilter{Action: "key.create"})
	if err != nil || len(es) == 0 || es[0].ActorKeyID != x.userKey.ID {
		t.Errorf("key creation not audited as the caller: %+v", es)
	}

	// The new key can do no more than its creator.
	narrowKey, _, err := x.svc.CreateKey(cli, manage.KeySpec{Name: "narrow", AccountID: mine, RPM: ptr(10),
		AllowedModels: &[]string{"openai/*"}, ExpiresIn: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body  map[string]any
		param string
	}{
		{map[string]any{"role": "admin"}, "role"},
		{map[string]any{"account": "other"}, "account"},
		{map[string]any{"rpm": 11}, "rpm"},
		{map[string]any{"allowed_models": []string{"anthropic/*"}}, "allowed_models"},
		{map[string]any{"allowed_models": []string{"*"}}, "allowed_models"},
		{map[string]any{"expires_in": "never"}, "expires_in"},
		{map[string]any{"expires_in": "48h"}, "expires_in"},
		{map[string]any{"expires_at": time.Now().Add(72 * time.Hour)}, "expires_at"},
	} {
		x.doUser("POST", "/api/keys", narrowKey, tc.body).fails(t, 400, "invalid_request_error", tc.param, "")
	}
	x.doUser("POST", "/api/keys", narrowKey, map[string]any{"account_id": stranger.AccountID}).fails(t, 403, "permission_error", "", "")
	r = x.doUser("POST", "/api/keys", narrowKey, map[string]any{"name": "child", "allowed_models": []string{"openai/gpt-4o"}})
	r.ok(t, 201, &created)
	if created.RPM != 10 || len(created.AllowedModels) != 1 || created.ExpiresAt == nil || created.ExpiresAt.After(time.Now().Add(24*time.Hour)) {
		t.Errorf("child key %+v", created.KeyView)
	}
	r = x.doUser("POST", "/api/keys", narrowKey, map[string]any{"name": "inherits"})
	r.ok(t, 201, &created)
	if created.RPM != 10 || len(created.AllowedModels) != 1 || created.AllowedModels[0] != "openai/*" || created.ExpiresAt == nil {
		t.Errorf("inheriting key %+v", created.KeyView)
	}

	// Revoke: own account's keys only; another account's is not found.
	x.doUser("DELETE", "/api/keys/"+itoa(stranger.ID), x.user, nil).fails(t, 404, "not_found_error", "", "")
	x.doUser("DELETE", "/api/keys/999999", x.user, nil).fails(t, 404, "not_found_error", "", "")
	x.doUser("DELETE", "/api/keys/abc", x.user, nil).fails(t, 400, "invalid_request_error", "id", "")
	x.doUser("DELETE", "/api/keys/"+itoa(adminHere.ID), x.user, nil).fails(t, 403, "permission_error", "", "")
	x.doUser("DELETE", "/api/keys/"+itoa(created.ID), x.user, nil).ok(t, 204, nil)
	if k, _ := x.svc.Key(context.Background(), created.ID); k.Status != "revoked" {
		t.Errorf("not revoked: %+v", k)
	}
	if k, _ := x.svc.Key(context.Background(), stranger.ID); k.Status != "active" {
		t.Errorf("another account's key changed: %+v", k)
	}
	if es, _ := x.svc.ListAudit(context.Background(), store.AuditFilter{Action: "key.revoke"}); len(es) != 1 || es[0].ActorKeyID != x.userKey.ID {
		t.Errorf("revocation audit %+v", es)
	}
	x.doUser("PATCH", "/api/keys/"+itoa(created.ID), x.user, nil).fails(t, 405, "invalid_request_error", "", "method_not_allowed")
}

// slowRecorder records its call only when flushed, the first time.
type slowRecorder struct {
	t       *testing.T
	st      *store.Store
	call    store.Call
	flushed atomic.Int32
}

func (r *slowRecorder) Flush(context.Context) error {
	if r.flushed.Add(1) == 2 { // the call's record arrives a little late
		recordCalls(r.t, r.st, r.call)
	}
	return nil
}

func TestUserCall(t *testing.T) {
	x := newHub(t, hubOpts{})
	mine, other := x.userKey.AccountID, x.adminKey.AccountID
	call := func(req string, account, key int64) store.Call {
		return store.Call{RequestID: req, CreatedAt: time.Now(), AccountID: account, KeyID: key, Provider: "oa", Model: "gpt-4o",
			Status: store.CallOK, HTTPStatus: 200, Duration: time.Second, Attempts: 1, Credits: 1234, CredentialID: 4}
	}
	recordCalls(t, x.st, call("req_other", other, x.adminKey.ID))
	rec := &slowRecorder{t: t, st: x.st, call: call("req_late", mine, x.userKey.ID)}
	withDashboard(t, x, rec, nil)

	var v manage.CallView
	r := x.doUser("GET", "/api/calls/req_late", x.user, nil)
	r.ok(t, 200, &v)
	if v.RequestID != "req_late" || v.Charged != 1234 || v.ChargedCredits != "0.001234" || v.CredentialID != 0 || strings.Contains(string(r.body), "credential_id") {
		t.Errorf("call %s", r.body)
	}
	if rec.flushed.Load() < 2 {
		t.Errorf("flushed %d times", rec.flushed.Load())
	}
	x.doUser("GET", "/api/calls/req_other", x.user, nil).fails(t, 404, "not_found_error", "", "")
	start := time.Now()
	x.doUser("GET", "/api/calls/req_never", x.user, nil).fails(t, 404, "not_found_error", "", "")
	if d := time.Since(start); d < callWait || d > callWait+time.Second {
		t.Errorf("an unknown call was waited for %v, want about %v", d, callWait)
	}
	// The admin route sees every account's calls, credentials included.
	r = x.do("GET", "/api/admin/calls/req_other", x.admin, nil)
	r.ok(t, 200, &v)
	if v.CredentialID != 4 {
		t.Errorf("admin call %s", r.body)
	}
	var page manage.CallPage
	if err := json.Unmarshal(x.doUser("GET", "/api/calls", x.user, nil).body, &page); err != nil || len(page.Data) != 1 {
		t.Errorf("listing %+v, %v", page, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
