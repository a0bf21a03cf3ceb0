package app_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// sdkTOML serves OpenAI chat and embedding models and an Anthropic model
// from the emulator: the official SDKs reach them through the hub's
// OpenAI, Anthropic and AIGNE Hub surfaces.
const sdkTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[limits]
upstream_timeout = "10s"

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-openai-upstream"]
models = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small"]

[[providers]]
name = "anthropic"
plugin = "anthropic"
base_url = "%[2]s"
credentials = ["sk-ant-upstream"]
models = ["claude-3-5-haiku-latest"]
`

// sdkDir is the Node test project, relative to the repository root.
const sdkDir = "tests/sdk"

// TestOfficialSDKs runs the official client SDKs (openai, @anthropic-ai/sdk,
// @aigne/aigne-hub, pinned in tests/sdk/package-lock.json) with node's test
// runner against a real hub in front of the emulator. The packages are
// installed by `make sdk-deps` (a dependency of `make test`); without them
// the test fails rather than skips, so a CI run cannot pass without the
// SDKs having run.
func TestOfficialSDKs(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, sdkDir, "node_modules")); err != nil {
		t.Fatalf("%s/node_modules is missing: run `make sdk-deps` (npm ci --prefix %s) first: %v", sdkDir, sdkDir, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (>= 20) is needed to run the official SDKs' tests: %v", err)
	}

	h := startHubWith(t, emulator.Options{}, func(dataDir, emuURL string) string {
		return fmt.Sprintf(sdkTOML, dataDir, emuURL)
	})
	revoked, revokedID := h.newKey("user")
	if err := h.hub.Store().RevokeAPIKey(context.Background(), revokedID); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The test files are named, not found: node's discovery differs
	// between versions (a directory argument, globs).
	files, err := filepath.Glob(filepath.Join(root, sdkDir, "*.test.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s: %v", sdkDir, err)
	}
	if only := os.Getenv("SDK_TESTS"); only != "" { // e.g. SDK_TESTS=anthropic while working on one SDK
		files = slices.DeleteFunc(files, func(f string) bool { return !strings.Contains(filepath.Base(f), only) })
	}
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	cmd.Dir = root
	cmd.Env = append(sdkEnv(os.Environ()),
		"HUB_URL="+h.url,
		"HUB_KEY="+h.key,
		"HUB_REVOKED_KEY="+revoked,
		"HUB_CHAT_MODEL=gpt-4o-mini",
		"HUB_EMBEDDING_MODEL=text-embedding-3-small",
		"HUB_CLAUDE_MODEL=claude-3-5-haiku-latest",
		"NO_COLOR=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test %s failed (%v):\n%s", sdkDir, err, out)
	}
	if testing.Verbose() {
		t.Logf("node --test %s:\n%s", sdkDir, out)
	}

	// Every call the SDKs made with the good key was served and recorded
	// as any other: metering applies to every surface.
	if err := h.hub.Recorder().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls, err := h.hub.Store().Calls(context.Background(), store.CallFilter{KeyID: h.keyID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 {
		t.Fatal("the SDK tests made no recorded call with the hub key")
	}
	seen := map[string]bool{}
	for _, c := range calls {
		seen[c.API] = true
		seen[c.Provider] = true
		if strings.HasPrefix(c.Model, "no-such-") { // the tests' unknown models
			if c.Status != store.CallError || c.HTTPStatus != 404 {
				t.Errorf("%s %s %s: status %s (%d), want an error 404", c.RequestID, c.API, c.Model, c.Status, c.HTTPStatus)
			}
			continue
		}
		if c.Status != store.CallOK || c.PromptTokens == 0 {
			t.Errorf("%s %s %s: status %s (%d %s), %d prompt tokens", c.RequestID, c.API, c.Model, c.Status, c.HTTPStatus, c.ErrorMessage, c.PromptTokens)
		}
	}
	if os.Getenv("SDK_TESTS") == "" {
		for _, want := range []string{"chat.completions", "embeddings", "openai", "anthropic"} {
			if !seen[want] {
				t.Errorf("no recorded call has %q (recorded: %v)", want, seen)
			}
		}
	}
}

// sdkEnv is the environment node runs in: the caller's, without the
// variables that would send the SDKs elsewhere than the hub (proxies,
// provider keys and base URLs an SDK reads by default, AIGNE Hub's own
// settings).
func sdkEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasSuffix(strings.ToUpper(name), "_PROXY"),
			strings.HasPrefix(name, "OPENAI_"),
			strings.HasPrefix(name, "ANTHROPIC_"),
			strings.HasPrefix(name, "AIGNE_"),
			strings.HasPrefix(name, "BLOCKLET_"),
			name == "NODE_OPTIONS":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "NO_PROXY=127.0.0.1,localhost")
}
