package main

import (
	"context"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// billingConfig writes a config whose new accounts get 5 credits and
// returns its path and data dir.
func billingConfig(t *testing.T) (path, dataDir string) {
	t.Helper()
	noMasterKeyEnv(t)
	path = writeConfig(t)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("[billing]\nnew_account_grant = \"5\"\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg.DataDir
}

func TestCreditsCommands(t *testing.T) {
	cfg, dataDir := billingConfig(t)
	if out := mustHub(t, "accounts", "create", "acme", "-config", cfg); !strings.Contains(out, "balance 5 credits") {
		t.Errorf("create: %s", out)
	}
	var a manage.AccountView
	decode(t, mustHub(t, "credits", "balance", "acme", "-json", "-config", cfg), &a)
	if a.Name != "acme" || a.Balance != 5_000_000 || a.BalanceCredits != "5" {
		t.Fatalf("balance -json: %+v", a)
	}
	id := strconv.FormatInt(a.ID, 10)

	out := mustHub(t, "credits", "grant", "acme", "12.5", "--memo", "welcome", "--expires", "720h", "-config", cfg)
	if !strings.Contains(out, "granted 12.5 credits") || !strings.Contains(out, "balance 17.5 credits") {
		t.Errorf("grant: %s", out)
	}
	var res admin.CreditsResult
	decode(t, mustHub(t, "credits", "grant", id, "0.000001", "-json", "-config", cfg), &res) // by id
	if res != (admin.CreditsResult{AccountID: a.ID, Amount: 1, AmountCredits: "0.000001", Balance: 17_500_001, BalanceCredits: "17.500001"}) {
		t.Errorf("grant -json: %+v", res)
	}
	// Negative amounts are amounts, not flags, wherever they are.
	if out := mustHub(t, "credits", "adjust", "acme", "-2.5", "--memo", "overcharge", "-config", cfg); !strings.Contains(out, "balance 15.000001 credits") {
		t.Errorf("adjust: %s", out)
	}
	mustHub(t, "credits", "adjust", "--memo", "-5", "acme", "-1", "-config", cfg) // --memo's value is "-5"
	mustHub(t, "credits", "adjust", "-config", cfg, "acme", "--", "-0.000001")
	mustHub(t, "credits", "adjust", "acme", "1", "-config", cfg)
	if out := mustHub(t, "credits", "balance", id, "-config", cfg); !strings.Contains(out, "15 credits (15000000 micro-credits)") {
		t.Errorf("balance: %s", out)
	}
	if out := mustHub(t, "accounts", "list", "-config", cfg); !strings.Contains(out, "BALANCE") || !strings.Contains(out, "15") {
		t.Errorf("accounts list: %s", out)
	}

	// A key's new account gets the grant too.
	mustHub(t, "keys", "create", "--name", "k", "--account", "fresh", "-config", cfg)
	decode(t, mustHub(t, "credits", "balance", "fresh", "-json", "-config", cfg), &a)
	if a.Balance != 5_000_000 {
		t.Errorf("fresh: %+v", a)
	}

	wantExit(t, 1, []string{"hub credits grant: ", "must be positive"}, "credits", "grant", "acme", "-1", "-config", cfg)
	wantExit(t, 1, []string{"AMOUNT: ", "more than 6 decimals"}, "credits", "grant", "acme", "1.0000001", "-config", cfg)
	wantExit(t, 1, []string{"AMOUNT: "}, "credits", "grant", "acme", "1e3", "-config", cfg)
	wantExit(t, 1, []string{"AMOUNT: "}, "credits", "adjust", "acme", "+1", "-config", cfg)
	wantExit(t, 1, []string{"hub credits grant: ", "not found"}, "credits", "grant", "nobody", "1", "-config", cfg)
	wantExit(t, 1, []string{"hub credits adjust: amount: ", "below zero"}, "credits", "adjust", "acme", "-1000", "-config", cfg)
	wantExit(t, 1, []string{"amount: must not be zero"}, "credits", "adjust", "acme", "0", "-config", cfg)
	wantExit(t, 1, []string{"memo: "}, "credits", "grant", "acme", "1", "--memo", "a\tb", "-config", cfg)
	wantExit(t, 2, []string{"want ACCOUNT AMOUNT"}, "credits", "grant", "acme", "-config", cfg)
	wantExit(t, 2, []string{"--expires", "positive"}, "credits", "grant", "acme", "1", "--expires", "-1h", "-config", cfg)
	wantExit(t, 2, []string{"--expires"}, "credits", "grant", "acme", "1", "--expires", "someday", "-config", cfg)
	wantExit(t, 2, []string{"unknown sub-command"}, "credits", "steal", "acme", "1", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "credits", "balance", "nobody", "-config", cfg)
	decode(t, mustHub(t, "credits", "balance", "acme", "-json", "-config", cfg), &a)
	if a.Balance != 15_000_000 {
		t.Errorf("the refusals moved the balance: %+v", a)
	}

	// Every change is audited as cli:USER, with its memo.
	rows := auditRows(t, cfg, "--action", "credits.*")
	var actions []string
	for _, r := range rows {
		actions = append(actions, r.Action)
		if !strings.HasPrefix(r.Actor, "cli:") {
			t.Errorf("audit row %+v", r)
		}
	}
	want := []string{"credits.grant", "credits.adjust", "credits.adjust", "credits.adjust", "credits.adjust", "credits.grant", "credits.grant", "credits.grant"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit actions %q, want %q", actions, want)
	}
	if d := string(rows[0].Detail); !strings.Contains(d, manage.NewAccountGrantMemo) { // fresh's grant
		t.Errorf("new account grant audit: %s", d)
	}

	// The ledger: both legs of each transaction, newest first.
	var es []manage.LedgerEntryView
	decode(t, mustHub(t, "ledger", "show", "acme", "-json", "-config", cfg), &es)
	if len(es) != 14 || es[0].Kind != "adjustment" || es[len(es)-1].Kind != "grant" {
		t.Fatalf("ledger show -json: %+v", es)
	}
	var memos []string
	for _, e := range es {
		if e.Account == "acme" {
			memos = append(memos, e.Memo)
		}
	}
	if !slices.Contains(memos, "welcome") || !slices.Contains(memos, "-5") || !slices.Contains(memos, manage.NewAccountGrantMemo) {
		t.Errorf("memos %q", memos)
	}
	decode(t, mustHub(t, "ledger", "show", "acme", "--limit", "3", "-json", "-config", cfg), &es)
	if len(es) != 3 {
		t.Errorf("--limit 3: %d entries", len(es))
	}
	var older []manage.LedgerEntryView
	decode(t, mustHub(t, "ledger", "show", "acme", "--before", strconv.FormatInt(es[2].ID, 10), "-json", "-config", cfg), &older)
	if len(older) != 11 || older[0].ID >= es[2].ID {
		t.Errorf("--before: %d entries", len(older))
	}
	if out := mustHub(t, "ledger", "show", id, "-config", cfg); !strings.Contains(out, "welcome") || !strings.Contains(out, "system:grants") ||
		!strings.Contains(out, "-2.5") || !strings.Contains(out, "balance 15 credits") {
		t.Errorf("ledger show: %s", out)
	}
	wantExit(t, 2, []string{"--limit must be positive"}, "ledger", "show", "acme", "--limit", "0", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "ledger", "show", "nobody", "-config", cfg)

	// verify: 0 when consistent, 1 with the problems listed when not.
	code, out, errs := hub(t, "ledger", "verify", "-config", cfg)
	if code != 0 || !strings.Contains(out, "ok: the ledger is consistent") || !strings.Contains(out, "8 transactions") || errs != "" {
		t.Fatalf("verify: exit %d\n%s\n%s", code, out, errs)
	}
	var v manage.VerifyView
	decode(t, mustHub(t, "ledger", "verify", "-json", "-config", cfg), &v)
	if !v.OK || v.Transactions != 8 || len(v.Problems) != 0 {
		t.Errorf("verify -json: %+v", v)
	}

	corruptBalance(t, dataDir, a.ID)
	code, out, errs = hub(t, "ledger", "verify", "-config", cfg)
	if code != 1 || !strings.Contains(out, "problem: account "+id+" (acme): balance 15000001, but its entries add up to 15000000") ||
		strings.Contains(out, "ok:") || !strings.Contains(errs, "hub ledger verify: the ledger is inconsistent: 1 problem\n") {
		t.Fatalf("verify a corrupt ledger: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	code, out, _ = hub(t, "ledger", "verify", "-json", "-config", cfg)
	decode(t, out, &v)
	if code != 1 || v.OK || len(v.Problems) != 1 {
		t.Errorf("verify -json a corrupt ledger: exit %d, %+v", code, v)
	}
}

// corruptBalance adds a micro-credit to an account's balance behind the
// ledger's back, with a raw SQL update of the data dir's database.
func corruptBalance(t *testing.T, dataDir string, account int64) {
	t.Helper()
	conn, err := sqlite.OpenConn(filepath.Join(dataDir, "hub.db"), sqlite.OpenReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = sqlitex.Execute(conn, "UPDATE accounts SET balance = balance + 1 WHERE id = ? AND kind = 'user';", &sqlitex.ExecOptions{Args: []any{account}})
	if err != nil {
		t.Fatal(err)
	}
	if conn.Changes() != 1 {
		t.Fatalf("no user account %d", account)
	}
}

func TestTakeNegative(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("memo", "", "")
	fs.Bool("json", false, "")
	for _, tt := range []struct {
		args     string
		rest     string
		negative string
	}{
		{"acme -1.5", "acme", "-1.5"},
		{"-1.5 acme", "acme", "-1.5"},
		{"acme -.5", "acme", "-.5"},
		{"acme 1.5", "acme 1.5", ""},
		{"--memo -5 acme -1", "--memo -5 acme", "-1"},
		{"-memo -5 acme 2", "-memo -5 acme 2", ""},
		{"--memo=-5 acme -1", "--memo=-5 acme", "-1"},
		{"-json -1 acme", "-json acme", "-1"},
		{"acme -- -1", "acme -- -1", ""},
		{"acme -1x", "acme -1x", ""},
		{"acme -", "acme -", ""},
		{"--unknown -1", "--unknown", "-1"},
	} {
		rest, neg := takeNegative(fs, strings.Fields(tt.args))
		if strings.Join(rest, " ") != tt.rest || neg != tt.negative {
			t.Errorf("takeNegative(%q) = %q, %q; want %q, %q", tt.args, rest, neg, tt.rest, tt.negative)
		}
	}
}

func TestUsageAndCallsCommands(t *testing.T) {
	cfg, dataDir := billingConfig(t)
	mustHub(t, "accounts", "create", "acme", "-config", cfg)
	mustHub(t, "accounts", "create", "other", "-config", cfg)
	var as []manage.AccountView
	decode(t, mustHub(t, "accounts", "list", "-json", "-config", cfg), &as)
	acme, other := as[0].ID, as[1].ID

	st, closeStore := openStore(t, dataDir)
	at := time.Now().Add(-2 * time.Hour)
	rec := store.NewRecorder(st, store.RecorderOptions{})
	for _, c := range []store.Call{
		{RequestID: "req_1", CreatedAt: at, API: "chat.completions", AccountID: acme, KeyID: 1, Provider: "oa", Model: "gpt-4o", UpstreamModel: "gpt-4o-2024",
			Status: store.CallOK, HTTPStatus: 200, PromptTokens: 100, CompletionTokens: 10, TTFB: 90 * time.Millisecond, Duration: 700 * time.Millisecond,
			Attempts: 2, Credits: 1_500_000, CredentialID: 2,
			AttemptLog: []store.Attempt{
				{Attempt: 1, Provider: "an", CredentialID: 7, Status: store.CallError, HTTPStatus: 529, ErrorType: "upstream_error", ErrorMessage: "overloaded", Duration: 15 * time.Millisecond},
				{Attempt: 2, Provider: "oa", CredentialID: 2, UpstreamModel: "gpt-4o-2024", Status: store.CallOK, HTTPStatus: 200, Duration: 685 * time.Millisecond},
			}},
		{RequestID: "req_2", CreatedAt: at.Add(time.Second), API: "chat.completions", AccountID: acme, KeyID: 1, Provider: "oa", Model: "gpt-4o-mini",
			Status: store.CallError, HTTPStatus: 502, Duration: 40 * time.Millisecond, Attempts: 1},
		{RequestID: "req_3", CreatedAt: at.Add(2 * time.Second), API: "embeddings", AccountID: other, KeyID: 2, Provider: "oa", Model: "text-embedding-3-small",
			Status: store.CallOK, HTTPStatus: 200, PromptTokens: 8, Duration: 30 * time.Millisecond, Attempts: 1, Credits: 1},
	} {
		if err := rec.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	closeStore()

	var rows []manage.StatsView
	decode(t, mustHub(t, "usage", "--group-by", "model", "-json", "-config", cfg), &rows)
	if len(rows) != 3 || rows[0].Model != "gpt-4o" || rows[0].Charged != 1_500_000 || rows[0].ChargedCredits != "1.5" {
		t.Fatalf("usage -json: %+v", rows)
	}
	decode(t, mustHub(t, "usage", "--account", "acme", "--since", "24h", "-json", "-config", cfg), &rows)
	if len(rows) != 1 || rows[0].Calls != 2 || rows[0].Errors != 1 {
		t.Errorf("usage --account acme: %+v", rows)
	}
	decode(t, mustHub(t, "usage", "--until", "3h", "-json", "-config", cfg), &rows)
	if len(rows) != 0 {
		t.Errorf("usage --until 3h: %+v", rows)
	}
	out := mustHub(t, "usage", "--group-by", "account,time", "--bucket", "day", "-config", cfg)
	if !strings.Contains(out, "ACCOUNT") || !strings.Contains(out, "TIME") || !strings.Contains(out, "CALLS") || !strings.Contains(out, "1.5") {
		t.Errorf("usage table: %s", out)
	}
	records := readCSV(t, mustHub(t, "usage", "--group-by", "provider", "--csv", "-config", cfg))
	if len(records) != 2 || records[0][0] != "start" || records[1][4] != "oa" || records[1][6] != "3" {
		t.Errorf("usage --csv: %q", records)
	}
	wantExit(t, 1, []string{"hub usage: bucket: "}, "usage", "--bucket", "week", "-config", cfg)
	wantExit(t, 1, []string{"hub usage: group_by: "}, "usage", "--group-by", "model,colour", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "usage", "--account", "nobody", "-config", cfg)
	wantExit(t, 2, []string{"--until"}, "usage", "--until", "tomorrow", "-config", cfg)
	wantExit(t, 2, []string{"not both"}, "usage", "--csv", "-json", "-config", cfg)

	// calls export: CSV by default, newest first.
	records = readCSV(t, mustHub(t, "calls", "export", "-config", cfg))
	if len(records) != 4 || records[0][1] != "request_id" || records[1][1] != "req_3" || records[3][1] != "req_1" {
		t.Errorf("calls export: %q", records)
	}
	records = readCSV(t, mustHub(t, "calls", "export", "--account", "acme", "--status", "error", "--csv", "-config", cfg))
	if len(records) != 2 || records[1][1] != "req_2" {
		t.Errorf("calls export --account acme --status error: %q", records)
	}
	var calls []manage.CallView
	decode(t, mustHub(t, "calls", "export", "-json", "--since", "24h", "-config", cfg), &calls)
	if len(calls) != 3 || calls[2].RequestID != "req_1" || calls[2].ChargedCredits != "1.5" || calls[2].TTFBMS != 90 {
		t.Errorf("calls export -json: %+v", calls)
	}
	decode(t, mustHub(t, "calls", "export", "-json", "--limit", "2", "-config", cfg), &calls)
	if len(calls) != 2 || calls[0].RequestID != "req_3" {
		t.Errorf("calls export -json --limit 2: %+v", calls)
	}
	decode(t, mustHub(t, "calls", "export", "-json", "--model", "none", "-config", cfg), &calls)
	if len(calls) != 0 {
		t.Errorf("no calls: %+v", calls)
	}
	wantExit(t, 1, []string{"hub calls export: status: "}, "calls", "export", "--status", "odd", "-config", cfg)
	wantExit(t, 2, []string{"not both"}, "calls", "export", "--csv", "-json", "-config", cfg)

	out = mustHub(t, "calls", "show", "req_1", "-config", cfg)
	for _, want := range []string{"req_1", "gpt-4o-2024", "1.5 credits", "overloaded", "529", "685.0ms", "attempts:"} {
		if !strings.Contains(out, want) {
			t.Errorf("calls show lacks %q:\n%s", want, out)
		}
	}
	var one manage.CallView
	decode(t, mustHub(t, "calls", "show", "req_1", "-json", "-config", cfg), &one)
	if len(one.Attempts) != 2 || one.Attempts[0].ErrorMessage != "overloaded" {
		t.Errorf("calls show -json: %+v", one)
	}
	wantExit(t, 1, []string{"not found"}, "calls", "show", "req_nope", "-config", cfg)
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, s)
	}
	return records
}
