package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// TestEveryRouteRequiresAnAdminKey walks the handler's own route table:
// every route answers 401 without a key (or with a bad, revoked or expired
// one), 403 to a user key, and what it should to an admin key. A route
// added to the table without a case here fails the test.
func TestEveryRouteRequiresAnAdminKey(t *testing.T) {
	x := newHub(t, hubOpts{})
	ctx := store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"oa", "doomed"} {
		_, err := x.svc.CreateProvider(ctx, manage.ProviderSpec{Name: name, Plugin: "openai"})
		must(err)
	}
	cred, err := x.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("env:OPENAI_API_KEY")})
	must(err)
	doomedCred, err := x.svc.AddCredential(ctx, "oa", manage.CredentialSpec{})
	must(err)
	_, err = x.svc.SetRate(ctx, store.ModelRate{Model: "openai/gpt-4o", InputPerM: 1})
	must(err)
	_, err = x.svc.SetRate(ctx, store.ModelRate{Model: "doomed/model", InputPerM: 1})
	must(err)
	_, doomedKey, err := x.svc.CreateKey(ctx, manage.KeySpec{Name: "doomed"})
	must(err)
	acct, err := x.svc.CreateAccount(ctx, "team")
	must(err)

	must(x.svc.Grant(ctx, acct.ID, 1_000_000, "seed", time.Time{}))
	recordCalls(t, x.st, store.Call{RequestID: "req_access", AccountID: acct.ID, KeyID: x.userKey.ID, Provider: "oa", Model: "gpt-4o",
		Status: store.CallOK, HTTPStatus: 200, Duration: time.Second, Attempts: 1,
		AttemptLog: []store.Attempt{{Attempt: 1, Provider: "oa", Status: store.CallOK, HTTPStatus: 200}}})

	revoked, rv, err := x.svc.CreateKey(ctx, manage.KeySpec{Role: store.RoleAdmin})
	must(err)
	must(x.svc.RevokeKey(ctx, rv.ID))

	type tc struct {
		path string
		body string
		want int
	}
	p := "/api/admin"
	cases := map[string]tc{
		"GET /api/admin/providers":                              {p + "/providers", "", 200},
		"POST /api/admin/providers":                             {p + "/providers", `{"name":"new","plugin":"deepseek"}`, 201},
		"GET /api/admin/providers/:name":                        {p + "/providers/oa", "", 200},
		"PATCH /api/admin/providers/:name":                      {p + "/providers/oa", `{"models":["gpt-4o"]}`, 200},
		"DELETE /api/admin/providers/:name":                     {p + "/providers/doomed", "", 204},
		"GET /api/admin/providers/:name/credentials":            {p + "/providers/oa/credentials", "", 200},
		"POST /api/admin/providers/:name/credentials":           {p + "/providers/oa/credentials", `{"secret":"env:OTHER_KEY","weight":2}`, 201},
		"GET /api/admin/providers/:name/credentials/:id":        {fmt.Sprintf("%s/providers/oa/credentials/%d", p, cred.ID), "", 200},
		"PATCH /api/admin/providers/:name/credentials/:id":      {fmt.Sprintf("%s/providers/oa/credentials/%d", p, cred.ID), `{"weight":3}`, 200},
		"DELETE /api/admin/providers/:name/credentials/:id":     {fmt.Sprintf("%s/providers/oa/credentials/%d", p, doomedCred.ID), "", 204},
		"POST /api/admin/providers/:name/credentials/:id/test":  {fmt.Sprintf("%s/providers/oa/credentials/%d/test", p, cred.ID), "", 200},
		"GET /api/admin/state":                                  {p + "/state", "", 200},
		"GET /api/admin/model-rates":                            {p + "/model-rates", "", 200},
		"POST /api/admin/model-rates":                           {p + "/model-rates", `{"model":"anthropic/claude","output_per_m":5}`, 201},
		"POST /api/admin/model-rates/bulk":                      {p + "/model-rates/bulk", `{"models":["openai/gpt-4o"],"multiply":"1.5"}`, 200},
		"GET /api/admin/model-rates/*model":                     {p + "/model-rates/openai/gpt-4o", "", 200},
		"DELETE /api/admin/model-rates/*model":                  {p + "/model-rates/doomed/model", "", 204},
		"GET /api/admin/keys":                                   {p + "/keys", "", 200},
		"POST /api/admin/keys":                                  {p + "/keys", `{"name":"ci"}`, 201},
		"GET /api/admin/keys/:id":                               {fmt.Sprintf("%s/keys/%d", p, x.userKey.ID), "", 200},
		"PATCH /api/admin/keys/:id":                             {fmt.Sprintf("%s/keys/%d", p, x.userKey.ID), `{"rpm":5}`, 200},
		"DELETE /api/admin/keys/:id":                            {fmt.Sprintf("%s/keys/%d", p, doomedKey.ID), "", 204},
		"GET /api/admin/keys/:id/usage":                         {fmt.Sprintf("%s/keys/%d/usage", p, x.userKey.ID), "", 200},
		"GET /api/admin/accounts":                               {p + "/accounts", "", 200},
		"POST /api/admin/accounts":                              {p + "/accounts", `{"name":"new team"}`, 201},
		"GET /api/admin/accounts/:id":                           {fmt.Sprintf("%s/accounts/%d", p, acct.ID), "", 200},
		"PATCH /api/admin/accounts/:id":                         {fmt.Sprintf("%s/accounts/%d", p, acct.ID), `{"name":"renamed"}`, 200},
		"POST /api/admin/accounts/:id/credits":                  {fmt.Sprintf("%s/accounts/%d/credits", p, acct.ID), `{"amount":"12.5","memo":"welcome"}`, 201},
		"POST /api/admin/accounts/:id/adjustments":              {fmt.Sprintf("%s/accounts/%d/adjustments", p, acct.ID), `{"amount":"-0.5"}`, 201},
		"GET /api/admin/accounts/:id/ledger":                    {fmt.Sprintf("%s/accounts/%d/ledger", p, acct.ID), "", 200},
		"GET /api/admin/ledger/verify":                          {p + "/ledger/verify", "", 200},
		"GET /api/admin/usage":                                  {p + "/usage?group_by=model", "", 200},
		"GET /api/admin/calls":                                  {p + "/calls", "", 200},
		"GET /api/admin/calls/:request_id":                      {p + "/calls/req_access", "", 200},
		"GET /api/admin/plugins":                                {p + "/plugins", "", 200},
		"POST /api/admin/plugins/:name/reload":                  {p + "/plugins/openai/reload", "", 200},
		"POST /api/admin/plugins/:name/rollback":                {p + "/plugins/openai/rollback", "", 200},
		"GET /api/admin/audit":                                  {p + "/audit", "", 200},
		"GET /api/admin/no-such-route":                          {p + "/no-such-route", "", 404},
		"GET /api/admin/providers/oa/no-such-thing":             {p + "/providers/oa/no-such-thing", "", 404},
		"PUT /api/admin/providers":                              {p + "/providers", `{}`, 405},
		"POST /api/admin/providers/:name/credentials/:id/bogus": {fmt.Sprintf("%s/providers/oa/credentials/%d/bogus", p, cred.ID), "", 404},
		"GET /api/admin/":                                       {p + "/", "", 404},
	}

	type named struct {
		key    string
		method string
		tc
	}
	var run []named
	for _, rt := range x.h.routes {
		k := rt.method + " " + rt.path
		c, ok := cases[k]
		if !ok {
			t.Errorf("route %s has no case in this test", k)
			continue
		}
		run = append(run, named{k, rt.method, c})
	}
	for k, c := range cases {
		method, _, _ := strings.Cut(k, " ")
		registered := slices.ContainsFunc(x.h.routes, func(rt route) bool { return rt.method+" "+rt.path == k })
		if !registered && c.want < 400 {
			t.Errorf("case %s: no such route, but it expects %d", k, c.want)
		}
		if !registered {
			run = append(run, named{k, method, c})
		}
	}
	if len(x.h.routes) < 35 {
		t.Errorf("only %d routes", len(x.h.routes))
	}

	for _, c := range run {
		t.Run(c.key, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			x.do(c.method, c.path, "", body).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
			x.do(c.method, c.path, "sk-hub-not-a-real-key-000000000000000000000", body).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
			x.do(c.method, c.path, revoked, body).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
			x.do(c.method, c.path, x.user, body).fails(t, 403, "permission_error", "", "")

			// The refusals changed nothing: the admin's creates and
			// deletes below would otherwise get 409 or 404.
			r := x.do(c.method, c.path, x.admin, body)
			switch {
			case c.want == 404:
				r.fails(t, 404, "not_found_error", "", "")
			case c.want == 405:
				r.fails(t, 405, "invalid_request_error", "", "method_not_allowed")
				if r.header.Get("Allow") == "" {
					t.Error("405 without an Allow header")
				}
			case r.status != c.want:
				t.Fatalf("admin: status %d, want %d: %s", r.status, c.want, r.body)
			case c.want == 204 && len(r.body) != 0:
				t.Errorf("204 with a body: %s", r.body)
			case c.want != 204 && r.header.Get("Content-Type") != "application/json":
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}

	// Every admin change above is audited with the admin key as actor.
	entries, err := x.svc.ListAudit(ctx, store.AuditFilter{Actor: x.actor(), Limit: 1000})
	must(err)
	got := map[string]bool{}
	for _, e := range entries {
		if e.ActorKeyID != x.adminKey.ID {
			t.Errorf("audit entry %+v: actor key %d, want %d", e, e.ActorKeyID, x.adminKey.ID)
		}
		got[e.Action] = true
	}
	for _, a := range []string{"provider.create", "provider.update", "provider.delete", "credential.create", "credential.update",
		"credential.delete", "credential.test", "rate.set", "rate.delete", "key.create", "key.update", "key.revoke",
		"account.create", "account.update", "credits.grant", "credits.adjust"} {
		if !got[a] {
			t.Errorf("no %s audited with actor %s (got %v)", a, x.actor(), got)
		}
	}
	// Refused requests audit nothing.
	if n, _ := x.svc.ListAudit(ctx, store.AuditFilter{Actor: fmt.Sprintf("key:%d:%s", x.userKey.ID, x.userKey.Prefix)}); len(n) != 0 {
		t.Errorf("a user key's requests were audited: %+v", n)
	}
}

// shadowed reports whether a catch-all route of method takes path (as
// GET /model-rates/*model takes /model-rates/bulk: the rate of "bulk").
func shadowed(routes []route, method, path string) bool {
	for _, rt := range routes {
		if prefix, ok := strings.CutSuffix(rt.path, "*model"); ok && rt.method == method && strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// TestMethodNotAllowed tries every method the hub's server forwards on
// every route path: those not registered answer 405 with an Allow header
// listing the ones that are.
func TestMethodNotAllowed(t *testing.T) {
	x := newHub(t, hubOpts{})
	paths := map[string][]string{}
	for _, rt := range x.h.routes {
		paths[rt.path] = append(paths[rt.path], rt.method)
	}
	for pattern, methods := range paths {
		path := strings.NewReplacer(":name", "oa", ":id", "1", "*model", "m").Replace(pattern)
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(methods, m) || shadowed(x.h.routes, m, pattern) {
				continue
			}
			r := x.do(m, path, x.admin, nil)
			r.fails(t, http.StatusMethodNotAllowed, "invalid_request_error", "", "method_not_allowed")
			allow := r.header.Get("Allow")
			for _, want := range methods {
				if !strings.Contains(allow, want) {
					t.Errorf("%s %s: Allow %q lacks %s", m, path, allow, want)
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
