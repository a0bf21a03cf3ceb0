package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/auth"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// dashboardTOML: billing on, gpt-4o-mini priced (1 credit per 1M input
// tokens, 2 per 1M output), gpt-4o unpriced, so the rates page has both.
const dashboardTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[limits]
upstream_timeout = "10s"

[billing]
enabled = true

[billing.rates]
"gpt-4o-mini" = { input = "1", output = "2", cached_read = "0.5" }

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini", "gpt-4o"]
`

// e2eDir is the browser test project, relative to the repository root.
const e2eDir = "tests/e2e"

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// need fails the test under CI (where every tool must be there: .ci/run
// installs them) and skips it elsewhere.
func need(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (skipped outside CI)", args...)
}

// TestDashboardE2E drives the dashboard embedded in the hub in headless
// Chromium (tests/e2e/dashboard.mjs, playwright-core): sign-in as an admin,
// a user key created in the UI, a streamed playground chat, the call in
// Calls and in the Overview, the key revoked and refused, and a second
// user's confined view; with screenshots of every page at desktop and phone
// widths, in $HUB_E2E_SCREENSHOTS or a temporary directory.
func TestDashboardE2E(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need(t, "node (>= 20) is needed to run the dashboard's browser test: %v", err)
	}
	browser := os.Getenv("CHROMIUM")
	if browser == "" {
		browser = chromiumPath
	}
	if _, err := os.Stat(browser); err != nil {
		need(t, "chromium is needed to run the dashboard's browser test (apt-get install chromium): %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, e2eDir, "node_modules", "playwright-core")); err != nil {
		need(t, "%s/node_modules/playwright-core is missing: run `make e2e-deps` first: %v", e2eDir, err)
	}

	h := startHubWith(t, emulator.Options{Chunks: 12, Pace: 40 * time.Millisecond}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(dashboardTOML, dataDir, emuURL)
	})
	if !dashboardBuilt(t, h.url) {
		need(t, "the hub serves no built dashboard: run `make web` (npm ci and vite build into web/dist) before building the test")
	}
	ctx := context.Background()
	admin, _ := h.newKey("admin")
	h.grant(50_000_000) // the default account: 50 credits
	// A second account with its own user key, credits and one call, which
	// the admin must see and no other user may.
	other, err := h.hub.Store().EnsureAccount(ctx, "team-b")
	if err != nil {
		t.Fatal(err)
	}
	userB, _ := accountKey(t, h, other.ID, "team-b-key")
	if err := h.hub.Biller().Grant(ctx, other.ID, 20_000_000, "e2e", time.Time{}); err != nil {
		t.Fatal(err)
	}
	const chat = `{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello from the API"}]}`
	userCall := requestID(t, h.post(userB, "/v1/chat/completions", chat))
	adminCall := requestID(t, h.post(admin, "/v1/chat/completions", chat))
	h.call(userCall)
	h.call(adminCall)

	shots := os.Getenv("HUB_E2E_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, node, filepath.Join(root, e2eDir, "dashboard.mjs"))
	cmd.Dir = filepath.Join(root, e2eDir)
	cmd.Env = append(os.Environ(),
		"HUB_URL="+h.url,
		"HUB_ADMIN_KEY="+admin,
		"HUB_USER_KEY="+userB,
		"HUB_USER_CALL="+userCall,
		"HUB_OTHER_CALL="+adminCall,
		"HUB_E2E_SCREENSHOTS="+shots,
		"CHROMIUM="+browser,
		"NO_COLOR=1",
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s/dashboard.mjs failed (%v):\n%s", e2eDir, err, out)
	}
	t.Logf("dashboard browser test passed in %v; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
	if testing.Verbose() {
		t.Logf("%s", out)
	}

	// The UI's actions reached the database: the key it created is
	// revoked, and the account it made holds the credits it granted.
	keys, err := h.hub.Store().ListAPIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var created *store.APIKey
	for i, k := range keys {
		if k.Name == "e2e-user" {
			created = &keys[i]
		}
	}
	if created == nil {
		t.Fatal("the key created in the UI is not in the database")
	}
	if created.RevokedAt.IsZero() {
		t.Error("the key revoked in the UI is not revoked in the database")
	}
	a, err := h.hub.Store().AccountByName(ctx, "team-a")
	if err != nil {
		t.Fatalf("the account created in the UI: %v", err)
	}
	bals, err := h.hub.Store().Balances(ctx, []int64{a.ID})
	if err != nil || bals[a.ID].Balance != 12_500_000 {
		t.Errorf("team-a's balance = %d, %v; the UI granted 12.5 credits (12500000)", bals[a.ID].Balance, err)
	}
	pngs, _ := filepath.Glob(filepath.Join(shots, "*.png"))
	if len(pngs) < 20 {
		t.Errorf("%d screenshots in %s; want every page at both widths", len(pngs), shots)
	}
}

// dashboardBuilt reports whether the hub serves the built app at /.
func dashboardBuilt(t *testing.T, url string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200 && strings.Contains(string(b), `<div id="root">`) && strings.Contains(string(b), "/assets/")
}

// accountKey creates a user key in the given account.
func accountKey(t *testing.T, h *testHub, account int64, name string) (string, int64) {
	t.Helper()
	key, hash, prefix := auth.Generate()
	k, err := h.hub.Store().CreateAPIKey(context.Background(), store.APIKey{AccountID: account, Hash: hash, Prefix: prefix, Name: name, Role: store.RoleUser})
	if err != nil {
		t.Fatal(err)
	}
	return key, k.ID
}

// requestID checks that resp succeeded and returns its request id.
func requestID(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	return id
}

// TestDashboardMoney runs the dashboard's unit tests (web/test, node's test
// runner): the exact credits arithmetic of web/src/money.ts, which turns
// the API's micro-credits into decimals and typed decimals back, with no
// float in between.
func TestDashboardMoney(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		need(t, "node (>= 20) is needed to run the dashboard's unit tests: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "typescript")); err != nil {
		need(t, "web/node_modules is missing: run `make web-deps` first: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files, err := filepath.Glob(filepath.Join(root, "web", "test", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in web/test: %v", err)
	}
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test web/test failed (%v):\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
	}
}
