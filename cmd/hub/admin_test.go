package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// hubIn runs hub with stdin as its standard input.
func hubIn(t *testing.T, in string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	old := stdin
	stdin = strings.NewReader(in)
	defer func() { stdin = old }()
	return hub(t, args...)
}

// mustHub runs hub and fails the test unless it exits 0.
func mustHub(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := hub(t, args...)
	if code != 0 {
		t.Fatalf("hub %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// wantExit runs hub and checks its exit code and that stderr contains
// each of want.
func wantExit(t *testing.T, code int, want []string, args ...string) string {
	t.Helper()
	got, out, errs := hub(t, args...)
	if got != code {
		t.Fatalf("hub %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), got, code, out, errs)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("hub %s: stderr %q lacks %q", strings.Join(args, " "), errs, w)
		}
	}
	return errs
}

// decode parses JSON output into out.
func decode(t *testing.T, s string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// noMasterKeyEnv makes the commands use the data dir's key file.
func noMasterKeyEnv(t *testing.T) {
	for _, k := range []string{secrets.EnvMasterKey, secrets.EnvNewMasterKey, EnvAdminKey, "HUB_CONFIG"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// adminConfig writes a config whose data dir is empty and returns its
// path and data dir.
func adminConfig(t *testing.T) (path, dataDir string) {
	t.Helper()
	noMasterKeyEnv(t)
	path = writeConfig(t)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg.DataDir
}

// openStore opens the data dir's database, to check what the commands
// stored, and returns it with its idempotent Close.
func openStore(t *testing.T, dataDir string) (*store.Store, func()) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "hub.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeStore := func() { once.Do(func() { st.Close() }) }
	t.Cleanup(closeStore)
	return st, closeStore
}

type auditRow struct {
	Actor, Action, Target string
	Detail                json.RawMessage
}

func auditRows(t *testing.T, cfg string, args ...string) []auditRow {
	t.Helper()
	var rows []auditRow
	decode(t, mustHub(t, append([]string{"audit", "-json", "-config", cfg}, args...)...), &rows)
	return rows
}

func TestProvidersCommands(t *testing.T) {
	cfg, _ := adminConfig(t)
	out := mustHub(t, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1/",
		"--model", "gpt-4o", "--model", "gpt-4o-mini", "--option", "org=acme", "--option", `retries={"max":3}`, "-config", cfg)
	if !strings.Contains(out, "created provider oa") || !strings.Contains(out, "hub credentials add oa") {
		t.Errorf("add: %s", out)
	}
	mustHub(t, "providers", "add", "--name", "ds", "--plugin", "deepseek", "--disable", "-config", cfg)

	var ps []manage.ProviderView
	decode(t, mustHub(t, "providers", "list", "-json", "-config", cfg), &ps)
	if len(ps) != 2 || ps[0].Name != "ds" || ps[1].Name != "oa" {
		t.Fatalf("list -json: %+v", ps)
	}
	oa, ds := ps[1], ps[0]
	if oa.BaseURL != "http://127.0.0.1:9/v1" || strings.Join(oa.Models, ",") != "gpt-4o,gpt-4o-mini" || !oa.Enabled ||
		compact(t, oa.Options) != `{"org":"acme","retries":{"max":3}}` || oa.ManagedBy != store.ManagedByAPI {
		t.Errorf("oa = %+v (options %s)", oa, oa.Options)
	}
	if ds.Enabled || ds.Plugin != "openai" || ds.BaseURL != "https://api.deepseek.com" {
		t.Errorf("the deepseek preset: %+v", ds)
	}
	out = mustHub(t, "providers", "list", "-config", cfg)
	for _, want := range []string{"NAME", "oa", "http://127.0.0.1:9/v1", "gpt-4o,gpt-4o-mini", "(discovered)"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	// set changes only what it is given; options merge, null removes.
	out = mustHub(t, "providers", "set", "oa", "--disable", "--option", "org=null", "--option", "n=2", "-config", cfg)
	if !strings.Contains(out, "enabled:") || !strings.Contains(out, `{"n":2,"retries":{"max":3}}`) {
		t.Errorf("set: %s", out)
	}
	var p manage.ProviderView
	decode(t, mustHub(t, "providers", "set", "oa", "--clear-models", "--enable", "-json", "-config", cfg), &p)
	if !p.Enabled || len(p.Models) != 0 || p.BaseURL != "http://127.0.0.1:9/v1" {
		t.Errorf("set --clear-models --enable: %+v", p)
	}
	decode(t, mustHub(t, "providers", "show", "oa", "-json", "-config", cfg), &p)
	if p.Name != "oa" || compact(t, p.Options) != `{"n":2,"retries":{"max":3}}` {
		t.Errorf("show: %+v", p)
	}
	if out := mustHub(t, "providers", "show", "oa", "-config", cfg); !strings.Contains(out, "base url:") || !strings.Contains(out, "managed by:") {
		t.Errorf("show: %s", out)
	}

	// Errors: validation names the field, exit 1; usage, exit 2.
	wantExit(t, 1, []string{"hub providers add: name: "}, "providers", "add", "--name", "Bad Name", "--plugin", "openai", "-config", cfg)
	wantExit(t, 1, []string{"hub providers add: plugin: unknown plugin"}, "providers", "add", "--name", "x", "--plugin", "nope", "-config", cfg)
	wantExit(t, 1, []string{"hub providers add: base_url: "}, "providers", "add", "--name", "x", "--plugin", "openai", "--base-url", "ftp://x", "-config", cfg)
	wantExit(t, 1, []string{"already exists"}, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1", "-config", cfg)
	wantExit(t, 1, []string{"hub providers show: ", "not found"}, "providers", "show", "nope", "-config", cfg)
	wantExit(t, 1, []string{"hub providers set: region: "}, "providers", "set", "oa", "--region", "Mars", "-config", cfg)
	wantExit(t, 2, []string{"nothing to change"}, "providers", "set", "oa", "-config", cfg)
	wantExit(t, 2, []string{"not both"}, "providers", "set", "oa", "--enable", "--disable", "-config", cfg)
	wantExit(t, 2, []string{"KEY=VALUE"}, "providers", "set", "oa", "--option", "novalue", "-config", cfg)
	wantExit(t, 2, []string{"want NAME"}, "providers", "show", "-config", cfg)
	wantExit(t, 2, []string{"unknown sub-command"}, "providers", "frob")
	wantExit(t, 2, []string{"usage:"}, "providers")
	wantExit(t, 2, []string{"-bogus"}, "providers", "list", "--bogus", "-config", cfg)

	out = mustHub(t, "providers", "remove", "ds", "-config", cfg)
	if !strings.Contains(out, "removed provider ds") {
		t.Errorf("remove: %s", out)
	}
	wantExit(t, 1, []string{"not found"}, "providers", "remove", "ds", "-config", cfg)

	actor := cliActor().Name
	var got []string
	for _, r := range auditRows(t, cfg, "--action", "provider.*") {
		if r.Actor != actor {
			t.Errorf("audit actor %q, want %q", r.Actor, actor)
		}
		got = append(got, r.Action+" "+r.Target)
	}
	want := "provider.delete ds,provider.update oa,provider.update oa,provider.create ds,provider.create oa"
	if strings.Join(got, ",") != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
}

func TestParseOption(t *testing.T) {
	tests := []struct {
		in   string
		key  string
		want any
	}{
		{"a=1", "a", json.Number("1")},
		{"a=12345678901234567890", "a", json.Number("12345678901234567890")},
		{"a=true", "a", true},
		{"a=null", "a", nil},
		{"a=hello", "a", "hello"},
		{`a="quoted"`, "a", "quoted"},
		{"a=", "a", ""},
		{"a=b=c", "a", "b=c"},
		{"a=[1, 2", "a", "[1, 2"},
	}
	for _, tt := range tests {
		k, v, err := parseOption(tt.in)
		if err != nil || k != tt.key || fmt.Sprint(v) != fmt.Sprint(tt.want) {
			t.Errorf("parseOption(%q) = %q, %#v, %v; want %q, %#v", tt.in, k, v, err, tt.key, tt.want)
		}
	}
	for _, bad := range []string{"", "novalue", "=v"} {
		if _, _, err := parseOption(bad); err == nil {
			t.Errorf("parseOption(%q) succeeded", bad)
		}
	}
}

// secretFree fails the test if the secret is in any of outs or in any
// file of the data dir.
func secretFree(t *testing.T, secret, dataDir string, outs ...string) {
	t.Helper()
	for _, o := range outs {
		if strings.Contains(o, secret) {
			t.Fatalf("the secret leaked into output:\n%s", o)
		}
	}
	filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Fatalf("the secret is in clear in %s", path)
		}
		return nil
	})
}

func TestCredentialsCommands(t *testing.T) {
	cfg, dataDir := adminConfig(t)
	mustHub(t, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1", "-config", cfg)
	const secret = "sk-live-Secret-0123456789abcdef"
	var outs []string
	keep := func(code int, out, errs string) (int, string, string) {
		outs = append(outs, out, errs)
		return code, out, errs
	}

	code, out, errs := keep(hubIn(t, secret+"\n", "credentials", "add", "oa", "--secret-stdin", "--weight", "3", "-config", cfg))
	if code != 0 || !strings.Contains(out, "added credential oa/oa-1") || !strings.Contains(out, "****cdef") || !strings.Contains(out, "encrypted") {
		t.Fatalf("add: %d %s %s", code, out, errs)
	}
	_, out, _ = keep(hub(t, "credentials", "add", "oa", "--name", "backup", "--secret-env", "OA_KEY", "--disable", "-json", "-config", cfg))
	var env manage.CredentialView
	decode(t, out, &env)
	if env.Name != "backup" || env.Source != "env:OA_KEY" || env.Enabled || env.Weight != 1 {
		t.Errorf("add --secret-env: %+v", env)
	}
	var creds []manage.CredentialView
	_, out, _ = keep(hub(t, "credentials", "list", "oa", "-json", "-config", cfg))
	decode(t, out, &creds)
	if len(creds) != 2 || creds[0].Hint != "****cdef" || creds[0].Weight != 3 || creds[0].Source != "encrypted" {
		t.Fatalf("list: %+v", creds)
	}
	_, out, _ = keep(hub(t, "credentials", "list", "oa", "-config", cfg))
	if !strings.Contains(out, "****cdef") || !strings.Contains(out, "env:OA_KEY") {
		t.Errorf("list: %s", out)
	}
	keep(hub(t, "providers", "show", "oa", "-json", "-config", cfg))
	keep(hub(t, "providers", "list", "-config", cfg))

	// The stored ciphertext opens to the secret, newline trimmed.
	st, closeStore := openStore(t, dataDir)
	kr, err := secrets.Load(dataDir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CredentialByID(context.Background(), creds[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr.Open(c.Ciphertext, secrets.AAD("oa", "oa-1")); err != nil || string(pt) != secret {
		t.Fatalf("the stored secret opens to %q, %v", pt, err)
	}

	// set: a new literal secret, the weight, the state; by ID or name.
	const secret2 = "sk-live-Second-9876543210zyxw"
	id := strconv.FormatInt(creds[0].ID, 10)
	code, out, errs = keep(hubIn(t, secret2, "credentials", "set", "oa", id, "--secret-stdin", "--weight", "5", "--disable", "-config", cfg))
	if code != 0 || !strings.Contains(out, "****zyxw") || !strings.Contains(out, "disabled") || !strings.Contains(out, "weight 5") {
		t.Fatalf("set: %d %s %s", code, out, errs)
	}
	keep(hub(t, "credentials", "set", "oa", "backup", "--enable", "--secret-env", "OA_KEY_2", "-config", cfg))
	decode(t, mustHub(t, "credentials", "list", "oa", "-json", "-config", cfg), &creds)
	if !creds[1].Enabled || creds[1].Source != "env:OA_KEY_2" || creds[0].Enabled || creds[0].Hint != "****zyxw" {
		t.Errorf("after set: %+v", creds)
	}

	// Errors, none of which shows the secret.
	wantExit(t, 2, []string{"--secret-stdin or --no-secret"}, "credentials", "add", "oa", "-config", cfg)
	wantExit(t, 2, []string{"not both"}, "credentials", "add", "oa", "--secret-env", "X", "--secret-stdin", "-config", cfg)
	wantExit(t, 2, []string{"nothing to change"}, "credentials", "set", "oa", id, "-config", cfg)
	wantExit(t, 2, []string{"want PROVIDER ID|NAME"}, "credentials", "set", "oa", "-config", cfg)
	wantExit(t, 1, []string{"hub credentials add: weight: "}, "credentials", "add", "oa", "--no-secret", "--weight", "0", "-config", cfg)
	wantExit(t, 1, []string{"hub credentials add: secret: "}, "credentials", "add", "oa", "--secret-env", "1BAD", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "credentials", "list", "nope", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "credentials", "remove", "oa", "nope", "-config", cfg)
	for _, in := range []string{"", "\n"} {
		code, _, errs := hubIn(t, in, "credentials", "add", "oa", "--secret-stdin", "-config", cfg)
		if code != 1 || !strings.Contains(errs, "no secret") {
			t.Errorf("an empty secret: %d %s", code, errs)
		}
	}
	const twoLines = "sk-first-line-aaaaaaaa\nsk-second-line-bbbbbbbb\n"
	code, out, errs = keep(hubIn(t, twoLines, "credentials", "add", "oa", "--secret-stdin", "-config", cfg))
	if code != 1 || !strings.Contains(errs, "secret: ") || strings.Contains(errs+out, "first-line") || strings.Contains(errs+out, "second-line") {
		t.Errorf("two lines: %d %s %s", code, out, errs)
	}

	// The audit log names the CLI's user and shows hints only.
	_, out, _ = keep(hub(t, "audit", "-config", cfg))
	if !strings.Contains(out, "credential.create") || !strings.Contains(out, cliActor().Name) {
		t.Errorf("audit: %s", out)
	}
	rows := auditRows(t, cfg, "--action", "credential.*")
	raw, _ := json.Marshal(rows)
	outs = append(outs, string(raw))
	if len(rows) != 4 {
		t.Errorf("credential audit rows: %s", raw)
	}

	keep(hub(t, "credentials", "remove", "oa", "backup", "-config", cfg))
	decode(t, mustHub(t, "credentials", "list", "oa", "-json", "-config", cfg), &creds)
	if len(creds) != 1 {
		t.Errorf("after remove: %+v", creds)
	}
	closeStore()
	for _, s := range []string{secret, secret2, "sk-first-line-aaaaaaaa", "sk-second-line-bbbbbbbb"} {
		secretFree(t, s, dataDir, outs...)
	}
}

func TestRotateMasterKey(t *testing.T) {
	cfg, dataDir := adminConfig(t)
	mustHub(t, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1", "-config", cfg)
	mustHub(t, "providers", "add", "--name", "an", "--plugin", "anthropic", "-config", cfg)
	secretsByCred := map[string]string{
		"oa/oa-1": "sk-oa-first-secret-1111",
		"oa/oa-2": "sk-oa-second-secret-2222",
		"an/an-1": "sk-ant-third-secret-3333",
	}
	for _, p := range []string{"oa/oa-1", "oa/oa-2", "an/an-1"} {
		if code, _, errs := hubIn(t, secretsByCred[p], "credentials", "add", strings.Split(p, "/")[0], "--secret-stdin", "-config", cfg); code != 0 {
			t.Fatal(errs)
		}
	}
	mustHub(t, "credentials", "add", "an", "--secret-env", "AN_KEY", "-config", cfg)
	oldKey, err := os.ReadFile(filepath.Join(dataDir, secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs := hub(t, "credentials", "rotate-master-key", "-config", cfg)
	if code != 0 || !strings.Contains(out, "re-encrypted 3 credential secrets") {
		t.Fatalf("rotate: %d %s %s", code, out, errs)
	}
	newKey, err := os.ReadFile(filepath.Join(dataDir, secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("master.key did not change")
	}
	for _, k := range [][]byte{oldKey, newKey} {
		if strings.Contains(out+errs, strings.TrimSpace(string(k))) {
			t.Fatal("a master key was printed")
		}
	}

	// Every secret opens with the new key, and only with it.
	kr, err := secrets.Load(dataDir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, kr.KeyID()) {
		t.Errorf("the output does not name the new key id %s: %s", kr.KeyID(), out)
	}
	st, _ := openStore(t, dataDir)
	ps, err := st.ListProviders(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, p := range ps {
		names[p.ID] = p.Name
	}
	creds, err := st.ListAllCredentials(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, c := range creds {
		if len(c.Ciphertext) == 0 {
			continue
		}
		if id, _ := secrets.KeyIDOf(c.Ciphertext); id != kr.KeyID() {
			t.Errorf("%s/%s is under key %s, not the new %s", names[c.ProviderID], c.Name, id, kr.KeyID())
		}
		name := names[c.ProviderID] + "/" + c.Name
		pt, err := kr.Open(c.Ciphertext, secrets.AAD(names[c.ProviderID], c.Name))
		if err != nil || string(pt) != secretsByCred[name] {
			t.Errorf("%s opens to %q, %v", name, pt, err)
		}
		opened++
	}
	if opened != 3 {
		t.Errorf("opened %d secrets, want 3", opened)
	}

	rows := auditRows(t, cfg, "--action", "master_key.rotate")
	if len(rows) != 1 || rows[0].Actor != cliActor().Name || compact(t, rows[0].Detail) != `{"credentials":3}` {
		t.Errorf("audit: %+v", rows)
	}
	// A literal secret added after the rotation is sealed under the new key.
	if code, _, errs := hubIn(t, "sk-after-rotation-4444", "credentials", "add", "oa", "--secret-stdin", "-config", cfg); code != 0 {
		t.Fatal(errs)
	}
	c, err := st.ListCredentials(context.Background(), ps[1].ID)
	if err != nil || len(c) != 3 {
		t.Fatalf("%v %v", c, err)
	}
	if pt, err := kr.Open(c[2].Ciphertext, secrets.AAD("oa", c[2].Name)); err != nil || string(pt) != "sk-after-rotation-4444" {
		t.Errorf("after rotation: %q %v", pt, err)
	}
}

func TestRotateMasterKeyEnv(t *testing.T) {
	cfg, dataDir := adminConfig(t)
	oldKey, newKey := secrets.GenerateKeyHex(), secrets.GenerateKeyHex()
	t.Setenv(secrets.EnvMasterKey, oldKey)
	mustHub(t, "providers", "add", "--name", "oa", "--plugin", "openai", "--base-url", "http://127.0.0.1:9/v1", "-config", cfg)
	if code, _, errs := hubIn(t, "sk-env-keyed-secret-5555", "credentials", "add", "oa", "--secret-stdin", "-config", cfg); code != 0 {
		t.Fatal(errs)
	}
	// Without the new key it fails, changing nothing.
	code, out, errs := hub(t, "credentials", "rotate-master-key", "-config", cfg)
	if code != 1 || !strings.Contains(errs, secrets.EnvNewMasterKey) {
		t.Fatalf("no new key: %d %s %s", code, out, errs)
	}
	t.Setenv(secrets.EnvNewMasterKey, newKey)
	code, out, errs = hub(t, "credentials", "rotate-master-key", "-config", cfg)
	if code != 0 || !strings.Contains(out, "re-encrypted 1 ") || !strings.Contains(out, secrets.EnvMasterKey) {
		t.Fatalf("rotate: %d %s %s", code, out, errs)
	}
	if strings.Contains(out+errs, oldKey) || strings.Contains(out+errs, newKey) {
		t.Fatal("a master key was printed")
	}
	if _, err := os.Stat(filepath.Join(dataDir, secrets.KeyFile)); !os.IsNotExist(err) {
		t.Errorf("a key file was written with an environment key: %v", err)
	}
	kr, err := secrets.Load(dataDir, func(k string) (string, bool) { return newKey, k == secrets.EnvMasterKey })
	if err != nil {
		t.Fatal(err)
	}
	st, _ := openStore(t, dataDir)
	creds, err := st.ListAllCredentials(context.Background())
	if err != nil || len(creds) != 1 {
		t.Fatal(creds, err)
	}
	if pt, err := kr.Open(creds[0].Ciphertext, secrets.AAD("oa", creds[0].Name)); err != nil || string(pt) != "sk-env-keyed-secret-5555" {
		t.Errorf("opens to %q, %v", pt, err)
	}
}

func TestKeyLimitsCommands(t *testing.T) {
	cfg, _ := adminConfig(t)
	var created struct {
		Key string `json:"key"`
		manage.KeyView
	}
	decode(t, mustHub(t, "keys", "create", "--name", "bot", "--account", "acme", "--rpm", "60", "--tpm", "1000", "--concurrency", "2",
		"--allow", "openai/*", "--allow", "fast", "--expires", "24h", "-json", "-config", cfg), &created)
	if !strings.HasPrefix(created.Key, "sk-hub-") || created.Account != "acme" || created.RPM != 60 || created.TPM != 1000 ||
		created.MaxConcurrency != 2 || strings.Join(created.AllowedModels, ",") != "openai/*,fast" || created.ExpiresAt == nil ||
		created.ExpiresAt.Before(time.Now().Add(23*time.Hour)) || created.Status != manage.KeyActive {
		t.Fatalf("create -json: %+v", created)
	}
	mustHub(t, "keys", "create", "--name", "other", "-config", cfg)
	id := strconv.FormatInt(created.ID, 10)

	out := mustHub(t, "keys", "show", "bot", "-config", cfg)
	for _, want := range []string{"openai/*,fast", "acme", "rpm:", "60", "concurrency:"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, created.Key) {
		t.Fatal("show printed the key")
	}
	var k manage.KeyView
	decode(t, mustHub(t, "keys", "set", id, "--clear-allow", "--rpm", "0", "--expires", "never", "--role", "admin", "-json", "-config", cfg), &k)
	if len(k.AllowedModels) != 0 || k.RPM != 0 || k.TPM != 1000 || k.ExpiresAt != nil || k.Role != "admin" {
		t.Errorf("set: %+v", k)
	}
	decode(t, mustHub(t, "keys", "set", id, "--allow", "anthropic/*", "-json", "-config", cfg), &k)
	if strings.Join(k.AllowedModels, ",") != "anthropic/*" || k.TPM != 1000 {
		t.Errorf("set --allow: %+v", k)
	}

	var keys []manage.KeyView
	decode(t, mustHub(t, "keys", "list", "--account", "acme", "-json", "-config", cfg), &keys)
	if len(keys) != 1 || keys[0].ID != created.ID {
		t.Errorf("list --account acme: %+v", keys)
	}
	decode(t, mustHub(t, "keys", "list", "-json", "-config", cfg), &keys)
	if len(keys) != 2 {
		t.Errorf("list: %+v", keys)
	}
	if out := mustHub(t, "keys", "list", "-config", cfg); !strings.Contains(out, "anthropic/*") || !strings.Contains(out, "acme") {
		t.Errorf("list: %s", out)
	}

	wantExit(t, 1, []string{"hub keys create: rpm: "}, "keys", "create", "--name", "x", "--rpm", "-1", "-config", cfg)
	wantExit(t, 1, []string{"hub keys create: expires_in: "}, "keys", "create", "--name", "x", "--expires", "soon", "-config", cfg)
	wantExit(t, 1, []string{"hub keys set: allowed_models[1]: "}, "keys", "set", id, "--allow", "a", "--allow", "a", "-config", cfg)
	wantExit(t, 2, []string{"not both"}, "keys", "set", id, "--allow", "a", "--clear-allow", "-config", cfg)
	wantExit(t, 2, []string{"nothing to change"}, "keys", "set", id, "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "keys", "show", "999", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "keys", "list", "--account", "nope", "-config", cfg)

	mustHub(t, "keys", "revoke", "bot", "-config", cfg)
	decode(t, mustHub(t, "keys", "show", id, "-json", "-config", cfg), &k)
	if k.Status != manage.KeyRevoked || k.RevokedAt == nil {
		t.Errorf("revoked: %+v", k)
	}
	var got []string
	for _, r := range auditRows(t, cfg, "--action", "key.*") {
		got = append(got, r.Action)
	}
	if strings.Join(got, ",") != "key.revoke,key.update,key.update,key.create,key.create" {
		t.Errorf("audit: %q", got)
	}
}

func TestAccountsCommands(t *testing.T) {
	cfg, _ := adminConfig(t)
	if out := mustHub(t, "accounts", "create", "acme", "-config", cfg); !strings.Contains(out, `created account "acme"`) {
		t.Errorf("create: %s", out)
	}
	mustHub(t, "keys", "create", "--name", "k", "--account", "acme", "-config", cfg)
	var as []manage.AccountView
	decode(t, mustHub(t, "accounts", "list", "-json", "-config", cfg), &as)
	if len(as) != 1 || as[0].Name != "acme" || as[0].Keys != 1 {
		t.Fatalf("list: %+v", as)
	}
	id := strconv.FormatInt(as[0].ID, 10)
	var a manage.AccountView
	decode(t, mustHub(t, "accounts", "rename", id, "Acme Corp", "-json", "-config", cfg), &a)
	if a.Name != "Acme Corp" || a.Keys != 1 {
		t.Errorf("rename: %+v", a)
	}
	if out := mustHub(t, "accounts", "list", "-config", cfg); !strings.Contains(out, "Acme Corp") {
		t.Errorf("list: %s", out)
	}
	mustHub(t, "accounts", "create", "other", "-config", cfg)
	wantExit(t, 1, []string{"already exists"}, "accounts", "create", "other", "-config", cfg)
	wantExit(t, 1, []string{"already exists"}, "accounts", "rename", id, "other", "-config", cfg)
	wantExit(t, 1, []string{"hub accounts create: name: "}, "accounts", "create", " padded", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "accounts", "rename", "999", "x", "-config", cfg)
	wantExit(t, 2, []string{"not a number"}, "accounts", "rename", "acme", "x", "-config", cfg)
	wantExit(t, 2, []string{"want ID NAME"}, "accounts", "rename", id, "-config", cfg)
	rows := auditRows(t, cfg, "--action", "account.*")
	if len(rows) < 3 {
		t.Errorf("audit: %+v", rows)
	}
}

func TestRatesCommands(t *testing.T) {
	cfg, _ := adminConfig(t)
	out := mustHub(t, "rates", "set", "openai/gpt-4o", "--input", "2.5", "--output", "10", "--cached-read", "1.25", "-config", cfg)
	if !strings.Contains(out, "openai/gpt-4o") || !strings.Contains(out, "2.5") || !strings.Contains(out, "1.25") {
		t.Errorf("set: %s", out)
	}
	// set keeps what it is not given.
	var r manage.RateView
	decode(t, mustHub(t, "rates", "set", "openai/gpt-4o", "--min", "0.000001", "--per-image", "0.04", "-json", "-config", cfg), &r)
	want := manage.RateView{Model: "openai/gpt-4o", InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 1_250_000,
		PerImage: 40_000, MinPerCall: 1, UpdatedAt: r.UpdatedAt}
	if r != want {
		t.Errorf("set -json = %+v, want %+v", r, want)
	}
	mustHub(t, "rates", "set", "gpt-4o-mini", "--input", "0.15", "--cache-write", "0.3", "-config", cfg)
	var rs []manage.RateView
	decode(t, mustHub(t, "rates", "list", "-json", "-config", cfg), &rs)
	if len(rs) != 2 || rs[0].Model != "gpt-4o-mini" || rs[0].InputPerM != 150_000 || rs[0].CacheWritePerM != 300_000 || rs[1] != want {
		t.Errorf("list -json: %+v", rs)
	}
	if out := mustHub(t, "rates", "list", "-config", cfg); !strings.Contains(out, "0.15") || !strings.Contains(out, "0.000001") {
		t.Errorf("list: %s", out)
	}

	wantExit(t, 1, []string{"hub rates set: --input ", "more than 6 decimals"}, "rates", "set", "m", "--input", "1.0000001", "-config", cfg)
	wantExit(t, 1, []string{"negative"}, "rates", "set", "m", "--output", "-1", "-config", cfg)
	wantExit(t, 1, []string{"hub rates set: model: "}, "rates", "set", "a b", "--input", "1", "-config", cfg)
	wantExit(t, 2, []string{"nothing to set"}, "rates", "set", "m", "-config", cfg)
	wantExit(t, 2, []string{"want MODEL"}, "rates", "set", "--input", "1", "-config", cfg)
	decode(t, mustHub(t, "rates", "list", "-json", "-config", cfg), &rs)
	if len(rs) != 2 {
		t.Errorf("a failed set stored a rate: %+v", rs)
	}

	mustHub(t, "rates", "remove", "gpt-4o-mini", "-config", cfg)
	wantExit(t, 1, []string{"not found"}, "rates", "remove", "gpt-4o-mini", "-config", cfg)
	decode(t, mustHub(t, "rates", "list", "-json", "-config", cfg), &rs)
	if len(rs) != 1 {
		t.Errorf("after remove: %+v", rs)
	}
}

func TestAuditCommand(t *testing.T) {
	cfg, _ := adminConfig(t)
	mustHub(t, "accounts", "create", "a1", "-config", cfg)
	mustHub(t, "accounts", "create", "a2", "-config", cfg)
	mustHub(t, "rates", "set", "m", "--input", "1", "-config", cfg)

	if rows := auditRows(t, cfg); len(rows) != 3 || rows[0].Target != "m" {
		t.Errorf("all: %+v", rows)
	}
	if rows := auditRows(t, cfg, "--limit", "1"); len(rows) != 1 {
		t.Errorf("--limit 1: %+v", rows)
	}
	if rows := auditRows(t, cfg, "--action", "account.create"); len(rows) != 2 {
		t.Errorf("--action: %+v", rows)
	}
	if rows := auditRows(t, cfg, "--actor", cliActor().Name, "--since", "1h"); len(rows) != 3 {
		t.Errorf("--actor --since 1h: %+v", rows)
	}
	if rows := auditRows(t, cfg, "--actor", "cli:somebody-else"); len(rows) != 0 {
		t.Errorf("--actor other: %+v", rows)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if rows := auditRows(t, cfg, "--since", future); len(rows) != 0 {
		t.Errorf("--since the future: %+v", rows)
	}
	if rows := auditRows(t, cfg, "--since", "2000-01-01"); len(rows) != 3 {
		t.Errorf("--since a date: %+v", rows)
	}
	out := mustHub(t, "audit", "-config", cfg)
	if !strings.Contains(out, "ACTION") || !strings.Contains(out, "account.create") || !strings.Contains(out, "rate.set") {
		t.Errorf("table: %s", out)
	}
	wantExit(t, 2, []string{"--since"}, "audit", "--since", "yesterday", "-config", cfg)
	wantExit(t, 2, []string{"--since"}, "audit", "--since", "-1h", "-config", cfg)
	wantExit(t, 2, []string{"--limit"}, "audit", "--limit", "0", "-config", cfg)
	wantExit(t, 2, []string{"unexpected argument"}, "audit", "extra", "-config", cfg)
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"2025-02-01T10:00:00Z": time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC),
		"2025-02-01":           time.Date(2025, 2, 1, 0, 0, 0, 0, time.Local),
	} {
		if got, err := parseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "-1h", "yesterday", "2025-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) succeeded", bad)
		}
	}
}

func TestUsageExitCodes(t *testing.T) {
	for _, args := range [][]string{
		{"providers"}, {"credentials"}, {"keys"}, {"accounts"}, {"rates"},
		{"credentials", "frob"}, {"accounts", "list", "extra"}, {"audit", "--nope"}, {"serve", "extra"},
	} {
		if code, _, errs := hub(t, args...); code != 2 || !strings.Contains(errs, "usage") && !strings.Contains(errs, "flag provided") {
			t.Errorf("hub %v: exit %d, want 2: %s", args, code, errs)
		}
	}
	for _, args := range [][]string{{"providers", "help"}, {"keys", "-h"}, {"audit", "help"}, {"rates", "list", "-h"}} {
		if code, _, errs := hub(t, args...); code != 0 {
			t.Errorf("hub %v: exit %d, want 0: %s", args, code, errs)
		}
	}
	code, out, _ := hub(t, "providers", "help")
	if code != 0 || !strings.Contains(out, "within about a second") {
		t.Errorf("the usage does not say how changes reach a running hub: %s", out)
	}
}
