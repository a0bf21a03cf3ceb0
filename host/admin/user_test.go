package admin

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// TestUserAPI checks that every key reads its own account only, on every
// path of the user API.
func TestUserAPI(t *testing.T) {
	x := newHub(t, hubOpts{})
	ctx := store.WithActor(t.Context(), store.Actor{Name: "cli:test"})
	mine, other := x.userKey.AccountID, x.adminKey.AccountID
	if mine == other {
		t.Fatal("the user and admin keys share an account")
	}
	if err := x.svc.Grant(ctx, mine, 7_250_000, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A second key in the user's account, whose calls the user sees too.
	_, sibling, err := x.svc.CreateKey(ctx, manage.KeySpec{Name: "sibling", AccountID: mine})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	call := func(req string, account, key int64) store.Call {
		return store.Call{RequestID: req, CreatedAt: at, AccountID: account, KeyID: key, Provider: "oa", Model: "gpt-4o",
			Status: store.CallOK, HTTPStatus: 200, Duration: time.Second, Attempts: 1, Credits: 1000, CredentialID: 4}
	}
	recordCalls(t, x.st, call("req_mine", mine, x.userKey.ID), call("req_sibling", mine, sibling.ID),
		call("req_other1", other, x.adminKey.ID), call("req_other2", other, x.adminKey.ID))

	t.Run("authentication", func(t *testing.T) {
		for _, p := range []string{UserUsagePath, UserCallsPath, UserAccountPath} { // the read-only paths
			x.doUser("GET", p, "", nil).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
			x.doUser("GET", p, "sk-hub-not-a-real-key-000000000000000000000", nil).fails(t, 401, "invalid_request_error", "", "invalid_api_key")
			r := x.doUser("GET", p, x.user, nil)
			if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s: %d, Cache-Control %q: %s", p, r.status, r.header.Get("Cache-Control"), r.body)
			}
			for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
				r := x.doUser(m, p, x.user, nil)
				r.fails(t, 405, "invalid_request_error", "", "method_not_allowed")
				if !strings.Contains(r.header.Get("Allow"), "GET") {
					t.Errorf("%s %s: Allow %q", m, p, r.header.Get("Allow"))
				}
			}
		}
		x.doUser("GET", "/api/admin/keys", x.admin, nil).fails(t, 404, "not_found_error", "", "")
		x.doUser("GET", "/api/other", x.user, nil).fails(t, 404, "not_found_error", "", "")
	})

	t.Run("account", func(t *testing.T) {
		var info AccountInfo
		r := x.doUser("GET", "/api/account", x.user, nil)
		r.ok(t, 200, &info)
		if info.ID != mine || info.Name != "acme" || info.Balance != 7_250_000 || info.BalanceCredits != "7.25" || info.Keys != 2 {
			t.Errorf("account = %+v", info.AccountView)
		}
		if info.Key.ID != x.userKey.ID || info.Key.Prefix != x.userKey.Prefix || info.Key.Role != "user" || info.Key.Status != "active" {
			t.Errorf("key = %+v", info.Key)
		}
		if strings.Contains(string(r.body), x.user) || strings.Contains(string(r.body), "hash") {
			t.Errorf("the answer holds the key: %s", r.body)
		}
		var adminInfo AccountInfo
		x.doUser("GET", "/api/account", x.admin, nil).ok(t, 200, &adminInfo)
		if adminInfo.ID != other || adminInfo.Key.ID != x.adminKey.ID || adminInfo.Key.Role != "admin" {
			t.Errorf("admin's account = %+v", adminInfo)
		}
		x.doUser("GET", "/api/account?account_id=1", x.user, nil).fails(t, 400, "invalid_request_error", "account_id", "")
	})

	t.Run("calls", func(t *testing.T) {
		for _, tt := range []struct {
			key, query string
			want       []string
		}{
			{x.user, "", []string{"req_sibling", "req_mine"}},
			{x.user, fmt.Sprintf("?account_id=%d", mine), []string{"req_sibling", "req_mine"}},
			{x.user, fmt.Sprintf("?key_id=%d", sibling.ID), []string{"req_sibling"}},
			{x.user, fmt.Sprintf("?key_id=%d", x.adminKey.ID), nil}, // another account's key: nothing
			{x.admin, "", []string{"req_other2", "req_other1"}},     // an admin key sees its own account here too
		} {
			var page manage.CallPage
			r := x.doUser("GET", "/api/calls"+tt.query, tt.key, nil)
			r.ok(t, 200, &page)
			var got []string
			for _, c := range page.Data {
				got = append(got, c.RequestID)
				if c.CredentialID != 0 {
					t.Errorf("call %s shows its credential", c.RequestID)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("calls%s = %q, want %q", tt.query, got, tt.want)
			}
			if strings.Contains(string(r.body), "credential_id") {
				t.Errorf("credential IDs shown: %s", r.body)
			}
		}
		x.doUser("GET", fmt.Sprintf("/api/calls?account_id=%d", other), x.user, nil).fails(t, 403, "permission_error", "", "")
		x.doUser("GET", fmt.Sprintf("/api/calls?account_id=%d", mine), x.admin, nil).fails(t, 403, "permission_error", "", "")
		x.doUser("GET", "/api/calls?status=nope", x.user, nil).fails(t, 400, "invalid_request_error", "status", "")

		rows := wantCSV(t, x.doUser("GET", "/api/calls?format=csv", x.user, nil), "calls.csv")
		if len(rows) != 3 || !strings.HasPrefix(rows[1][1], "req_") || rows[1][1] == "req_other1" || rows[2][1] == "req_other2" {
			t.Errorf("calls CSV = %q", rows)
		}
		x.doUser("GET", fmt.Sprintf("/api/calls?format=csv&account_id=%d", other), x.user, nil).fails(t, 403, "permission_error", "", "")
	})

	t.Run("usage", func(t *testing.T) {
		var l list[manage.StatsView]
		x.doUser("GET", "/api/usage?group_by=account,key", x.user, nil).ok(t, 200, &l)
		if len(l.Data) != 2 || l.Data[0].AccountID != mine || l.Data[1].AccountID != mine || l.Data[0].Calls+l.Data[1].Calls != 2 {
			t.Errorf("usage = %+v", l)
		}
		var tot list[manage.StatsView]
		x.doUser("GET", fmt.Sprintf("/api/usage?account_id=%d", mine), x.user, nil).ok(t, 200, &tot)
		if len(tot.Data) != 1 || tot.Data[0].Calls != 2 || tot.Data[0].Charged != 2000 || tot.Data[0].ChargedCredits != "0.002" {
			t.Errorf("usage totals = %+v", tot)
		}
		x.doUser("GET", fmt.Sprintf("/api/usage?account_id=%d", other), x.user, nil).fails(t, 403, "permission_error", "", "")
		x.doUser("GET", "/api/usage?bucket=month", x.user, nil).fails(t, 400, "invalid_request_error", "bucket", "")
		rows := wantCSV(t, x.doUser("GET", "/api/usage?format=csv&group_by=account", x.user, nil), "usage.csv")
		if len(rows) != 2 || rows[1][2] != fmt.Sprint(mine) || rows[1][6] != "2" {
			t.Errorf("usage CSV = %q", rows)
		}
	})

	// Nothing the user API reads is audited.
	if es, _ := x.svc.ListAudit(ctx, store.AuditFilter{Actor: fmt.Sprintf("key:%d:%s", x.userKey.ID, x.userKey.Prefix)}); len(es) != 0 {
		t.Errorf("audited: %+v", es)
	}
}

func TestUserPaths(t *testing.T) {
	got := UserPaths()
	want := []string{"/api/usage", "/api/calls", "/api/account", "/api/calls/:request_id", "/api/keys", "/api/keys/:id"}
	if !slices.Equal(got, want) {
		t.Errorf("UserPaths() = %q", got)
	}
	for _, p := range got {
		if strings.HasPrefix(p, Prefix) {
			t.Errorf("%s is under the admin API's prefix", p)
		}
	}
}
