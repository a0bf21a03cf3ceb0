package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// billingTOML: billing on, gpt-4o-mini priced at 1 micro-credit per input
// token, 2 per output token, 0.5 per cached token (per 1M: 1, 2, 0.5
// credits); gpt-4o is unpriced.
const billingTOML = `
listen = "127.0.0.1:0"
data_dir = %[1]q

[billing]
enabled = true
durability = %[3]q

[billing.rates]
"gpt-4o-mini" = { input = "1", output = "2", cached_read = "0.5" }

[plugins.ecut3]
source = "builtin:openai"
config = { headers = { "X-Emulator-Fail-After" = "3", "X-Emulator-Chunks" = "10" } }

[plugins.e500]
source = "builtin:openai"
config = { headers = { "X-Emulator-Status" = "500" } }

[[providers]]
name = "openai"
plugin = "openai"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini", "gpt-4o"]

[[providers]]
name = "ecut3"
plugin = "ecut3"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]

[[providers]]
name = "e500"
plugin = "e500"
base_url = "%[2]s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

func startBillingHub(t *testing.T, eo emulator.Options, durability string) *testHub {
	t.Helper()
	return startHubWith(t, eo, func(dataDir, emuURL string) string {
		return fmt.Sprintf(billingTOML, dataDir, emuURL, durability)
	})
}

// grant gives the test key's account credits (micro-credits).
func (h *testHub) grant(amount int64) int64 {
	h.t.Helper()
	acct, err := h.hub.Store().EnsureAccount(context.Background(), "default")
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.hub.Biller().Grant(context.Background(), acct.ID, amount, "test", time.Time{}); err != nil {
		h.t.Fatal(err)
	}
	return acct.ID
}

func (h *testHub) balance(acct int64) int64 {
	h.t.Helper()
	b, err := h.hub.Store().Balances(context.Background(), []int64{acct})
	if err != nil {
		h.t.Fatal(err)
	}
	return b[acct].Balance
}

// writeAll waits until every call so far is in the ledger: the call
// records, which carry batched charges, and the biller's own writes.
func (h *testHub) writeAll() {
	h.t.Helper()
	if err := h.hub.Recorder().Flush(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.hub.Biller().Close(context.Background())
}

// netCharge is what the ledger took from the account for a request (its
// entries on the user account, an over-the-hold charge included). Call it
// after writeAll, so every write is in.
func (h *testHub) netCharge(reqID string, acct int64) int64 {
	h.t.Helper()
	var net int64
	for _, id := range []string{reqID, reqID + "#over"} {
		es, err := h.hub.Store().LedgerEntries(context.Background(), store.LedgerFilter{RequestID: id})
		if err != nil {
			h.t.Fatal(err)
		}
		for _, e := range es {
			if e.AccountID == acct {
				net -= e.Amount
			}
		}
	}
	return net
}

func (h *testHub) verifyLedger() {
	h.t.Helper()
	r, err := h.hub.Store().VerifyLedger(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	if len(r.Problems) > 0 {
		h.t.Fatalf("ledger verify: %v", r.Problems)
	}
}

func TestBillingExactCharges(t *testing.T) {
	h := startBillingHub(t, emulator.Options{Cached: 4}, "batched")
	acct := h.grant(1_000_000)

	// Non-stream: charged exactly input×1 + output×2 with cached at 0.5.
	resp := h.post(h.key, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	c := h.call(id)
	want := (c.PromptTokens - c.CachedTokens) + (c.CachedTokens+1)/2 + 2*c.CompletionTokens
	if c.Credits != want || c.PromptTokens == 0 || c.CachedTokens != 4 {
		t.Fatalf("credits %d, want %d (usage %+v)", c.Credits, want, c)
	}
	charges := map[string]int64{id: c.Credits}

	// Stream with usage: the same.
	resp = h.post(h.key, "/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hello there"}]}`)
	sse(t, resp.Body)
	resp.Body.Close()
	c = h.call(resp.Header.Get("X-Request-Id"))
	if want := (c.PromptTokens - c.CachedTokens) + (c.CachedTokens+1)/2 + 2*c.CompletionTokens; c.Credits != want || c.UsageEstimated {
		t.Fatalf("stream credits %d, want %d (%+v)", c.Credits, want, c)
	}
	charges[c.RequestID] = c.Credits

	// Upstream failure before any output: nothing charged, all released.
	resp = h.post(h.key, "/v1/chat/completions", `{"model":"e500/gpt-4o-mini","max_tokens":50,"messages":[{"role":"user","content":"x"}]}`)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id = resp.Header.Get("X-Request-Id")
	if c := h.call(id); resp.StatusCode != 502 || c.Credits != 0 {
		t.Fatalf("failed call: %d, credits %d", resp.StatusCode, c.Credits)
	}
	charges[id] = 0

	// A stream that breaks after output: billed for what was delivered,
	// estimated (the provider never sent usage), never the error text.
	resp = h.post(h.key, "/v1/chat/completions", `{"model":"ecut3/gpt-4o-mini","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"x"}]}`)
	events := sse(t, resp.Body)
	resp.Body.Close()
	c = h.call(resp.Header.Get("X-Request-Id"))
	if !c.UsageEstimated || c.CompletionTokens == 0 || c.Credits != c.PromptTokens+2*c.CompletionTokens {
		t.Fatalf("broken stream: %+v (events %d)", c, len(events))
	}
	charges[c.RequestID] = c.Credits

	// Unpriced model: a clear 400, nothing held.
	resp = h.post(h.key, "/v1/chat/completions", `{"model":"openai/gpt-4o","messages":[{"role":"user","content":"x"}]}`)
	if e := decodeError(t, resp); resp.StatusCode != 400 || deref(e.Error.Code) != "unpriced_model" {
		t.Fatalf("unpriced: %d %+v", resp.StatusCode, e)
	}
	h.writeAll()
	var total int64
	for id, want := range charges {
		if got := h.netCharge(id, acct); got != want {
			t.Fatalf("ledger took %d for %s, the call record says %d", got, id, want)
		}
		total += want
	}
	if b := h.balance(acct); b != 1_000_000-total {
		t.Fatalf("balance %d, want %d", b, 1_000_000-total)
	}
	h.verifyLedger()
}

func TestBillingClientAbortBillsDelivered(t *testing.T) {
	h := startBillingHub(t, emulator.Options{Chunks: 200, Pace: 5 * time.Millisecond}, "batched")
	acct := h.grant(1_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4o-mini","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("Authorization", "Bearer "+h.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	io.ReadAtLeast(resp.Body, buf, 1500)
	cancel()
	resp.Body.Close()
	c := h.call(resp.Header.Get("X-Request-Id"))
	if c.Status != store.CallAborted || !c.UsageEstimated || c.CompletionTokens == 0 || c.CompletionTokens >= 500 {
		t.Fatalf("aborted call %+v", c)
	}
	if c.Credits != c.PromptTokens+2*c.CompletionTokens {
		t.Fatalf("credits %d for %d+%d tokens", c.Credits, c.PromptTokens, c.CompletionTokens)
	}
	h.writeAll()
	if got := h.netCharge(c.RequestID, acct); got != c.Credits {
		t.Fatalf("ledger took %d, the call record says %d", got, c.Credits)
	}
	h.verifyLedger()
}

// 100 concurrent calls against an account whose credit covers 10 holds:
// at most 10 succeed, the rest get 402, the balance never goes negative.
func TestBillingConcurrentCallsNeverOverdraw(t *testing.T) {
	for _, durability := range []string{"batched", "strict"} {
		t.Run(durability, func(t *testing.T) {
			// The upstream answers slowly enough that all 100 calls are in
			// flight together: a call that ended would release the part of
			// its hold it did not use, and a later call could then fit.
			h := startBillingHub(t, emulator.Options{Latency: 2 * time.Second}, durability)
			body := `{"model":"gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"same body for every call"}]}`
			hold := int64((len(body)+2)/3) + 2*100 // the credits policy's worst case
			acct := h.grant(10 * hold)
			var mu sync.Mutex
			statuses := map[int]int{}
			var wg sync.WaitGroup
			for range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp := h.post(h.key, "/v1/chat/completions", body)
					if resp.StatusCode == 402 {
						if e := decodeError(t, resp); e.Error.Type != "insufficient_quota" {
							t.Errorf("402 type %q", e.Error.Type)
						}
					} else {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					mu.Lock()
					statuses[resp.StatusCode]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if statuses[200] > 10 || statuses[200] == 0 || statuses[200]+statuses[402] != 100 {
				t.Fatalf("statuses %v", statuses)
			}
			h.writeAll()
			if b := h.balance(acct); b < 0 || b >= 10*hold {
				t.Fatalf("balance %d after %d calls (grant %d)", b, statuses[200], 10*hold)
			}
			h.verifyLedger()
		})
	}
}

// In strict durability the hold is in the database before the upstream
// request is sent.
func TestStrictHoldCommittedBeforeUpstream(t *testing.T) {
	h := startBillingHub(t, emulator.Options{Latency: 400 * time.Millisecond}, "strict")
	acct := h.grant(1_000_000)
	done := make(chan *http.Response)
	go func() {
		done <- h.post(h.key, "/v1/chat/completions", `{"model":"gpt-4o-mini","max_tokens":10,"messages":[{"role":"user","content":"x"}]}`)
	}()
	deadline := time.Now().Add(3 * time.Second)
	for len(h.emu.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The upstream has the request: the hold must already be committed.
	if b := h.balance(acct); b >= 1_000_000 {
		t.Fatalf("balance %d while the upstream call is in flight: hold not committed", b)
	}
	resp := <-done
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c := h.call(resp.Header.Get("X-Request-Id"))
	// Settled before the response completed: the balance is final now.
	if b := h.balance(acct); b != 1_000_000-c.Credits {
		t.Fatalf("balance %d, want %d", b, 1_000_000-c.Credits)
	}
}

func TestInsufficientCreditsIs402(t *testing.T) {
	h := startBillingHub(t, emulator.Options{}, "batched")
	resp := h.post(h.key, "/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"x"}]}`)
	e := decodeError(t, resp)
	if resp.StatusCode != 402 || e.Error.Type != "insufficient_quota" || deref(e.Error.Code) != "insufficient_quota" {
		t.Fatalf("%d %+v", resp.StatusCode, e)
	}
	if c := h.call(resp.Header.Get("X-Request-Id")); c.HTTPStatus != 402 || c.Attempts != 0 || len(h.emu.Requests()) != 0 {
		t.Fatalf("record %+v, upstream requests %d", c, len(h.emu.Requests()))
	}
}

// The custom policy in examples/billing-policy, built from source and
// loaded as the hub's policy: a daily allowance, then rates × 1.2, half
// price at night (UTC).
func TestCustomBillingPolicy(t *testing.T) {
	wasm := buildExamplePolicy(t, "billing-policy.wasm")
	body := `{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"price me"}]}`
	// Learn one call's list price (its usage is deterministic) from a
	// hub with the default policy.
	probe := startBillingHub(t, emulator.Options{}, "batched")
	probe.grant(1_000_000)
	resp := probe.post(probe.key, "/v1/chat/completions", body)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	list := probe.call(resp.Header.Get("X-Request-Id")).Credits

	h := startHubWith(t, emulator.Options{}, func(dataDir, emuURL string) string {
		return policyTOML(dataDir, "custom", wasm, fmt.Sprintf("config = { daily_free_microcredits = %d }", list+1), emuURL)
	})
	acct := h.grant(1_000_000)
	var charged []int64
	var nights []bool
	for range 3 {
		resp := h.post(h.key, "/v1/chat/completions", body)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c := h.call(resp.Header.Get("X-Request-Id"))
		charged = append(charged, c.Credits)
		nights = append(nights, c.CreatedAt.UTC().Hour() < 6)
	}
	price := func(rest int64, night bool) int64 {
		marked := (rest*6 + 4) / 5 // ceil(rest × 1.2)
		if night {
			return (marked + 1) / 2
		}
		return marked
	}
	want := []int64{0, price(list-1, nights[1]), price(list, nights[2])}
	if fmt.Sprint(charged) != fmt.Sprint(want) {
		t.Fatalf("charges %v, want %v (list price %d, allowance %d)", charged, want, list, list+1)
	}
	h.writeAll()
	if b := h.balance(acct); b != 1_000_000-want[1]-want[2] {
		t.Fatalf("balance %d", b)
	}
	h.verifyLedger()
}

// Credits granted through the admin API are spendable at once; usage and
// the balance are visible to the key's owner through the user API.
func TestCreditsAndUsageAPIs(t *testing.T) {
	h := startBillingHub(t, emulator.Options{}, "batched")
	admin := h.adminKey()
	acct, err := h.hub.Store().EnsureAccount(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"gpt-4o-mini","max_tokens":20,"messages":[{"role":"user","content":"x"}]}`
	resp := h.post(h.key, "/v1/chat/completions", body)
	if resp.StatusCode != 402 {
		t.Fatalf("no credits yet: %d", resp.StatusCode)
	}
	resp.Body.Close()
	var granted struct {
		Balance int64 `json:"balance"`
	}
	h.adminJSON(admin, "POST", fmt.Sprintf("/api/admin/accounts/%d/credits", acct.ID), `{"amount":"2.5","memo":"top-up"}`, 201, &granted)
	if granted.Balance != 2_500_000 {
		t.Fatalf("balance after grant %d", granted.Balance)
	}
	var total int64
	for range 3 {
		resp := h.post(h.key, "/v1/chat/completions", body)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("after the grant: %d", resp.StatusCode)
		}
		total += h.call(resp.Header.Get("X-Request-Id")).Credits
	}
	var usage struct {
		Data []struct {
			Model   string `json:"model"`
			Calls   int64  `json:"calls"`
			Charged int64  `json:"charged"`
		} `json:"data"`
	}
	h.adminJSON(h.key, "GET", "/api/usage?group_by=model&bucket=day", "", 200, &usage)
	var calls, charged int64
	for _, r := range usage.Data {
		calls += r.Calls
		charged += r.Charged
	}
	// 4 calls (the 402 one included), 3 charged.
	if calls != 4 || charged != total || total == 0 {
		t.Fatalf("usage %+v, charged %d", usage.Data, total)
	}
	h.writeAll()
	var me struct {
		Balance int64 `json:"balance"`
	}
	h.adminJSON(h.key, "GET", "/api/account", "", 200, &me)
	if me.Balance != 2_500_000-total {
		t.Fatalf("account balance %d, want %d", me.Balance, 2_500_000-total)
	}
	h.verifyLedger()
}
