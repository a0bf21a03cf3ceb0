package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// target is the policy under test: natively through the SDK's dispatcher,
// or as the real .wasm in the hub's runtime. Both exchange the records the
// hub sends.
type target interface {
	Quote(in *abi.QuoteIn) (abi.QuoteOut, error)
	Settle(in *abi.SettleIn) (abi.SettleOut, error)
}

type native struct{ p billing.Policy }

func (n native) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	var out abi.QuoteOut
	rec, err := split(billing.Invoke(n.p, abi.ExportQuote, in.Append(nil)))
	if err == nil {
		err = out.Parse(rec)
	}
	return out, err
}

func (n native) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	var out abi.SettleOut
	rec, err := split(billing.Invoke(n.p, abi.ExportSettle, in.Append(nil)))
	if err == nil {
		err = out.Parse(rec)
	}
	return out, err
}

// split returns a result's record, or its error as an *abi.Error.
func split(res []byte) ([]byte, error) {
	st, rec, err := abi.SplitResult(res)
	if err != nil || st == abi.StatusOK {
		return rec, err
	}
	var f [1][]byte
	abi.Fields(rec, f[:])
	ae := new(abi.Error)
	if err := json.Unmarshal(f[0], ae); err != nil {
		return nil, err
	}
	return nil, ae
}

type wasm struct{ p *runtime.Plugin }

func (w wasm) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	return w.p.Quote(context.Background(), in)
}
func (w wasm) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	return w.p.Settle(context.Background(), in)
}

var (
	buildOnce sync.Once
	built     []byte
	buildErr  error
	// base are the Options of every load: the module and a compilation
	// cache shared by the test binary's loads (and later runs).
	base runtime.Options
)

// module builds this directory for wasip1, once per test binary.
func module(tb testing.TB) []byte {
	tb.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "billing-policy-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "billing-policy.wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, ".")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, msg)
			return
		}
		built, buildErr = os.ReadFile(out)
		if c, err := runtime.NewCache(filepath.Join(os.TempDir(), "aignehub-billing-policy-cache")); err == nil {
			base.Cache = c // without it, every load compiles
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return built
}

// load loads the built module with cfg as its config ("": none).
func load(tb testing.TB, cfg string) (*runtime.Plugin, error) {
	opts := base
	opts.Name, opts.Wasm, opts.Trusted = "billing-policy", module(tb), true
	if cfg != "" {
		opts.Config = []byte(cfg)
	}
	return runtime.Load(context.Background(), opts)
}

// both runs fn natively and on the .wasm, both made from cfg. -short skips
// the Wasm half.
func both(t *testing.T, cfg string, fn func(t *testing.T, tg target)) {
	t.Run("native", func(t *testing.T) {
		p, err := newPolicy([]byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		fn(t, native{p})
	})
	t.Run("wasm", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the wasm half needs a build")
		}
		p, err := load(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close(context.Background()) })
		fn(t, wasm{p})
	})
}

// Times of the calls, Unix milliseconds.
var (
	noon      = ms("2025-11-27T12:00:00Z")
	threeAM   = ms("2025-11-27T03:00:00Z")
	midnight  = ms("2025-11-27T00:00:00Z")
	lastNight = ms("2025-11-27T05:59:59.999Z")
	sixAM     = ms("2025-11-27T06:00:00Z")
	before70  = ms("1969-12-31T23:00:00Z") // a negative time: 23:00, day
	before70n = ms("1969-12-31T01:00:00Z") // a negative time: 01:00, night
)

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

// rate is one micro-credit per input token and two per output token, so
// that 1000 input and 500 output tokens list at 2000 micro-credits.
var rate = abi.Rate{Found: true, InputPerM: 1_000_000, OutputPerM: 2_000_000}

var call = abi.Usage{InputTokens: 1000, OutputTokens: 500}

func li(name string, qty, amount int64) abi.LineItem {
	return abi.LineItem{Name: name, Quantity: qty, Amount: amount}
}

// list are the list-price lines of call.
var list = []abi.LineItem{li("input", 1000, 1000), li("output", 500, 1000)}

func lines(extra ...abi.LineItem) []abi.LineItem {
	return append(append([]abi.LineItem(nil), list...), extra...)
}

func TestSettle(t *testing.T) {
	const allowance = DefaultDailyFree
	tests := []struct {
		name    string
		cfg     string
		charged int64 // ChargedToday
		at      int64 // UnixMS
		usage   abi.Usage
		rate    abi.Rate
		amount  int64
		items   []abi.LineItem
	}{
		{"day, under the allowance: free", "", 0, noon, call, rate,
			0, lines(li("free_allowance", 0, -2000))},
		{"day, reaching the allowance exactly: free", "", allowance - 2000, noon, call, rate,
			0, lines(li("free_allowance", 0, -2000))},
		{"day, crossing the allowance: half free, the rest × 1.2", "", allowance - 1000, noon, call, rate,
			1200, lines(li("free_allowance", 0, -1000), li("markup", 0, 200))},
		{"day, over the allowance: × 1.2", "", allowance, noon, call, rate,
			2400, lines(li("markup", 0, 400))},
		{"day, far over the allowance", "", 50 * allowance, noon, call, rate,
			2400, lines(li("markup", 0, 400))},
		{"night, under the allowance: free, no discount line", "", 0, threeAM, call, rate,
			0, lines(li("free_allowance", 0, -2000))},
		{"night, crossing the allowance", "", allowance - 1000, threeAM, call, rate,
			600, lines(li("free_allowance", 0, -1000), li("markup", 0, 200), li("night_discount", 0, -600))},
		{"night, over the allowance: × 1.2, half off", "", allowance, threeAM, call, rate,
			1200, lines(li("markup", 0, 400), li("night_discount", 0, -1200))},
		{"00:00 is night", "", allowance, midnight, call, rate, 1200, lines(li("markup", 0, 400), li("night_discount", 0, -1200))},
		{"05:59:59.999 is night", "", allowance, lastNight, call, rate, 1200, lines(li("markup", 0, 400), li("night_discount", 0, -1200))},
		{"06:00 is day", "", allowance, sixAM, call, rate, 2400, lines(li("markup", 0, 400))},
		{"before 1970, 23:00 is day", "", allowance, before70, call, rate, 2400, lines(li("markup", 0, 400))},
		{"before 1970, 01:00 is night", "", allowance, before70n, call, rate, 1200, lines(li("markup", 0, 400), li("night_discount", 0, -1200))},
		{"rounding up: 1 × 1.2 is 2, at night 1", "", allowance, threeAM, abi.Usage{InputTokens: 1}, rate,
			1, []abi.LineItem{li("input", 1, 1), li("markup", 0, 1), li("night_discount", 0, -1)}},
		{"a negative daily total counts as 0", "", -5, noon, call, rate, 0, lines(li("free_allowance", 0, -2000))},
		{"the minimum is part of the list price", "", allowance, noon, abi.Usage{InputTokens: 10}, abi.Rate{Found: true, InputPerM: 1_000_000, MinPerCall: 100},
			120, []abi.LineItem{li("input", 10, 10), li("minimum", 0, 90), li("markup", 0, 20)}},
		{"configured allowance", `{"daily_free_microcredits": 5000}`, 4000, noon, call, rate,
			1200, lines(li("free_allowance", 0, -1000), li("markup", 0, 200))},
		{"no allowance", `{"daily_free_microcredits": 0}`, 0, noon, call, rate,
			2400, lines(li("markup", 0, 400))},
		{"huge usage saturates", "", allowance, noon, abi.Usage{InputTokens: 1 << 62}, abi.Rate{Found: true, InputPerM: 4_000_000},
			1<<63 - 1, []abi.LineItem{li("input", 1<<62, 1<<63-1)}},
	}
	for _, cfg := range []string{"", `{"daily_free_microcredits": 5000}`, `{"daily_free_microcredits": 0}`} {
		t.Run("config "+cfg, func(t *testing.T) {
			both(t, cfg, func(t *testing.T, tg target) {
				for _, tt := range tests {
					if tt.cfg != cfg {
						continue
					}
					t.Run(tt.name, func(t *testing.T) {
						got, err := tg.Settle(&abi.SettleIn{AccountID: 1, Model: "m", UnixMS: tt.at, Rate: tt.rate, ChargedToday: tt.charged, Usage: tt.usage})
						if err != nil {
							t.Fatal(err)
						}
						if got.Amount != tt.amount || fmt.Sprint(got.Items) != fmt.Sprint(tt.items) {
							t.Fatalf("Settle = %d %v\nwant %d %v", got.Amount, got.Items, tt.amount, tt.items)
						}
						var sum int64
						for _, it := range got.Items {
							sum = billing.Add(sum, it.Amount)
						}
						if sum != got.Amount && got.Amount != 1<<63-1 {
							t.Fatalf("lines add up to %d, amount %d", sum, got.Amount)
						}
					})
				}
			})
		})
	}
}

func TestQuote(t *testing.T) {
	// The worst case of 1000 input and 500 output tokens is 2000 at list.
	q := abi.QuoteIn{AccountID: 1, Provider: "openai", Model: "m", EstInputTokens: 1000, MaxOutputTokens: 500, Rate: rate}
	tests := []struct {
		name    string
		charged int64
		at      int64
		rate    abi.Rate
		want    abi.QuoteOut
	}{
		{"unpriced model", 0, noon, abi.Rate{},
			abi.QuoteOut{Code: abi.CodeUnpricedModel, Reason: "model openai/m has no rate; ask an administrator to set one"}},
		{"within the allowance: nothing to hold", 0, noon, rate, abi.QuoteOut{Allow: true}},
		{"crossing the allowance", DefaultDailyFree - 1000, noon, rate, abi.QuoteOut{Allow: true, Hold: 1200}},
		{"over the allowance, day", DefaultDailyFree, noon, rate, abi.QuoteOut{Allow: true, Hold: 2400}},
		{"over the allowance, night", DefaultDailyFree, threeAM, rate, abi.QuoteOut{Allow: true, Hold: 1200}},
	}
	both(t, "", func(t *testing.T, tg target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := q
				in.ChargedToday, in.UnixMS, in.Rate = tt.charged, tt.at, tt.rate
				if got, err := tg.Quote(&in); err != nil || got != tt.want {
					t.Fatalf("Quote = %+v, %v\nwant %+v", got, err, tt.want)
				}
			})
		}
	})
}

// TestADay runs a day of calls as the hub would, adding each call's value
// before discounts (its positive lines) to the daily total, as sdk/ABI.md
// defines ChargedToday: with an allowance of 5000, the first two calls
// (2000 each at list) are free, the third crosses it, the rest pay.
func TestADay(t *testing.T) {
	both(t, `{"daily_free_microcredits": 5000}`, func(t *testing.T, tg target) {
		var today int64
		var got []int64
		for range 5 {
			s, err := tg.Settle(&abi.SettleIn{AccountID: 1, Model: "m", UnixMS: noon, Rate: rate, ChargedToday: today, Usage: call})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, s.Amount)
			for _, it := range s.Items {
				today += max(it.Amount, 0)
			}
		}
		if want := []int64{0, 0, 1200, 2400, 2400}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("charges %v, want %v", got, want)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  string
		want int64 // the allowance, when err is ""
		err  string
	}{
		{`{}`, DefaultDailyFree, ""},
		{`  `, DefaultDailyFree, ""},
		{`{"daily_free_microcredits": 7}`, 7, ""},
		{`{"daily_free_microcredits": 0}`, 0, ""},
		{`{"daily_free_microcredits": -1}`, 0, "daily_free_microcredits must not be negative"},
		{`{"daily_free": 7}`, 0, `unknown field "daily_free"`},
		{`{"daily_free_microcredits": "lots"}`, 0, "cannot unmarshal string"},
		{`[`, 0, "unexpected EOF"},
	} {
		p, err := newPolicy([]byte(tt.cfg))
		if tt.err == "" {
			if err != nil || p.dailyFree != tt.want {
				t.Errorf("newPolicy(%s) = %+v, %v; want an allowance of %d", tt.cfg, p, err, tt.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("newPolicy(%s) error = %v, want %q", tt.cfg, err, tt.err)
		}
	}
	t.Run("a bad config fails the load", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: needs a build")
		}
		p, err := load(t, `{"daily_free_microcredits": -1}`)
		if err == nil {
			p.Close(context.Background())
			t.Fatal("Load succeeded")
		}
		// The runtime reports the guest's panic line from its stderr.
		if !strings.Contains(err.Error(), "daily_free_microcredits must not be negative") {
			t.Fatalf("Load error %v does not say why", err)
		}
	})
}

func BenchmarkWasmSettle(b *testing.B) {
	p, err := load(b, "")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	in := &abi.SettleIn{AccountID: 1, Model: "m", UnixMS: threeAM, Rate: rate, ChargedToday: DefaultDailyFree - 1000, Usage: call}
	b.ReportAllocs()
	for b.Loop() {
		if s, err := p.Settle(context.Background(), in); err != nil || s.Amount != 600 {
			b.Fatal(s, err)
		}
	}
}
