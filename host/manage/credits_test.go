package manage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/billing"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in     string
		signed bool
		want   int64
		err    string
	}{
		{"12.5", false, 12_500_000, ""},
		{"0.000001", false, 1, ""},
		{"0.1", false, 100_000, ""},
		{"4.35", false, 4_350_000, ""}, // float64(4.35)*1e6 = 4349999.99…
		{"-1.5", true, -1_500_000, ""},
		{"1.5", true, 1_500_000, ""},
		{"-0.000001", true, -1, ""},
		{"-1.5", false, 0, "negative"},
		{"--1", true, 0, "decimal number"},
		{"-", true, 0, "decimal number"},
		{"1.0000001", false, 0, "more than 6 decimals"},
		{"1e3", false, 0, "decimal number"},
		{"", false, 0, "decimal number"},
		{"+1", true, 0, "decimal number"},
	}
	for _, tt := range tests {
		got, err := manage.ParseAmount("amount", tt.in, tt.signed)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseAmount(%q, %v) = %d, %v; want %d", tt.in, tt.signed, got, err, tt.want)
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseAmount(%q, %v) = %d, %v; want an error with %q", tt.in, tt.signed, got, err, tt.err)
				continue
			}
			wantField(t, err, "amount")
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.5", "-1.5", "0.000001", "--1", "-", "9223372036854.775807", "-9223372036854.775807", ""} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, signed bool) {
		n, err := manage.ParseAmount("amount", s, signed)
		if err != nil {
			if !manage.IsValidation(err) {
				t.Fatalf("ParseAmount(%q): %v is not a ValidationError", s, err)
			}
			return
		}
		if n < 0 && !signed {
			t.Fatalf("ParseAmount(%q, unsigned) = %d", s, n)
		}
		back, err := manage.ParseAmount("amount", config.FormatCredits(n), signed)
		if err != nil || back != n {
			t.Fatalf("ParseAmount(FormatCredits(%d)) = %d, %v", n, back, err)
		}
	})
}

// auditOf returns the audit entries of action, newest first.
func auditOf(t *testing.T, e *env, action string) []store.AuditEntry {
	t.Helper()
	es, err := e.svc.ListAudit(context.Background(), store.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func mustBalance(t *testing.T, e *env, id int64) int64 {
	t.Helper()
	b, err := e.svc.Balance(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGrantAdjustLedger(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	a, err := e.svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != 0 || a.BalanceCredits != "0" {
		t.Errorf("new account without a grant: %+v", a)
	}
	expires := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
	if err := e.svc.Grant(ctx, a.ID, 12_500_000, "welcome", expires); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Adjust(ctx, a.ID, -1_500_000, "refund of an overcharge"); err != nil {
		t.Fatal(err)
	}
	if b := mustBalance(t, e, a.ID); b != 11_000_000 {
		t.Errorf("balance = %d, want 11_000_000", b)
	}
	got, err := e.svc.Account(ctx, a.ID)
	if err != nil || got.Balance != 11_000_000 || got.BalanceCredits != "11" {
		t.Errorf("Account = %+v, %v", got, err)
	}
	list, err := e.svc.ListAccounts(ctx)
	if err != nil || len(list) != 1 || list[0].Balance != 11_000_000 || list[0].BalanceCredits != "11" {
		t.Errorf("ListAccounts = %+v, %v", list, err)
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"balance":11000000`) || !strings.Contains(string(b), `"balance_credits":"11"`) {
		t.Errorf("account JSON = %s", b)
	}

	// Both are audited with the actor, in the same transaction as the
	// change.
	for _, c := range []struct{ action, amount string }{{"credits.grant", "12500000"}, {"credits.adjust", "-1500000"}} {
		es := auditOf(t, e, c.action)
		if len(es) != 1 || es[0].Actor != "cli:test" || es[0].Target != fmt.Sprint("account:", a.ID) ||
			!strings.Contains(string(es[0].Detail), `"amount":`+c.amount) {
			t.Errorf("%s audit = %+v", c.action, es)
		}
	}

	// The ledger: two legs per transaction, newest first, with names.
	entries, err := e.svc.Ledger(ctx, store.LedgerFilter{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Fatalf("ledger = %+v", entries)
	}
	byAccount := map[string]manage.LedgerEntryView{}
	for _, en := range entries {
		byAccount[en.Kind+" "+en.Account] = en
		if en.UserAccountID != a.ID || len(en.Detail) == 0 {
			t.Errorf("entry %+v", en)
		}
	}
	g, ok := byAccount["grant acme"]
	if !ok || g.Amount != 12_500_000 || g.AmountCredits != "12.5" || g.Memo != "welcome" || g.ExpiresAt == nil || !g.ExpiresAt.Equal(expires) {
		t.Errorf("grant leg = %+v", g)
	}
	if c := byAccount["grant system:grants"]; c.Amount != -12_500_000 || c.AmountCredits != "-12.5" || c.AccountID >= 0 {
		t.Errorf("grant counter leg = %+v", c)
	}
	if adj := byAccount["adjustment acme"]; adj.Amount != -1_500_000 || adj.AmountCredits != "-1.5" || adj.ExpiresAt != nil {
		t.Errorf("adjustment leg = %+v", adj)
	}
	if entries[0].Kind != "adjustment" {
		t.Errorf("not newest first: %+v", entries)
	}
	page, err := e.svc.Ledger(ctx, store.LedgerFilter{AccountID: a.ID, Limit: 2})
	if err != nil || len(page) != 2 {
		t.Fatalf("limit 2: %+v, %v", page, err)
	}
	rest, err := e.svc.Ledger(ctx, store.LedgerFilter{AccountID: a.ID, BeforeID: page[1].ID})
	if err != nil || len(rest) != 2 || rest[0].Kind != "grant" {
		t.Errorf("next page: %+v, %v", rest, err)
	}

	r, err := e.svc.VerifyLedger(ctx)
	if err != nil || len(r.Problems) != 0 || r.Transactions != 2 {
		t.Errorf("VerifyLedger = %+v, %v", r, err)
	}
	v := manage.NewVerifyView(r)
	b, _ = json.Marshal(v)
	if !v.OK || !strings.Contains(string(b), `"ok":true`) || !strings.Contains(string(b), `"problems":[]`) {
		t.Errorf("verify view = %s", b)
	}
	if v := manage.NewVerifyView(store.VerifyReport{Problems: []string{"x"}}); v.OK {
		t.Error("a report with problems is OK")
	}
}

func TestCreditsValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	a, err := e.svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Grant(ctx, a.ID, 1_000_000, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	for _, tt := range []struct {
		name  string
		err   error
		field string
	}{
		{"grant zero", e.svc.Grant(ctx, a.ID, 0, "", time.Time{}), "amount"},
		{"grant negative", e.svc.Grant(ctx, a.ID, -5, "", time.Time{}), "amount"},
		{"grant too much", e.svc.Grant(ctx, a.ID, store.MaxLedgerAmount+1, "", time.Time{}), "amount"},
		{"grant expired", e.svc.Grant(ctx, a.ID, 1, "", past), "expires_at"},
		{"grant memo control", e.svc.Grant(ctx, a.ID, 1, "a\nb", time.Time{}), "memo"},
		{"grant memo long", e.svc.Grant(ctx, a.ID, 1, strings.Repeat("m", 1025), time.Time{}), "memo"},
		{"adjust zero", e.svc.Adjust(ctx, a.ID, 0, ""), "amount"},
		{"adjust below zero", e.svc.Adjust(ctx, a.ID, -1_000_001, ""), "amount"},
		{"adjust too much", e.svc.Adjust(ctx, a.ID, -store.MaxLedgerAmount-1, ""), "amount"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantField(t, tt.err, tt.field) })
	}
	for _, id := range []int64{999, 0, -1, -2} { // -1…-4: the system accounts
		wantIs(t, e.svc.Grant(ctx, id, 1, "", time.Time{}), store.ErrNotFound)
		wantIs(t, e.svc.Adjust(ctx, id, 1, ""), store.ErrNotFound)
		_, err := e.svc.Balance(ctx, id)
		wantIs(t, err, store.ErrNotFound)
		if id != 0 { // 0: every account's
			_, err = e.svc.Ledger(ctx, store.LedgerFilter{AccountID: id})
			wantIs(t, err, store.ErrNotFound)
		}
		_, err = e.svc.Account(ctx, id)
		wantIs(t, err, store.ErrNotFound)
	}
	// Nothing above moved the balance or audited anything.
	if b := mustBalance(t, e, a.ID); b != 1_000_000 {
		t.Errorf("balance = %d", b)
	}
	if n := len(auditOf(t, e, "credits.*")); n != 1 {
		t.Errorf("%d credits audit entries, want 1", n)
	}
	// Adjusting to exactly zero is fine.
	if err := e.svc.Adjust(ctx, a.ID, -1_000_000, "close"); err != nil {
		t.Fatal(err)
	}
	// The ledger's system accounts' names are reserved.
	for _, name := range []string{"system:grants", "system:new"} {
		_, err := e.svc.CreateAccount(ctx, name)
		wantField(t, err, "name")
		_, err = e.svc.RenameAccount(ctx, a.ID, name)
		wantField(t, err, "name")
		_, _, err = e.svc.CreateKey(ctx, manage.KeySpec{Account: name})
		wantField(t, err, "account")
	}
	if _, err := e.svc.RenameAccount(ctx, -1, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rename a system account: %v", err)
	}
}

func TestResolveAccount(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	acme, _ := e.svc.CreateAccount(ctx, "acme")
	seven, _ := e.svc.CreateAccount(ctx, fmt.Sprint(acme.ID)) // named like acme's id
	for ref, want := range map[string]int64{"acme": acme.ID, fmt.Sprint(acme.ID): seven.ID, fmt.Sprint(seven.ID): seven.ID} {
		got, err := e.svc.ResolveAccount(ctx, ref)
		if err != nil || got.ID != want {
			t.Errorf("ResolveAccount(%q) = %+v, %v; want id %d", ref, got, err, want)
		}
	}
	for _, ref := range []string{"nope", "999", "-1", "0", "system:grants", ""} {
		if _, err := e.svc.ResolveAccount(ctx, ref); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResolveAccount(%q): %v, want not found", ref, err)
		}
	}
}

// fakeGranter records grants and applies them to the store.
type fakeGranter struct {
	st    *store.Store
	mu    sync.Mutex
	calls []string
}

func (g *fakeGranter) Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) error {
	g.mu.Lock()
	g.calls = append(g.calls, fmt.Sprintf("%d:%d:%s", accountID, amount, memo))
	g.mu.Unlock()
	_, err := g.st.Grant(ctx, accountID, amount, memo, expires)
	return err
}

func (g *fakeGranter) got() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.calls...)
}

func TestNewAccountGrant(t *testing.T) {
	e := newEnv(t, envOpts{})
	g := &fakeGranter{st: e.st}
	svc := manage.New(manage.Options{Store: e.st, Granter: g, NewAccountGrant: 5_000_000})
	ctx := actor()

	a, err := svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.Balance != 5_000_000 || a.BalanceCredits != "5" {
		t.Errorf("created %+v", a)
	}
	// A key's new account gets the grant; an existing one does not get
	// another.
	_, k, err := svc.CreateKey(ctx, manage.KeySpec{Account: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateKey(ctx, manage.KeySpec{Account: "fresh"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateKey(ctx, manage.KeySpec{AccountID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateKey(ctx, manage.KeySpec{}); err != nil { // the default account
		t.Fatal(err)
	}
	if b := mustBalance(t, e, k.AccountID); b != 5_000_000 {
		t.Errorf("fresh balance = %d", b)
	}
	if b := mustBalance(t, e, a.ID); b != 5_000_000 {
		t.Errorf("acme balance = %d", b)
	}
	if got := g.got(); len(got) != 3 || got[0] != fmt.Sprintf("%d:5000000:%s", a.ID, manage.NewAccountGrantMemo) {
		t.Errorf("grants = %q", got)
	}
	es := auditOf(t, e, "credits.grant")
	if len(es) != 3 || es[0].Actor != "cli:test" || !strings.Contains(string(es[0].Detail), manage.NewAccountGrantMemo) {
		t.Errorf("audit = %+v", es)
	}

	// A failed grant is reported; the account exists without it.
	bad := manage.New(manage.Options{Store: e.st, Granter: failingGranter{}, NewAccountGrant: 1})
	if _, err := bad.CreateAccount(ctx, "unlucky"); err == nil || !strings.Contains(err.Error(), "was created, but its new account grant failed") {
		t.Errorf("CreateAccount with a failing granter: %v", err)
	}
	if _, err := e.svc.ResolveAccount(ctx, "unlucky"); err != nil {
		t.Errorf("the account is gone: %v", err)
	}
}

type failingGranter struct{}

func (failingGranter) Grant(context.Context, int64, int64, string, time.Time) error {
	return errors.New("ledger unavailable")
}

// TestNewAccountGrantOnce hammers the creation of one account by many
// keys at once: it is created, and granted, once.
func TestNewAccountGrantOnce(t *testing.T) {
	e := newEnv(t, envOpts{})
	svc := manage.New(manage.Options{Store: e.st, NewAccountGrant: 2_000_000})
	ctx := actor()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, _, err := svc.CreateKey(ctx, manage.KeySpec{Account: "crowd"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a, err := svc.ResolveAccount(ctx, "crowd")
	if err != nil {
		t.Fatal(err)
	}
	if a.Keys != 16 || a.Balance != 2_000_000 {
		t.Errorf("crowd = %+v, want 16 keys and one grant", a)
	}
}

// TestGrantThroughBiller checks the hub's path: a grant through a real
// billing.Biller reaches the store audited with the caller's actor, and
// the Biller's own view of the balance includes it at once.
func TestGrantThroughBiller(t *testing.T) {
	e := newEnv(t, envOpts{})
	b := billing.New(billing.Options{Store: e.st, PollInterval: time.Hour})
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(runCtx) }()
	t.Cleanup(func() {
		b.Close(context.Background())
		cancel()
		<-done
	})
	svc := manage.New(manage.Options{Store: e.st, Granter: b, NewAccountGrant: 1_000_000})
	ctx := store.WithActor(context.Background(), store.Actor{Name: "key:7:sk-hub-abc", KeyID: 7})
	a, err := svc.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Grant(ctx, a.ID, 2_500_000, "top-up", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Balance(ctx, a.ID); err != nil || got != 3_500_000 {
		t.Errorf("Biller.Balance = %d, %v; want 3_500_000", got, err)
	}
	if got := mustBalance(t, e, a.ID); got != 3_500_000 {
		t.Errorf("store balance = %d", got)
	}
	es := auditOf(t, e, "credits.grant")
	if len(es) != 2 {
		t.Fatalf("audit = %+v", es)
	}
	for _, en := range es {
		if en.Actor != "key:7:sk-hub-abc" || en.ActorKeyID != 7 {
			t.Errorf("audit entry %+v: the actor was lost on the way through the Biller", en)
		}
	}
	if !strings.Contains(string(es[0].Detail), "top-up") || !strings.Contains(string(es[1].Detail), manage.NewAccountGrantMemo) {
		t.Errorf("audit details: %s, %s", es[0].Detail, es[1].Detail)
	}
}

func TestBillingPluginIsNotAProvider(t *testing.T) {
	cfg := &config.Config{
		Billing: config.Billing{Policy: "mybill"},
		Plugins: map[string]config.PluginEntry{
			"mybill":  {Name: "mybill", Source: "/plugins/bill.wasm"},
			"pricing": {Name: "pricing", Source: "builtin:credits"},
			"custom":  {Name: "custom", Source: "/plugins/custom.wasm"},
		},
	}
	for _, tt := range []struct {
		cfg    *config.Config
		plugin string
	}{{nil, "credits"}, {cfg, "credits"}, {cfg, "mybill"}, {cfg, "pricing"}} {
		e := newEnv(t, envOpts{cfg: tt.cfg})
		_, err := e.svc.CreateProvider(actor(), manage.ProviderSpec{Name: "p", Plugin: tt.plugin, BaseURL: ptr("http://127.0.0.1:1")})
		wantField(t, err, "plugin")
		if !strings.Contains(err.Error(), "billing plugin") {
			t.Errorf("plugin %q: %v", tt.plugin, err)
		}
	}
	e := newEnv(t, envOpts{cfg: cfg})
	mustProvider(t, e, manage.ProviderSpec{Name: "p", Plugin: "custom", BaseURL: ptr("http://127.0.0.1:1")})
	_, err := e.svc.UpdateProvider(actor(), "p", manage.ProviderSpec{Plugin: "mybill"})
	wantField(t, err, "plugin")
}
