package manage_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

func TestCredentialLifecycle(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	mustProvider(t, e, manage.ProviderSpec{Name: "an", Plugin: "anthropic"})

	c1, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("env:OPENAI_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	if c1.Name != "oa-1" || c1.Provider != "oa" || c1.Source != "env:OPENAI_KEY" || c1.Hint != "" || c1.Weight != 1 ||
		!c1.Enabled || c1.ManagedBy != store.ManagedByAPI || c1.UpdatedAt.IsZero() {
		t.Errorf("env credential = %+v", c1)
	}
	c2, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("short"), Weight: ptr(5), Enabled: ptr(false)})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Name != "oa-2" || c2.Source != "encrypted" || c2.Hint != "****" || c2.Weight != 5 || c2.Enabled {
		t.Errorf("literal credential = %+v", c2)
	}
	c3, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Name: "backup"})
	if err != nil {
		t.Fatal(err)
	}
	if c3.Source != "none" || c3.Name != "backup" {
		t.Errorf("credential without secret = %+v", c3)
	}
	_, err = e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Name: "backup"})
	wantIs(t, err, store.ErrExists)
	_, err = e.svc.AddCredential(ctx, "nope", manage.CredentialSpec{})
	wantIs(t, err, store.ErrNotFound)

	// A deleted credential's name is not reused while later ones exist.
	if err := e.svc.DeleteCredential(ctx, "oa", c1.ID); err != nil {
		t.Fatal(err)
	}
	c4, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if c4.Name != "oa-3" {
		t.Errorf("next default name = %q, want oa-3", c4.Name)
	}

	// Credentials belong to their provider.
	_, err = e.svc.UpdateCredential(ctx, "an", c2.ID, manage.CredentialSpec{Weight: ptr(2)})
	wantIs(t, err, store.ErrNotFound)
	wantIs(t, e.svc.DeleteCredential(ctx, "an", c2.ID), store.ErrNotFound)
	_, err = e.svc.Credential(ctx, "an", c2.ID)
	wantIs(t, err, store.ErrNotFound)
	_, err = e.svc.UpdateCredential(ctx, "oa", 9999, manage.CredentialSpec{Weight: ptr(2)})
	wantIs(t, err, store.ErrNotFound)

	// Patches.
	u, err := e.svc.UpdateCredential(ctx, "oa", c2.ID, manage.CredentialSpec{Name: "oa-2", Weight: ptr(7), Enabled: ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if u.Weight != 7 || !u.Enabled || u.Source != "encrypted" || u.Hint != "****" {
		t.Errorf("patched = %+v", u)
	}
	u, err = e.svc.UpdateCredential(ctx, "oa", c2.ID, manage.CredentialSpec{Secret: ptr("env:OTHER")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Source != "env:OTHER" || u.Hint != "" || u.Weight != 7 {
		t.Errorf("secret replaced by a reference = %+v", u)
	}
	stored, err := e.st.CredentialByID(ctx, c2.ID)
	if err != nil || stored.Ciphertext != nil || stored.SecretRef != "env:OTHER" {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	u, err = e.svc.UpdateCredential(ctx, "oa", c2.ID, manage.CredentialSpec{Secret: ptr("sk-0123456789-wxyz")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Source != "encrypted" || u.Hint != "****wxyz" {
		t.Errorf("reference replaced by a literal = %+v", u)
	}
	u, err = e.svc.UpdateCredential(ctx, "oa", c2.ID, manage.CredentialSpec{Secret: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if u.Source != "none" || u.Hint != "" {
		t.Errorf("secret removed = %+v", u)
	}

	list, err := e.svc.Credentials(ctx, "oa")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "oa-2,backup,oa-3" {
		t.Errorf("Credentials = %v", names)
	}
	_, err = e.svc.Credentials(ctx, "nope")
	wantIs(t, err, store.ErrNotFound)

	audit, err := e.svc.ListAudit(ctx, store.AuditFilter{Action: "credential.*", Target: "oa/oa-2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 5 { // create + 4 updates
		t.Errorf("audit of oa/oa-2: %d entries, want 5: %+v", len(audit), audit)
	}
}

func TestCredentialValidation(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	c, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		spec  manage.CredentialSpec
		field string
	}{
		{"bad name", manage.CredentialSpec{Name: "Main Key"}, "name"},
		{"weight 0", manage.CredentialSpec{Weight: ptr(0)}, "weight"},
		{"weight too big", manage.CredentialSpec{Weight: ptr(1001)}, "weight"},
		{"negative weight", manage.CredentialSpec{Weight: ptr(-1)}, "weight"},
		{"bad env name", manage.CredentialSpec{Secret: ptr("env:1BAD")}, "secret"},
		{"empty env name", manage.CredentialSpec{Secret: ptr("env:")}, "secret"},
		{"line break", manage.CredentialSpec{Secret: ptr("sk-abcdefghijklmnop\n")}, "secret"},
		{"leading space", manage.CredentialSpec{Secret: ptr(" sk-abcdefghijklmnop")}, "secret"},
		{"too long", manage.CredentialSpec{Secret: ptr(strings.Repeat("x", 9000))}, "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.changed.Load()
			_, err := e.svc.AddCredential(ctx, "oa", tt.spec)
			wantField(t, err, tt.field)
			if tt.spec.Secret != nil && len(*tt.spec.Secret) > 6 && strings.Contains(err.Error(), strings.TrimSpace(*tt.spec.Secret)) {
				t.Errorf("error %q shows the secret", err)
			}
			if tt.field != "name" {
				_, err = e.svc.UpdateCredential(ctx, "oa", c.ID, tt.spec)
				wantField(t, err, tt.field)
			}
			if e.changed.Load() != before {
				t.Error("Changed called after a rejected change")
			}
		})
	}
	_, err = e.svc.UpdateCredential(ctx, "oa", c.ID, manage.CredentialSpec{Name: "renamed"})
	wantField(t, err, "name")

	// Without a keyring, literal secrets are refused; references work.
	nk := newEnv(t, envOpts{noKeyring: true})
	mustProvider(t, nk, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	_, err = nk.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("sk-abcdefghijklmnop")})
	wantField(t, err, "secret")
	if _, err := nk.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("env:K")}); err != nil {
		t.Error(err)
	}
}

// TestSecretsNeverLeak puts literal secrets in through every path and
// looks for them everywhere they could come out: views and their JSON,
// errors, audit entries, fmt and slog output of the specs, and the bytes
// of the database files.
func TestSecretsNeverLeak(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	const (
		secretA = "sk-proj-LEAKCANARY-aaaaaaaaaaaa-1234"
		secretB = "sk-ant-LEAKCANARY-bbbbbbbbbbbbb-5678"
		secretC = "LEAKCANARY-ccccccccccccccccc-9999"
	)
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	mustProvider(t, e, manage.ProviderSpec{Name: "an", Plugin: "anthropic"})

	var out bytes.Buffer
	dump := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(b)
		fmt.Fprintf(&out, "%v %+v %#v\n", v, v, v)
	}

	specA := manage.CredentialSpec{Name: "a", Secret: ptr(secretA), Weight: ptr(2)}
	ca, err := e.svc.AddCredential(ctx, "oa", specA)
	if err != nil {
		t.Fatal(err)
	}
	dump(ca)
	cb, err := e.svc.AddCredential(ctx, "an", manage.CredentialSpec{Secret: ptr(secretB)})
	if err != nil {
		t.Fatal(err)
	}
	dump(cb)
	cc, err := e.svc.UpdateCredential(ctx, "an", cb.ID, manage.CredentialSpec{Secret: ptr(secretC)})
	if err != nil {
		t.Fatal(err)
	}
	dump(cc)
	if ca.Hint != "****1234" || cc.Hint != "****9999" {
		t.Errorf("hints %q %q", ca.Hint, cc.Hint)
	}
	// A rename attempt with a secret fails without showing it.
	_, err = e.svc.UpdateCredential(ctx, "oa", ca.ID, manage.CredentialSpec{Name: "b", Secret: ptr(secretA)})
	if err == nil {
		t.Fatal("renamed a credential")
	}
	out.WriteString(err.Error())

	list, err := e.svc.ListProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dump(list)
	creds, err := e.svc.Credentials(ctx, "oa")
	if err != nil {
		t.Fatal(err)
	}
	dump(creds)
	audit, err := e.svc.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 {
		t.Fatal("no audit entries")
	}
	for _, a := range audit {
		dump(manage.NewAuditView(a))
		out.Write(a.Detail)
	}
	// (The spec's JSON does hold the secret: it is the input form, which a
	// client sends.) Printing it does not.
	fmt.Fprint(&out, specA, &specA)
	fmt.Fprintf(&out, "%s %q %v %+v %#v", specA, specA, specA, specA, specA)
	slog.New(slog.NewJSONHandler(&out, nil)).Info("spec", "spec", specA)
	slog.New(slog.NewTextHandler(&out, nil)).Info("spec", "spec", specA)
	if !strings.Contains(out.String(), "****1234") {
		t.Error("the dump does not even show the hint; is it dumping anything?")
	}

	readDB := func() {
		for _, name := range []string{e.dbPath, e.dbPath + "-wal", e.dbPath + "-shm"} {
			b, err := os.ReadFile(name)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out.Write(b)
		}
	}
	// While open: the WAL holds every frame written. After closing: the
	// frames are checkpointed into the main file.
	readDB()
	if err := e.closeStore(); err != nil {
		t.Fatal(err)
	}
	readDB()
	for _, s := range []string{secretA, secretB, secretC, "LEAKCANARY"} {
		if bytes.Contains(out.Bytes(), []byte(s)) {
			i := bytes.Index(out.Bytes(), []byte(s))
			t.Errorf("a secret (%s) leaked: …%q…", secrets.Mask(s), out.Bytes()[max(0, i-80):i])
		}
	}
}

func TestCiphertextBoundToCredential(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	const secret = "sk-bound-to-oa-main-000111"
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	c, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Name: "main", Secret: ptr(secret)})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.CredentialByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Ciphertext) == 0 || stored.SecretRef != "" || stored.Hint != "****0111" {
		t.Fatalf("stored = %+v", stored)
	}
	if bytes.Contains(stored.Ciphertext, []byte(secret)) {
		t.Fatal("the ciphertext contains the secret")
	}
	pt, err := e.kr.Open(stored.Ciphertext, secrets.AAD("oa", "main"))
	if err != nil || string(pt) != secret {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	for _, aad := range []string{secrets.AAD("oa", "other"), secrets.AAD("other", "main")} {
		if _, err := e.kr.Open(stored.Ciphertext, aad); !errors.Is(err, secrets.ErrTampered) {
			t.Errorf("Open under another credential's AAD = %v, want ErrTampered", err)
		}
	}
	// A keyring loaded afresh from the data directory opens it too.
	kr2, err := secrets.Load(e.dataDir, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr2.Open(stored.Ciphertext, secrets.AAD("oa", "main")); err != nil || string(pt) != secret {
		t.Errorf("reloaded keyring: Open = %q, %v", pt, err)
	}
}

// TestAddCredentialDefaultNamesHammer adds credentials with default names
// from several goroutines: each gets a distinct name, retrying when
// another took the one it chose.
func TestAddCredentialDefaultNamesHammer(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	mustProvider(t, e, manage.ProviderSpec{Name: "oa", Plugin: "openai"})
	const workers, each = 4, 6
	var wg sync.WaitGroup
	names := make(chan string, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c, err := e.svc.AddCredential(ctx, "oa", manage.CredentialSpec{Secret: ptr("sk-hammer-0123456789")})
				if err != nil {
					t.Error(err)
					return
				}
				names <- c.Name
			}
		}()
	}
	wg.Wait()
	close(names)
	seen := map[string]bool{}
	for n := range names {
		if seen[n] {
			t.Errorf("name %q given twice", n)
		}
		seen[n] = true
	}
	if len(seen) != workers*each {
		t.Errorf("%d credentials, want %d", len(seen), workers*each)
	}
	for i := 1; i <= workers*each; i++ {
		if !seen[fmt.Sprintf("oa-%d", i)] {
			t.Errorf("oa-%d missing from %v", i, seen)
		}
	}
}
