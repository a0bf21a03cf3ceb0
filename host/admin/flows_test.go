package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/proxy"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

func TestProviderFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin

	var p manage.ProviderView
	x.do("POST", "/api/admin/providers", a, map[string]any{
		"name": "aws", "plugin": "bedrock", "region": "us-east-1", "models": []string{"anthropic.claude-v2"},
	}).ok(t, 201, &p)
	if p.Name != "aws" || p.Plugin != "bedrock" || p.BaseURL != "https://bedrock-runtime.us-east-1.amazonaws.com" ||
		p.ManagedBy != "api" || !p.Enabled || len(p.Credentials) != 0 {
		t.Errorf("created %+v", p)
	}
	e := x.do("POST", "/api/admin/providers", a, `{"name":"aws","plugin":"openai"}`).fails(t, 409, "invalid_request_error", "", "already_exists")
	if !strings.Contains(e.Error.Message, "aws") {
		t.Errorf("409 message %q does not name the provider", e.Error.Message)
	}

	for _, tt := range []struct {
		body  string
		param string
	}{
		{`{"name":"x","plugin":"openai","base_url":"ftp://x"}`, "base_url"},
		{`{"name":"X Y","plugin":"openai"}`, "name"},
		{`{"name":"x","plugin":"nope"}`, "plugin"},
		{`{"name":"x","plugin":"openai","models":["a","a"]}`, "models[1]"},
		{`{"name":"x","plugin":"openai","bogus":1}`, "bogus"},
		{`{"name":"x","plugin":"openai","enabled":"yes"}`, "enabled"},
		{`{"name":"x","plugin":"openai","models":"gpt-4o"}`, "models"},
		{`{"name":"x",}`, ""},
		{`{"name":"x"`, ""},
		{`["name"]`, ""},
		{`null`, ""},
		{``, ""},
		{`{"name":"x","plugin":"openai"} {}`, ""},
	} {
		x.do("POST", "/api/admin/providers", a, tt.body).fails(t, 400, "invalid_request_error", tt.param, "")
	}

	x.do("PATCH", "/api/admin/providers/aws", a, `{"enabled":false,"options":{"x":1}}`).ok(t, 200, &p)
	if p.Enabled || string(p.Options) != `{"x":1}` {
		t.Errorf("patched %+v", p)
	}
	x.do("PATCH", "/api/admin/providers/aws", a, `{"options":{"x":null,"big":9007199254740993}}`).ok(t, 200, &p)
	if string(p.Options) != `{"big":9007199254740993}` {
		t.Errorf("options = %s: a large integer lost precision", p.Options)
	}
	x.do("PATCH", "/api/admin/providers/aws", a, `{"plugin":"openai"}`).fails(t, 400, "invalid_request_error", "plugin", "")
	x.do("PATCH", "/api/admin/providers/aws", a, `{"name":"other"}`).fails(t, 400, "invalid_request_error", "name", "")
	x.do("PATCH", "/api/admin/providers/nope", a, `{"enabled":true}`).fails(t, 404, "not_found_error", "", "")
	x.do("GET", "/api/admin/providers/nope", a, nil).fails(t, 404, "not_found_error", "", "")

	var got manage.ProviderView
	x.do("GET", "/api/admin/providers/aws", a, nil).ok(t, 200, &got)
	if got.Name != "aws" || got.Enabled {
		t.Errorf("GET = %+v", got)
	}
	var l struct{ Data []manage.ProviderView }
	x.do("GET", "/api/admin/providers", a, nil).ok(t, 200, &l)
	if len(l.Data) != 1 || l.Data[0].Name != "aws" {
		t.Errorf("list = %+v", l)
	}

	x.do("DELETE", "/api/admin/providers/aws", a, nil).ok(t, 204, nil)
	x.do("DELETE", "/api/admin/providers/aws", a, nil).fails(t, 404, "not_found_error", "", "")
	x.do("GET", "/api/admin/providers", a, nil).ok(t, 200, &l)
	if l.Data == nil || len(l.Data) != 0 {
		t.Errorf("empty list = %+v", l)
	}

	entries, err := x.svc.ListAudit(context.Background(), store.AuditFilter{Target: "aws"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if e.Actor != x.actor() || e.ActorKeyID != x.adminKey.ID {
			t.Errorf("audit actor %q (key %d), want %q", e.Actor, e.ActorKeyID, x.actor())
		}
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "provider.delete,provider.update,provider.update,provider.create" {
		t.Errorf("audit = %v", actions)
	}
}

// TestCredentialFlow manages credentials with literal secrets and checks
// that no answer, audit entry, log line or database byte holds them.
func TestCredentialFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	const secret1 = "sk-proj-ADMINLEAK-111111111111-wxyz"
	const secret2 = "sk-proj-ADMINLEAK-222222222222-abcd"
	var answers bytes.Buffer
	do := func(method, path string, body any) response {
		r := x.do(method, path, a, body)
		answers.Write(r.body)
		return r
	}

	do("POST", "/api/admin/providers", `{"name":"oa","plugin":"openai"}`).ok(t, 201, nil)
	do("POST", "/api/admin/providers", `{"name":"an","plugin":"anthropic"}`).ok(t, 201, nil)
	var c manage.CredentialView
	do("POST", "/api/admin/providers/oa/credentials", map[string]any{"secret": secret1, "weight": 3}).ok(t, 201, &c)
	if c.Name != "oa-1" || c.Source != "encrypted" || c.Hint != "****wxyz" || c.Weight != 3 || c.Provider != "oa" {
		t.Errorf("added %+v", c)
	}
	var raw map[string]any
	json.Unmarshal(x.do("GET", fmt.Sprintf("/api/admin/providers/oa/credentials/%d", c.ID), a, nil).body, &raw)
	if _, has := raw["secret"]; has || raw["hint"] != "****wxyz" {
		t.Errorf("credential JSON = %v", raw)
	}
	stored, err := x.st.CredentialByID(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := x.kr.Open(stored.Ciphertext, secrets.AAD("oa", "oa-1")); err != nil || string(pt) != secret1 {
		t.Errorf("stored ciphertext opens to %q, %v", pt, err)
	}

	path := fmt.Sprintf("/api/admin/providers/oa/credentials/%d", c.ID)
	do("PATCH", path, map[string]any{"secret": secret2, "enabled": false}).ok(t, 200, &c)
	if c.Hint != "****abcd" || c.Enabled {
		t.Errorf("patched %+v", c)
	}
	do("PATCH", path, map[string]any{"secret": secret2 + "\n"}).fails(t, 400, "invalid_request_error", "secret", "")
	do("PATCH", path, map[string]any{"name": "renamed", "secret": secret1}).fails(t, 400, "invalid_request_error", "name", "")
	do("PATCH", path, map[string]any{"weight": 0}).fails(t, 400, "invalid_request_error", "weight", "")
	do("PATCH", path, map[string]any{"secret": 12345}).fails(t, 400, "invalid_request_error", "secret", "")
	do("PATCH", path, `{"secret":"`+secret1+`", "secrett": 1}`).fails(t, 400, "invalid_request_error", "secrett", "")
	do("PATCH", path, `{"secret": `+secret1+`}`).fails(t, 400, "invalid_request_error", "", "")
	// A credential is reached only through its own provider.
	do("PATCH", fmt.Sprintf("/api/admin/providers/an/credentials/%d", c.ID), `{"weight":2}`).fails(t, 404, "not_found_error", "", "")
	do("GET", fmt.Sprintf("/api/admin/providers/an/credentials/%d", c.ID), nil).fails(t, 404, "not_found_error", "", "")
	do("DELETE", fmt.Sprintf("/api/admin/providers/an/credentials/%d", c.ID), nil).fails(t, 404, "not_found_error", "", "")
	do("POST", fmt.Sprintf("/api/admin/providers/an/credentials/%d/test", c.ID), nil).fails(t, 404, "not_found_error", "", "")
	do("GET", "/api/admin/providers/oa/credentials/abc", nil).fails(t, 400, "invalid_request_error", "id", "")
	do("GET", "/api/admin/providers/oa/credentials/-1", nil).fails(t, 400, "invalid_request_error", "id", "")
	do("POST", "/api/admin/providers/nope/credentials", `{}`).fails(t, 404, "not_found_error", "", "")
	do("POST", "/api/admin/providers/oa/credentials", `{"name":"oa-1"}`).fails(t, 409, "invalid_request_error", "", "already_exists")

	// The test endpoint goes to the runtime and is audited.
	var res proxy.CheckResult
	do("POST", path+"/test", nil).ok(t, 200, &res)
	if res.Status != 401 || res.Method != "models" || res.OK {
		t.Errorf("test result %+v", res)
	}
	if tested := x.rt.testedIDs(); len(tested) != 1 || tested[0] != c.ID {
		t.Errorf("runtime tested %v", tested)
	}
	tests, _ := x.svc.ListAudit(context.Background(), store.AuditFilter{Action: "credential.test"})
	if len(tests) != 1 || tests[0].Actor != x.actor() || tests[0].Target != "oa/oa-1" ||
		!strings.Contains(string(tests[0].Detail), `"status":401`) {
		t.Errorf("credential.test audit = %+v", tests)
	}
	x.rt.forget(c.ID)
	do("POST", path+"/test", nil).fails(t, 404, "not_found_error", "", "")

	var l struct{ Data []manage.CredentialView }
	do("GET", "/api/admin/providers/oa/credentials", nil).ok(t, 200, &l)
	if len(l.Data) != 1 || l.Data[0].ID != c.ID {
		t.Errorf("list = %+v", l)
	}
	var p manage.ProviderView
	do("GET", "/api/admin/providers/oa", nil).ok(t, 200, &p)
	if len(p.Credentials) != 1 || p.Credentials[0].Hint != "****abcd" {
		t.Errorf("provider's credentials = %+v", p.Credentials)
	}
	do("GET", "/api/admin/audit?limit=1000", nil).ok(t, 200, nil)

	do("DELETE", path, nil).ok(t, 204, nil)
	do("GET", path, nil).fails(t, 404, "not_found_error", "", "")

	// Nowhere: answers (the audit log's included), logs, database files.
	var all bytes.Buffer
	all.Write(answers.Bytes())
	all.WriteString(x.logs.String())
	for _, name := range []string{x.dbPath, x.dbPath + "-wal"} {
		if b, err := os.ReadFile(name); err == nil {
			all.Write(b)
		}
	}
	for _, s := range []string{secret1, secret2, "ADMINLEAK"} {
		if i := bytes.Index(all.Bytes(), []byte(s)); i >= 0 {
			t.Errorf("a secret (%s) leaked: …%q", secrets.Mask(s), all.Bytes()[max(0, i-60):i])
		}
	}
}

func TestKeyFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	var k struct {
		Key string `json:"key"`
		manage.KeyView
	}
	x.do("POST", "/api/admin/keys", a, `{"name":"ops","role":"admin","account":"ops","rpm":10,"allowed_models":["openai/*"],"expires_in":"24h"}`).ok(t, 201, &k)
	if !strings.HasPrefix(k.Key, k.Prefix) || k.Role != "admin" || k.Account != "ops" || k.RPM != 10 || k.ExpiresAt == nil ||
		k.Status != "active" || len(k.AllowedModels) != 1 {
		t.Errorf("created %+v", k)
	}
	// The new admin key works, and is shown only once.
	x.do("GET", "/api/admin/state", k.Key, nil).ok(t, 200, nil)
	got := x.do("GET", fmt.Sprintf("/api/admin/keys/%d", k.ID), a, nil)
	if bytes.Contains(got.body, []byte(k.Key)) || bytes.Contains(got.body, []byte(`"key"`)) {
		t.Errorf("GET shows the key: %s", got.body)
	}
	var v manage.KeyView
	got.ok(t, 200, &v)
	if v.ID != k.ID || v.Name != "ops" {
		t.Errorf("GET = %+v", v)
	}

	x.do("POST", "/api/admin/keys", a, `{"role":"root"}`).fails(t, 400, "invalid_request_error", "role", "")
	x.do("POST", "/api/admin/keys", a, `{"rpm":-1}`).fails(t, 400, "invalid_request_error", "rpm", "")
	x.do("POST", "/api/admin/keys", a, `{"expires_at":"tomorrow"}`).fails(t, 400, "invalid_request_error", "", "")
	x.do("POST", "/api/admin/keys", a, `{"account_id":999}`).fails(t, 400, "invalid_request_error", "account_id", "")
	x.do("POST", "/api/admin/keys", a, `{"key":"sk-hub-mine"}`).fails(t, 400, "invalid_request_error", "key", "")

	x.do("PATCH", fmt.Sprintf("/api/admin/keys/%d", k.ID), a, `{"tpm":1000,"expires_in":"never"}`).ok(t, 200, &v)
	if v.TPM != 1000 || v.RPM != 10 || v.ExpiresAt != nil {
		t.Errorf("patched %+v", v)
	}
	x.do("PATCH", fmt.Sprintf("/api/admin/keys/%d", k.ID), a, `{"account":"acme"}`).fails(t, 400, "invalid_request_error", "account", "")
	x.do("PATCH", "/api/admin/keys/999", a, `{"rpm":1}`).fails(t, 404, "not_found_error", "", "")

	var u KeyUsage
	x.do("GET", fmt.Sprintf("/api/admin/keys/%d/usage", k.ID), a, nil).ok(t, 200, &u)
	if u != (KeyUsage{KeyID: k.ID, WindowSeconds: 60, Requests: 3, Tokens: 120, InFlight: 1, RPM: 10, TPM: 1000}) {
		t.Errorf("usage = %+v", u)
	}
	x.do("GET", "/api/admin/keys/999/usage", a, nil).fails(t, 404, "not_found_error", "", "")

	var l struct{ Data []manage.KeyView }
	x.do("GET", fmt.Sprintf("/api/admin/keys?account_id=%d", k.AccountID), a, nil).ok(t, 200, &l)
	if len(l.Data) != 1 || l.Data[0].ID != k.ID {
		t.Errorf("keys of ops = %+v", l)
	}
	x.do("GET", "/api/admin/keys", a, nil).ok(t, 200, &l)
	if len(l.Data) != 3 {
		t.Errorf("%d keys, want 3", len(l.Data))
	}
	x.do("GET", "/api/admin/keys?account_id=x", a, nil).fails(t, 400, "invalid_request_error", "account_id", "")
	x.do("GET", "/api/admin/keys?acount_id=1", a, nil).fails(t, 400, "invalid_request_error", "acount_id", "")

	// Revoking takes effect at once (the authenticator's cache is purged).
	x.do("DELETE", fmt.Sprintf("/api/admin/keys/%d", k.ID), a, nil).ok(t, 204, nil)
	x.do("GET", "/api/admin/state", k.Key, nil).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
	x.do("GET", fmt.Sprintf("/api/admin/keys/%d", k.ID), a, nil).ok(t, 200, &v)
	if v.Status != "revoked" || v.RevokedAt == nil {
		t.Errorf("revoked = %+v", v)
	}
	x.do("DELETE", "/api/admin/keys/999", a, nil).fails(t, 404, "not_found_error", "", "")

	// Demoting a key takes effect at once too.
	x.do("PATCH", fmt.Sprintf("/api/admin/keys/%d", x.userKey.ID), a, `{"role":"admin"}`).ok(t, 200, nil)
	x.do("GET", "/api/admin/state", x.user, nil).ok(t, 200, nil)
	x.do("PATCH", fmt.Sprintf("/api/admin/keys/%d", x.userKey.ID), a, `{"role":"user"}`).ok(t, 200, nil)
	x.do("GET", "/api/admin/state", x.user, nil).fails(t, 403, "permission_error", "", "")
}

func TestAccountFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	var acct manage.AccountView
	x.do("POST", "/api/admin/accounts", a, `{"name":"team"}`).ok(t, 201, &acct)
	if acct.Name != "team" || acct.ID == 0 || acct.Keys != 0 {
		t.Errorf("created %+v", acct)
	}
	x.do("POST", "/api/admin/accounts", a, `{"name":"team"}`).fails(t, 409, "invalid_request_error", "", "already_exists")
	x.do("POST", "/api/admin/accounts", a, `{"name":""}`).fails(t, 400, "invalid_request_error", "name", "")
	x.do("POST", "/api/admin/keys", a, fmt.Sprintf(`{"account_id":%d}`, acct.ID)).ok(t, 201, nil)
	x.do("PATCH", fmt.Sprintf("/api/admin/accounts/%d", acct.ID), a, `{"name":"squad"}`).ok(t, 200, &acct)
	if acct.Name != "squad" || acct.Keys != 1 {
		t.Errorf("renamed %+v", acct)
	}
	x.do("PATCH", fmt.Sprintf("/api/admin/accounts/%d", acct.ID), a, `{"name":"acme"}`).fails(t, 409, "invalid_request_error", "", "already_exists")
	x.do("PATCH", "/api/admin/accounts/999", a, `{"name":"x"}`).fails(t, 404, "not_found_error", "", "")
	x.do("GET", "/api/admin/accounts/999", a, nil).fails(t, 404, "not_found_error", "", "")
	var l struct{ Data []manage.AccountView }
	x.do("GET", "/api/admin/accounts", a, nil).ok(t, 200, &l)
	var names []string
	for _, ac := range l.Data {
		names = append(names, fmt.Sprint(ac.Name, ":", ac.Keys))
	}
	if strings.Join(names, ",") != "default:1,acme:1,squad:1" {
		t.Errorf("accounts = %v", names)
	}
}

func TestRateFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	var r manage.RateView
	x.do("POST", "/api/admin/model-rates", a, `{"model":"openai/gpt-4o","input_per_m":2500000,"output_per_m":10000000}`).ok(t, 201, &r)
	if r.Model != "openai/gpt-4o" || r.InputPerM != 2_500_000 || r.UpdatedAt.IsZero() {
		t.Errorf("set %+v", r)
	}
	x.do("POST", "/api/admin/model-rates", a, `{"model":"openai/gpt-4o","input_per_m":3000000}`).ok(t, 200, &r)
	if r.InputPerM != 3_000_000 || r.OutputPerM != 0 {
		t.Errorf("replaced %+v", r)
	}
	x.do("POST", "/api/admin/model-rates", a, `{"model":"m","per_image":-5}`).fails(t, 400, "invalid_request_error", "per_image", "")
	x.do("POST", "/api/admin/model-rates", a, `{"model":""}`).fails(t, 400, "invalid_request_error", "model", "")
	x.do("POST", "/api/admin/model-rates", a, `{"model":"m","input_per_m":1.5}`).fails(t, 400, "invalid_request_error", "input_per_m", "")

	x.do("GET", "/api/admin/model-rates/openai/gpt-4o", a, nil).ok(t, 200, &r)
	if r.Model != "openai/gpt-4o" {
		t.Errorf("GET = %+v", r)
	}
	x.do("GET", "/api/admin/model-rates/"+url.PathEscape("odd model%"), a, nil).fails(t, 404, "not_found_error", "", "")
	x.do("GET", "/api/admin/model-rates/", a, nil).fails(t, 400, "invalid_request_error", "model", "")
	var l struct{ Data []manage.RateView }
	x.do("GET", "/api/admin/model-rates", a, nil).ok(t, 200, &l)
	if len(l.Data) != 1 {
		t.Errorf("list = %+v", l)
	}
	x.do("DELETE", "/api/admin/model-rates/openai/gpt-4o", a, nil).ok(t, 204, nil)
	x.do("DELETE", "/api/admin/model-rates/openai/gpt-4o", a, nil).fails(t, 404, "not_found_error", "", "")
}

func TestAuditQuery(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	for i := range 5 {
		x.do("POST", "/api/admin/accounts", a, fmt.Sprintf(`{"name":"a%d"}`, i)).ok(t, 201, nil)
	}
	x.do("POST", "/api/admin/providers", a, `{"name":"oa","plugin":"openai"}`).ok(t, 201, nil)

	type page struct {
		Data       []manage.AuditView `json:"data"`
		NextBefore int64              `json:"next_before"`
	}
	var p page
	x.do("GET", "/api/admin/audit?action=account.*&limit=2", a, nil).ok(t, 200, &p)
	if len(p.Data) != 2 || p.NextBefore != p.Data[1].ID || p.Data[0].Action != "account.create" || p.Data[0].Actor != x.actor() {
		t.Fatalf("page 1 = %+v", p)
	}
	var seen []string
	for before := p.NextBefore; ; {
		var q page
		x.do("GET", fmt.Sprintf("/api/admin/audit?action=account.*&limit=2&before=%d", before), a, nil).ok(t, 200, &q)
		for _, e := range q.Data {
			seen = append(seen, e.Target)
		}
		if q.NextBefore == 0 {
			break
		}
		before = q.NextBefore
	}
	if len(seen) != 5 { // 7 in all: a0..a4, and "default" and "acme", made by newHub
		t.Errorf("later pages = %v", seen)
	}

	p = page{}
	x.do("GET", "/api/admin/audit?target=oa", a, nil).ok(t, 200, &p)
	if len(p.Data) != 1 || p.Data[0].Action != "provider.create" || p.NextBefore != 0 || string(p.Data[0].Detail) == "" {
		t.Errorf("by target = %+v", p)
	}
	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	p = page{}
	x.do("GET", "/api/admin/audit?since="+future, a, nil).ok(t, 200, &p)
	if len(p.Data) != 0 || p.Data == nil {
		t.Errorf("since the future = %+v", p)
	}
	x.do("GET", "/api/admin/audit?until="+future+"&actor="+url.QueryEscape(x.actor()), a, nil).ok(t, 200, &p)
	if len(p.Data) != 6 {
		t.Errorf("until the future, by actor: %d entries, want 6", len(p.Data))
	}
	for _, tt := range []struct{ q, param string }{
		{"since=yesterday", "since"},
		{"until=2025-13-01T00:00:00Z", "until"},
		{"limit=abc", "limit"},
		{"limit=0", "limit"},
		{"before=-3", "before"},
		{"actions=x", "actions"},
		{"limit=1&limit=2", "limit"},
	} {
		x.do("GET", "/api/admin/audit?"+tt.q, a, nil).fails(t, 400, "invalid_request_error", tt.param, "")
	}
}

func TestBodyLimits(t *testing.T) {
	x := newHub(t, hubOpts{maxBody: 256})
	big := `{"name":"x","plugin":"openai","options":{"pad":"` + strings.Repeat("a", 300) + `"}}`
	x.do("POST", "/api/admin/providers", x.admin, big).fails(t, 413, "invalid_request_error", "", "request_too_large")
	x.do("POST", "/api/admin/providers", x.admin, `{"name":"x","plugin":"openai"}`).ok(t, 201, nil)
}

func TestNoRuntime(t *testing.T) {
	x := newHub(t, hubOpts{noRuntime: true})
	for _, path := range []string{"/api/admin/state", "/api/admin/plugins", fmt.Sprintf("/api/admin/keys/%d/usage", x.userKey.ID)} {
		x.do("GET", path, x.admin, nil).fails(t, 503, "service_unavailable", "", "")
	}
	x.do("GET", "/api/admin/providers", x.admin, nil).ok(t, 200, nil)
}

func TestStateAndPlugins(t *testing.T) {
	x := newHub(t, hubOpts{})
	var s struct{ Data []proxy.ProviderState }
	x.do("GET", "/api/admin/state", x.admin, nil).ok(t, 200, &s)
	if len(s.Data) != 1 || len(s.Data[0].Credentials) != 2 || s.Data[0].Credentials[0].Status != "cooling_down" ||
		s.Data[0].Credentials[1].Reason == "" || s.Data[0].Credentials[0].CoolingUntil == nil {
		t.Errorf("state = %+v", s)
	}
	r := x.do("GET", "/api/admin/plugins", x.admin, nil)
	var pl struct{ Data []map[string]any }
	r.ok(t, 200, &pl)
	if len(pl.Data) != 1 {
		t.Fatalf("plugins = %s", r.body)
	}
	for _, k := range []string{"name", "kind", "version", "sha256", "source", "apis", "auth", "stream_framing", "trusted", "pool_size", "providers"} {
		if _, ok := pl.Data[0][k]; !ok {
			t.Errorf("plugin JSON lacks %q: %s", k, r.body)
		}
	}
}

// TestConcurrentAdmins hammers the handler from several goroutines, each
// an admin managing its own provider, with -race watching.
func TestConcurrentAdmins(t *testing.T) {
	x := newHub(t, hubOpts{})
	const workers, rounds = 4, 5
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("p%d", w)
			if r := x.do("POST", "/api/admin/providers", x.admin, fmt.Sprintf(`{"name":%q,"plugin":"openai"}`, name)); r.status != 201 {
				t.Errorf("create %s: %d %s", name, r.status, r.body)
				return
			}
			for i := range rounds {
				r := x.do("POST", "/api/admin/providers/"+name+"/credentials", x.admin, fmt.Sprintf(`{"secret":"sk-hammer-%02d-0123456789"}`, i))
				if r.status != 201 {
					t.Errorf("add credential: %d %s", r.status, r.body)
				}
				if r := x.do("GET", "/api/admin/providers", x.admin, nil); r.status != 200 {
					t.Errorf("list: %d %s", r.status, r.body)
				}
				if r := x.do("GET", "/api/admin/state", x.user, nil); r.status != 403 {
					t.Errorf("user key: %d", r.status)
				}
			}
		}()
	}
	wg.Wait()
	var l struct{ Data []manage.ProviderView }
	x.do("GET", "/api/admin/providers", x.admin, nil).ok(t, 200, &l)
	if len(l.Data) != workers {
		t.Fatalf("%d providers, want %d", len(l.Data), workers)
	}
	for _, p := range l.Data {
		if len(p.Credentials) != rounds {
			t.Errorf("%s has %d credentials, want %d", p.Name, len(p.Credentials), rounds)
		}
	}
	entries, _ := x.svc.ListAudit(context.Background(), store.AuditFilter{Action: "credential.create", Actor: x.actor()})
	if len(entries) != workers*rounds {
		t.Errorf("%d credential.create audited, want %d", len(entries), workers*rounds)
	}
}
