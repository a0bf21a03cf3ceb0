package app_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aignehub/hub/host/app"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// The crash test: a real hub process in strict durability under load is
// killed with SIGKILL, restarted, and the ledger must be consistent, with
// every call whose response the client received complete in it.
func TestCrashUnderLoadStrict(t *testing.T) { crashUnderLoad(t, "strict") }

// TestCrashUnderLoadBatched is the crash test in the default durability,
// where calls are charged with their call records, settled late: the calls
// of the last moments before the kill may be lost, but never half: every
// recorded call's credits are charged in the ledger, every charge has its
// call, and the ledger verifies.
func TestCrashUnderLoadBatched(t *testing.T) { crashUnderLoad(t, "batched") }

func crashUnderLoad(t *testing.T, durability string) {
	if testing.Short() {
		t.Skip("builds and kills a hub process")
	}
	dir := t.TempDir()
	bin := buildHubBinary(t, dir)
	emu := httptest.NewServer(emulator.New(emulator.Options{Latency: 20 * time.Millisecond, Chunks: 8, Pace: 2 * time.Millisecond}))
	defer emu.Close()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "hub.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`
listen = "127.0.0.1:%d"
data_dir = "data"
[log]
level = "warn"
[billing]
enabled = true
durability = "%s"
[billing.rates]
"gpt-4o-mini" = { input = "1", output = "2" }
[[providers]]
name = "openai"
plugin = "openai"
base_url = "%s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`, port, durability, emu.URL)), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}

	// A key and credits, made before the hub starts (as an operator would
	// with the CLI).
	ctx := context.Background()
	key := keyBeforeStart(t, cfg, "load", "", 1_000_000_000)

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "-config", cfgPath)
		cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return cmd
				}
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("hub did not become ready")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	hub := start()

	// Load: 16 clients, half streaming, until the kill.
	var sent, completed atomic.Int64
	var mu sync.Mutex
	var done []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				stream := (i+n)%2 == 0
				body := fmt.Sprintf(`{"model":"gpt-4o-mini","stream":%v,"max_tokens":64,"messages":[{"role":"user","content":"crash test %d"}]}`, stream, n)
				req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port), strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				sent.Add(1)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				// Complete: a 200 whose body arrived whole (a stream with
				// its [DONE]).
				if err != nil || resp.StatusCode != 200 || stream && !strings.Contains(string(b), "data: [DONE]") {
					continue
				}
				completed.Add(1)
				mu.Lock()
				done = append(done, resp.Header.Get("X-Request-Id"))
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	hub.Process.Signal(syscall.SIGKILL)
	hub.Wait()
	close(stop)
	wg.Wait()

	// Restart: open holds of the killed calls are released; stop cleanly.
	hub = start()
	hub.Process.Signal(syscall.SIGTERM)
	hub.Wait()

	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.VerifyLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.OpenHolds != 0 {
		t.Fatalf("ledger after the crash: %d open holds, problems %v", rep.OpenHolds, rep.Problems)
	}
	if durability != "strict" {
		crashCheckBatched(t, st, key, sent.Load(), completed.Load(), done)
		return
	}
	recorded, missing := 0, 0
	for _, id := range done {
		es, err := st.LedgerEntries(ctx, store.LedgerFilter{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		captured := false
		for _, e := range es {
			if e.Kind == store.LedgerCapture {
				captured = true
			}
		}
		if captured {
			recorded++
		} else {
			missing++
		}
	}
	t.Logf("crash test (strict): calls sent %d, completed %d, in the ledger %d, missing %d; ledger: %d accounts, %d entries, %d transactions",
		sent.Load(), completed.Load(), recorded, missing, rep.Accounts, rep.Entries, rep.Transactions)
	if completed.Load() == 0 || missing != 0 {
		t.Fatalf("%d of %d completed calls are not in the ledger", missing, completed.Load())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// crashCheckBatched checks the calls and the ledger agree after a crash in
// batched durability: each completed call is either recorded and charged
// its record's credits, or lost whole; no charge is without its call.
func crashCheckBatched(t *testing.T, st *store.Store, key string, sent, completed int64, done []string) {
	ctx := context.Background()
	recorded, lost := 0, 0
	for _, id := range done {
		calls, err := st.Calls(ctx, store.CallFilter{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		es, err := st.LedgerEntries(ctx, store.LedgerFilter{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		var charged int64
		for _, e := range es {
			if e.Kind == store.LedgerCharge && e.AccountID == e.UserAccountID {
				charged -= e.Amount
			}
		}
		switch {
		case len(calls) == 0 && len(es) == 0:
			lost++
		case len(calls) == 1 && calls[0].Credits > 0 && charged == calls[0].Credits:
			recorded++
		default:
			t.Errorf("call %s: %d records (credits %v), charged %d in the ledger", id, len(calls), calls, charged)
		}
	}
	// Every charge in the ledger has its call: per account, the recorded
	// calls' credits (the rollups, written with the calls) are what the
	// ledger charged.
	rows, err := st.Stats(ctx, store.StatsFilter{Bucket: store.StatsDay, GroupBy: []string{store.GroupByAccount}})
	if err != nil {
		t.Fatal(err)
	}
	var calls, credits, charges int64
	for _, r := range rows {
		charged, err := st.ChargedSince(ctx, r.AccountID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if charged != r.Credits {
			t.Errorf("account %d: calls' credits %d, ledger charges %d", r.AccountID, r.Credits, charged)
		}
		calls, credits, charges = calls+r.Calls, credits+r.Credits, charges+charged
	}
	t.Logf("crash test (batched): calls sent %d, completed %d, recorded and charged %d, lost whole %d; %d calls recorded, %d µcredits charged",
		sent, completed, recorded, lost, calls, charges)
	if completed == 0 || recorded == 0 || credits != charges {
		t.Fatalf("records' credits %d, ledger charges %d (completed %d, recorded %d)", credits, charges, completed, recorded)
	}
}
