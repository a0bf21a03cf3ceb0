package admin

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

func TestCreditsFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	acct := x.userKey.AccountID
	credits := fmt.Sprintf("/api/admin/accounts/%d/credits", acct)
	adjust := fmt.Sprintf("/api/admin/accounts/%d/adjustments", acct)

	var res CreditsResult
	expires := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	x.do("POST", credits, a, `{"amount":"12.5","memo":"welcome","expires_at":"`+expires+`"}`).ok(t, 201, &res)
	if res != (CreditsResult{AccountID: acct, Amount: 12_500_000, AmountCredits: "12.5", Balance: 12_500_000, BalanceCredits: "12.5"}) {
		t.Errorf("grant = %+v", res)
	}
	x.do("POST", credits, a, `{"amount_micro":1}`).ok(t, 201, &res)
	if res.Amount != 1 || res.Balance != 12_500_001 || res.BalanceCredits != "12.500001" {
		t.Errorf("grant micro = %+v", res)
	}
	x.do("POST", adjust, a, `{"amount":"-2.5","memo":"overcharge"}`).ok(t, 201, &res)
	if res.Amount != -2_500_000 || res.AmountCredits != "-2.5" || res.Balance != 10_000_001 {
		t.Errorf("adjust = %+v", res)
	}
	x.do("POST", adjust, a, `{"amount_micro":-1}`).ok(t, 201, &res)
	if res.Balance != 10_000_000 || res.BalanceCredits != "10" {
		t.Errorf("adjust micro = %+v", res)
	}

	for _, tt := range []struct {
		path, body, param string
	}{
		{credits, `{"amount":12.5}`, "amount"}, // a JSON number is not exact: refused
		{credits, `{"amount":"1.0000001"}`, "amount"},
		{credits, `{"amount":"-1"}`, "amount"},
		{credits, `{"amount":"0"}`, "amount"},
		{credits, `{"amount":"1e3"}`, "amount"},
		{credits, `{"amount":"1","amount_micro":1}`, "amount"},
		{credits, `{"memo":"nothing"}`, "amount"},
		{credits, `{"amount_micro":0}`, "amount"},
		{credits, `{"amount_micro":1.5}`, "amount_micro"},
		{credits, `{"amount":"1","expires_at":"2001-01-01T00:00:00Z"}`, "expires_at"},
		{credits, `{"amount":"1","memo":"a\u0000b"}`, "memo"},
		{credits, `{"amount":"1","bogus":1}`, "bogus"},
		{adjust, `{"amount":"-100"}`, "amount"}, // below zero
		{adjust, `{"amount":"0"}`, "amount"},
		{adjust, `{"amount":"--1"}`, "amount"},
		{adjust, `{"amount":"1","expires_at":"2031-01-01T00:00:00Z"}`, "expires_at"},
		{"/api/admin/accounts/x/credits", `{"amount":"1"}`, "id"},
	} {
		x.do("POST", tt.path, a, tt.body).fails(t, 400, "invalid_request_error", tt.param, "")
	}
	x.do("POST", "/api/admin/accounts/999/credits", a, `{"amount":"1"}`).fails(t, 404, "not_found_error", "", "")
	x.do("POST", "/api/admin/accounts/999/adjustments", a, `{"amount":"1"}`).fails(t, 404, "not_found_error", "", "")

	// The account shows the balance; nothing refused moved it.
	var av manage.AccountView
	x.do("GET", fmt.Sprintf("/api/admin/accounts/%d", acct), a, nil).ok(t, 200, &av)
	if av.Balance != 10_000_000 || av.BalanceCredits != "10" {
		t.Errorf("account = %+v", av)
	}

	// Audited with the admin key.
	var audit auditPage
	x.do("GET", "/api/admin/audit?action=credits.*", a, nil).ok(t, 200, &audit)
	if len(audit.Data) != 4 {
		t.Fatalf("audit = %+v", audit)
	}
	for _, e := range audit.Data {
		if e.Actor != x.actor() || e.Target != fmt.Sprint("account:", acct) {
			t.Errorf("audit entry %+v", e)
		}
	}

	// The ledger, newest first, paged.
	ledger := fmt.Sprintf("/api/admin/accounts/%d/ledger", acct)
	var page ledgerPage
	x.do("GET", ledger, a, nil).ok(t, 200, &page)
	if len(page.Data) != 8 || page.NextBefore != 0 || page.Data[0].Kind != "adjustment" || page.Data[7].Kind != "grant" {
		t.Fatalf("ledger = %+v", page)
	}
	var first, second ledgerPage
	x.do("GET", ledger+"?limit=5", a, nil).ok(t, 200, &first)
	if len(first.Data) != 5 || first.NextBefore != first.Data[4].ID {
		t.Fatalf("first page = %+v", first)
	}
	x.do("GET", fmt.Sprintf("%s?limit=5&before=%d", ledger, first.NextBefore), a, nil).ok(t, 200, &second)
	if len(second.Data) != 3 || second.NextBefore != 0 || second.Data[0].ID >= first.NextBefore {
		t.Errorf("second page = %+v", second)
	}
	var grantLeg *manage.LedgerEntryView
	for i, e := range page.Data {
		if e.Kind == "grant" && e.Account == "acme" && e.Amount == 12_500_000 {
			grantLeg = &page.Data[i]
		}
	}
	if grantLeg == nil || grantLeg.Memo != "welcome" || grantLeg.ExpiresAt == nil || grantLeg.AmountCredits != "12.5" {
		t.Errorf("grant leg = %+v", grantLeg)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	x.do("GET", ledger+"?since="+future, a, nil).ok(t, 200, &page)
	if len(page.Data) != 0 {
		t.Errorf("since the future: %+v", page)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?before=-1", "?since=yesterday", "?until=2025", "?bogus=1", "?limit=1&limit=2"} {
		var param string
		if p, _, _ := strings.Cut(strings.TrimPrefix(q, "?"), "="); p != "" {
			param = p
		}
		x.do("GET", ledger+q, a, nil).fails(t, 400, "invalid_request_error", param, "")
	}
	x.do("GET", "/api/admin/accounts/999/ledger", a, nil).fails(t, 404, "not_found_error", "", "")

	// Verify: consistent, then not, after a raw corruption.
	var v manage.VerifyView
	x.do("GET", "/api/admin/ledger/verify", a, nil).ok(t, 200, &v)
	if !v.OK || len(v.Problems) != 0 || v.Transactions != 4 || v.Accounts < 5 {
		t.Errorf("verify = %+v", v)
	}
	corruptBalance(t, x.dbPath, acct)
	x.do("GET", "/api/admin/ledger/verify", a, nil).ok(t, 200, &v)
	if v.OK || len(v.Problems) != 1 || !strings.Contains(v.Problems[0], "balance") {
		t.Errorf("verify after corruption = %+v", v)
	}
}

// corruptBalance adds a micro-credit to an account's balance behind the
// ledger's back, with a raw SQL update.
func corruptBalance(t *testing.T, dbPath string, account int64) {
	t.Helper()
	conn, err := sqlite.OpenConn(dbPath, sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetBlockOnBusy()
	err = sqlitex.Execute(conn, "UPDATE accounts SET balance = balance + 1 WHERE id = ?;", &sqlitex.ExecOptions{Args: []any{account}})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Changes() != 1 {
		t.Fatalf("no account %d", account)
	}
}

func TestUsageAndCallsFlow(t *testing.T) {
	x := newHub(t, hubOpts{})
	a := x.admin
	base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	recordCalls(t, x.st,
		store.Call{RequestID: "req_a", CreatedAt: base.Add(time.Minute), API: "chat.completions", AccountID: x.userKey.AccountID, KeyID: x.userKey.ID,
			Provider: "oa", Model: "gpt-4o", Status: store.CallOK, HTTPStatus: 200, PromptTokens: 10, CompletionTokens: 5,
			TTFB: 120 * time.Millisecond, Duration: 800 * time.Millisecond, Attempts: 2, Credits: 2_500_000, CredentialID: 3,
			AttemptLog: []store.Attempt{
				{Attempt: 1, Provider: "an", CredentialID: 9, Status: store.CallError, HTTPStatus: 503, ErrorType: "upstream_error", Duration: 10 * time.Millisecond},
				{Attempt: 2, Provider: "oa", CredentialID: 3, Status: store.CallOK, HTTPStatus: 200, Duration: 790 * time.Millisecond},
			}},
		store.Call{RequestID: "req_b", CreatedAt: base.Add(time.Hour + time.Minute), API: "chat.completions", AccountID: x.userKey.AccountID, KeyID: x.userKey.ID,
			Provider: "oa", Model: "gpt-4o-mini", Status: store.CallError, HTTPStatus: 429, Duration: 5 * time.Millisecond, Attempts: 1},
		store.Call{RequestID: "req_c", CreatedAt: base.Add(time.Hour + 2*time.Minute), API: "embeddings", AccountID: x.adminKey.AccountID, KeyID: x.adminKey.ID,
			Provider: "oa", Model: "=cmd|' /C calc'!A0", Status: store.CallOK, HTTPStatus: 200, Duration: 50 * time.Millisecond, Attempts: 1, Credits: 1},
	)

	usage := x.usage("/api/admin/usage?group_by=model,account")
	if len(usage.Data) != 3 {
		t.Fatalf("usage = %+v", usage)
	}
	var total int64
	for _, r := range usage.Data {
		total += r.Charged
		if r.Bucket != "hour" || r.Model == "" || r.AccountID == 0 || r.Start != nil {
			t.Errorf("row %+v", r)
		}
	}
	if total != 2_500_001 {
		t.Errorf("charged total %d", total)
	}
	usage = x.usage(fmt.Sprintf("/api/admin/usage?bucket=day&account_id=%d&model=gpt-4o", x.userKey.AccountID))
	if len(usage.Data) != 1 || usage.Data[0].Calls != 1 || usage.Data[0].ChargedCredits != "2.5" || usage.Data[0].Bucket != "day" {
		t.Errorf("filtered usage = %+v", usage)
	}
	usage = x.usage("/api/admin/usage?group_by=time&since=" + base.Add(time.Hour).Format(time.RFC3339))
	if len(usage.Data) != 1 || usage.Data[0].Calls != 2 || usage.Data[0].Start == nil || !usage.Data[0].Start.Equal(base.Add(time.Hour)) {
		t.Errorf("usage since = %+v", usage)
	}

	r := x.do("GET", "/api/admin/usage?group_by=model&format=csv", a, nil)
	rows := wantCSV(t, r, "usage.csv")
	if len(rows) != 4 || rows[0][5] != "model" {
		t.Errorf("usage CSV = %q", rows)
	}
	for _, q := range []struct{ q, param string }{
		{"bucket=week", "bucket"}, {"group_by=model,colour", "group_by"}, {"format=xml", "format"}, {"account_id=0", "account_id"},
		{"key_id=x", "key_id"}, {"since=now", "since"}, {"until=2020-01-01T00:00:00Z&since=2021-01-01T00:00:00Z", "until"},
		{"bucket=week&format=csv", "bucket"}, {"limit=5", "limit"},
	} {
		x.do("GET", "/api/admin/usage?"+q.q, a, nil).fails(t, 400, "invalid_request_error", q.param, "")
	}

	// Each answer is decoded into a fresh value: decoding into a used one
	// would keep the fields an answer leaves out.
	calls := x.callPage("/api/admin/calls")
	if len(calls.Data) != 3 || calls.Data[0].RequestID != "req_c" || calls.NextBefore != "" {
		t.Fatalf("calls = %+v", calls)
	}
	calls = x.callPage("/api/admin/calls?limit=2")
	if len(calls.Data) != 2 || calls.NextBefore == "" {
		t.Fatalf("calls page 1 = %+v", calls)
	}
	calls = x.callPage("/api/admin/calls?limit=2&before=" + calls.NextBefore)
	if len(calls.Data) != 1 || calls.Data[0].RequestID != "req_a" || calls.NextBefore != "" {
		t.Fatalf("calls page 2 = %+v", calls)
	}
	c := calls.Data[0]
	if c.Charged != 2_500_000 || c.ChargedCredits != "2.5" || c.TTFBUS != 120_000 || c.TTFBMS != 120 || c.AttemptCount != 2 || c.CredentialID != 3 || c.Attempts != nil {
		t.Errorf("call = %+v", c)
	}
	calls = x.callPage("/api/admin/calls?status=error&account_id=" + fmt.Sprint(x.userKey.AccountID))
	if len(calls.Data) != 1 || calls.Data[0].RequestID != "req_b" {
		t.Errorf("errors = %+v", calls)
	}
	calls = x.callPage("/api/admin/calls?until=" + base.Add(time.Hour).Format(time.RFC3339) + "&provider=oa")
	if len(calls.Data) != 1 || calls.Data[0].RequestID != "req_a" {
		t.Errorf("until = %+v", calls)
	}
	for _, q := range []struct{ q, param string }{
		{"status=weird", "status"}, {"limit=0", "limit"}, {"before=nope", "before"}, {"format=csv&before=1_1", "before"},
		{"bucket=hour", "bucket"}, {"account_id=-1", "account_id"},
	} {
		x.do("GET", "/api/admin/calls?"+q.q, a, nil).fails(t, 400, "invalid_request_error", q.param, "")
	}

	r = x.do("GET", "/api/admin/calls?format=csv", a, nil)
	rows = wantCSV(t, r, "calls.csv")
	if len(rows) != 4 || rows[0][1] != "request_id" || rows[1][1] != "req_c" || rows[1][8] != "'=cmd|' /C calc'!A0" {
		t.Errorf("calls CSV = %q", rows)
	}
	rows = wantCSV(t, x.do("GET", "/api/admin/calls?format=csv&limit=1", a, nil), "calls.csv")
	if len(rows) != 2 {
		t.Errorf("calls CSV, limit 1 = %q", rows)
	}
	// An empty export is a header row.
	rows = wantCSV(t, x.do("GET", "/api/admin/calls?format=csv&model=nothing", a, nil), "calls.csv")
	if len(rows) != 1 {
		t.Errorf("empty calls CSV = %q", rows)
	}

	var one manage.CallView
	x.do("GET", "/api/admin/calls/req_a", a, nil).ok(t, 200, &one)
	if one.RequestID != "req_a" || len(one.Attempts) != 2 || one.Attempts[0].Provider != "an" || one.Attempts[0].HTTPStatus != 503 ||
		one.Attempts[0].CredentialID != 9 || one.Attempts[1].DurationUS != 790_000 {
		t.Errorf("call = %+v", one)
	}
	x.do("GET", "/api/admin/calls/req_nope", a, nil).fails(t, 404, "not_found_error", "", "")
}

// usage gets usage rows with the admin key.
func (x *hub) usage(path string) list[manage.StatsView] {
	x.t.Helper()
	var l list[manage.StatsView]
	x.do("GET", path, x.admin, nil).ok(x.t, 200, &l)
	return l
}

// callPage gets a page of calls with the admin key.
func (x *hub) callPage(path string) manage.CallPage {
	x.t.Helper()
	var p manage.CallPage
	x.do("GET", path, x.admin, nil).ok(x.t, 200, &p)
	return p
}

// wantCSV checks that r is a CSV attachment called name and returns its
// records.
func wantCSV(t *testing.T, r response, name string) [][]string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename="`+name+`"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	rows, err := readCSV(r.body)
	if err != nil {
		t.Fatalf("CSV %q: %v", r.body, err)
	}
	return rows
}

func readCSV(b []byte) ([][]string, error) {
	return csv.NewReader(bytes.NewReader(b)).ReadAll()
}
