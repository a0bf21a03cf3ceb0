package main

import (
	"math"
	"reflect"
	"testing"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// rate is 2.5 / 10 credits per million input / output tokens, cached reads
// at 0.25, cache writes at 3.125, 0.04 credits an image, at least 5
// micro-credits a call.
var rate = abi.Rate{Found: true, InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 250_000, CacheWritePerM: 3_125_000, PerImage: 40_000, MinPerCall: 5}

// noCache is rate without cache prices, so that the worst case is the
// plain input rate.
var noCache = abi.Rate{Found: true, InputPerM: 2_500_000, OutputPerM: 10_000_000, PerImage: 40_000, MinPerCall: 5}

func TestManifest(t *testing.T) {
	plugintest.BothPolicy(t, &credits{}, "credits", nil, func(t *testing.T, p plugintest.Policy) {
		if m := p.Manifest(); m.ABI != abi.Version || m.Kind != abi.KindBilling || m.Name != "credits" || m.Version == "" {
			t.Fatalf("manifest %+v", m)
		}
	})
}

func TestQuote(t *testing.T) {
	const maxI = math.MaxInt64
	tests := []struct {
		name string
		in   abi.QuoteIn
		want abi.QuoteOut
	}{
		{"unpriced model", abi.QuoteIn{Provider: "openai", Model: "gpt-9", RequestedModel: "fast", EstInputTokens: 10},
			abi.QuoteOut{Code: abi.CodeUnpricedModel, Reason: "model openai/gpt-9 has no rate; ask an administrator to set one"}},
		{"unpriced model without a provider", abi.QuoteIn{Model: "gpt-9"},
			abi.QuoteOut{Code: abi.CodeUnpricedModel, Reason: "model gpt-9 has no rate; ask an administrator to set one"}},
		{"chat: input and max output", abi.QuoteIn{Model: "m", Rate: noCache, EstInputTokens: 1200, MaxOutputTokens: 4096},
			abi.QuoteOut{Allow: true, Hold: 3000 + 40_960}},
		{"each part rounds up", abi.QuoteIn{Model: "m", Rate: noCache, EstInputTokens: 1, MaxOutputTokens: 1},
			abi.QuoteOut{Allow: true, Hold: 3 + 10}},
		{"cache writes are the dearest input", abi.QuoteIn{Model: "m", Rate: rate, EstInputTokens: 1000},
			abi.QuoteOut{Allow: true, Hold: 3125}},
		{"images", abi.QuoteIn{Model: "m", Rate: noCache, Images: 4, EstInputTokens: 20},
			abi.QuoteOut{Allow: true, Hold: 160_000 + 50}},
		{"at least the minimum", abi.QuoteIn{Model: "m", Rate: noCache},
			abi.QuoteOut{Allow: true, Hold: 5}},
		{"a free model holds nothing", abi.QuoteIn{Model: "m", Rate: abi.Rate{Found: true}, EstInputTokens: 1 << 40, MaxOutputTokens: 1 << 40},
			abi.QuoteOut{Allow: true}},
		{"an empty balance is the host's business", abi.QuoteIn{Model: "m", Rate: noCache, EstInputTokens: 1000, Balance: -10, ChargedToday: 1 << 50},
			abi.QuoteOut{Allow: true, Hold: 2500 + 5 - 5}},
		{"huge estimates saturate", abi.QuoteIn{Model: "m", Rate: noCache, EstInputTokens: maxI, MaxOutputTokens: maxI, Images: maxI},
			abi.QuoteOut{Allow: true, Hold: maxI}},
		{"huge exact", abi.QuoteIn{Model: "m", Rate: abi.Rate{Found: true, InputPerM: 3_000_000_000_000}, EstInputTokens: 3_000_000_000_000},
			abi.QuoteOut{Allow: true, Hold: 9_000_000_000_000_000_000}},
	}
	plugintest.BothPolicy(t, &credits{}, "credits", nil, func(t *testing.T, p plugintest.Policy) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := p.Quote(&tt.in)
				if err != nil || got != tt.want {
					t.Fatalf("Quote = %+v, %v\nwant %+v", got, err, tt.want)
				}
			})
		}
	})
}

func TestSettle(t *testing.T) {
	const maxI = math.MaxInt64
	type items = []abi.LineItem
	chat := abi.Usage{InputTokens: 10_000, CachedTokens: 6000, CacheWriteTokens: 3000, OutputTokens: 900, ReasoningTokens: 400}
	chatPrice := abi.SettleOut{Amount: 2500 + 1500 + 9375 + 9000,
		Items: items{li("input", 1000, 2500), li("cached_input", 6000, 1500), li("cache_write", 3000, 9375), li("output", 900, 9000)}}
	tests := []struct {
		name string
		in   abi.SettleIn
		want abi.SettleOut
	}{
		{"chat with caching", abi.SettleIn{Rate: rate, Usage: chat}, chatPrice},
		{"estimated usage is priced the same", abi.SettleIn{Rate: rate, Usage: chat, Estimated: true}, chatPrice},
		{"aborted usage is priced the same", abi.SettleIn{Rate: rate, Usage: chat, Aborted: true, Held: 1}, chatPrice},
		{"the hold does not change the price", abi.SettleIn{Rate: rate, Usage: chat, Held: 1 << 40, ChargedToday: 99}, chatPrice},
		{"plain chat", abi.SettleIn{Rate: rate, Usage: abi.Usage{InputTokens: 1234, OutputTokens: 56}},
			abi.SettleOut{Amount: 3085 + 560, Items: items{li("input", 1234, 3085), li("output", 56, 560)}}},
		{"embeddings round up", abi.SettleIn{Rate: rate, Usage: abi.Usage{InputTokens: 7}},
			abi.SettleOut{Amount: 18, Items: items{li("input", 7, 18)}}},
		{"images", abi.SettleIn{Rate: rate, Usage: abi.Usage{Images: 2}},
			abi.SettleOut{Amount: 80_000, Items: items{li("images", 2, 80_000)}}},
		{"images with prompt tokens", abi.SettleIn{Rate: rate, Usage: abi.Usage{Images: 1, InputTokens: 100}},
			abi.SettleOut{Amount: 250 + 40_000, Items: items{li("input", 100, 250), li("images", 1, 40_000)}}},
		{"raised to the minimum", abi.SettleIn{Rate: rate, Usage: abi.Usage{InputTokens: 1}},
			abi.SettleOut{Amount: 5, Items: items{li("input", 1, 3), li("minimum", 0, 2)}}},
		{"no usage costs the minimum", abi.SettleIn{Rate: rate, Aborted: true},
			abi.SettleOut{Amount: 5, Items: items{li("minimum", 0, 5)}}},
		{"no usage, no minimum", abi.SettleIn{Rate: abi.Rate{Found: true, InputPerM: 1}}, abi.SettleOut{}},
		{"a rate gone since the quote prices at 0", abi.SettleIn{Usage: chat},
			abi.SettleOut{Items: items{li("input", 1000, 0), li("cached_input", 6000, 0), li("cache_write", 3000, 0), li("output", 900, 0)}}},
		{"huge usage is exact", abi.SettleIn{Rate: abi.Rate{Found: true, OutputPerM: 3_000_000_000_000}, Usage: abi.Usage{OutputTokens: 3_000_000_000_000}},
			abi.SettleOut{Amount: 9_000_000_000_000_000_000, Items: items{li("output", 3_000_000_000_000, 9_000_000_000_000_000_000)}}},
		{"overflow saturates", abi.SettleIn{Rate: rate, Usage: abi.Usage{InputTokens: maxI, OutputTokens: maxI}},
			abi.SettleOut{Amount: maxI, Items: items{li("input", maxI, maxI), li("output", maxI, maxI)}}},
	}
	plugintest.BothPolicy(t, &credits{}, "credits", nil, func(t *testing.T, p plugintest.Policy) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := p.Settle(&tt.in)
				if err != nil {
					t.Fatal(err)
				}
				if got.Amount != tt.want.Amount || len(got.Items) != len(tt.want.Items) || (len(got.Items) > 0 && !reflect.DeepEqual(got.Items, tt.want.Items)) {
					t.Fatalf("Settle =\n %+v\nwant\n %+v", got, tt.want)
				}
			})
		}
	})
}

// TestSettleWithinHold checks, for usage that stays within what was quoted
// (no more prompt tokens than estimated, no more output than the maximum),
// that the settlement never exceeds the hold: the hold is a true worst case.
func TestSettleWithinHold(t *testing.T) {
	p := plugintest.NativePolicy(&credits{})
	for _, r := range []abi.Rate{rate, noCache, {Found: true, InputPerM: 1, OutputPerM: 1, CachedReadPerM: 7, MinPerCall: 3}} {
		for _, est := range []int64{0, 1, 999, 1_000_001} {
			q, err := p.Quote(&abi.QuoteIn{Model: "m", Rate: r, EstInputTokens: est, MaxOutputTokens: 2 * est, Images: 1})
			if err != nil || !q.Allow {
				t.Fatal(q, err)
			}
			for _, u := range []abi.Usage{
				{InputTokens: est, OutputTokens: 2 * est, Images: 1},
				{InputTokens: est, CachedTokens: est, OutputTokens: est},
				{InputTokens: est, CacheWriteTokens: est},
				{},
			} {
				s, err := p.Settle(&abi.SettleIn{Rate: r, Usage: u, Held: q.Hold})
				if err != nil || s.Amount > q.Hold {
					t.Errorf("rate %+v usage %+v: settled %d, held %d (%v)", r, u, s.Amount, q.Hold, err)
				}
			}
		}
	}
}

// FuzzSettle runs the real dispatch (record in, record out) on any usage
// and rate: it never fails, the amount is never negative nor below the
// minimum, and the lines add up to it.
func FuzzSettle(f *testing.F) {
	f.Add(int64(1000), int64(200), int64(10), int64(5), int64(1), int64(2_500_000), int64(10_000_000), int64(5), false)
	f.Add(int64(math.MaxInt64), int64(-1), int64(math.MaxInt64), int64(0), int64(math.MaxInt64), int64(math.MaxInt64), int64(1), int64(0), true)
	p := plugintest.NativePolicy(&credits{})
	f.Fuzz(func(t *testing.T, in, out, cached, write, images, rIn, rOut, rMin int64, aborted bool) {
		r := abi.Rate{Found: true, InputPerM: rIn, OutputPerM: rOut, CachedReadPerM: rIn / 10, CacheWritePerM: rIn, PerImage: rOut, MinPerCall: rMin}
		s, err := p.Settle(&abi.SettleIn{Rate: r, Usage: abi.Usage{InputTokens: in, OutputTokens: out, CachedTokens: cached, CacheWriteTokens: write, Images: images}, Aborted: aborted})
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, it := range s.Items {
			sum = billing.Add(sum, it.Amount)
		}
		if s.Amount < 0 || s.Amount < rMin || sum != s.Amount {
			t.Fatalf("amount %d, lines %d, min %d: %+v", s.Amount, sum, rMin, s.Items)
		}
	})
}

func BenchmarkWasmQuote(b *testing.B) {
	p := plugintest.WasmPolicy(b, "credits", nil)
	in := &abi.QuoteIn{AccountID: 1, KeyID: 2, API: abi.APIChatCompletions, Provider: "openai", Model: "gpt-4o", RequestedModel: "gpt-4o",
		EstInputTokens: 1200, MaxOutputTokens: 4096, UnixMS: 1764201600123, Rate: rate, Balance: 1 << 40}
	b.ReportAllocs()
	for b.Loop() {
		if q, err := p.Quote(in); err != nil || !q.Allow {
			b.Fatal(q, err)
		}
	}
}

func BenchmarkWasmSettle(b *testing.B) {
	p := plugintest.WasmPolicy(b, "credits", nil)
	in := &abi.SettleIn{AccountID: 1, KeyID: 2, API: abi.APIChatCompletions, Provider: "openai", Model: "gpt-4o", RequestedModel: "gpt-4o",
		UnixMS: 1764201600123, Rate: rate, Held: 43_960, Usage: abi.Usage{InputTokens: 10_000, CachedTokens: 6000, CacheWriteTokens: 3000, OutputTokens: 900, ReasoningTokens: 400}}
	b.ReportAllocs()
	for b.Loop() {
		if s, err := p.Settle(in); err != nil || len(s.Items) != 4 {
			b.Fatal(s, err)
		}
	}
}

func BenchmarkNativeSettle(b *testing.B) {
	in := (&abi.SettleIn{Rate: rate, Usage: abi.Usage{InputTokens: 10_000, CachedTokens: 6000, CacheWriteTokens: 3000, OutputTokens: 900}}).Append(nil)
	b.ReportAllocs()
	for b.Loop() {
		if res := billing.Invoke(&credits{}, abi.ExportSettle, in); res[0] != abi.StatusOK {
			b.Fatal(string(res))
		}
	}
}

// li is a line item.
func li(name string, qty, amount int64) abi.LineItem {
	return abi.LineItem{Name: name, Quantity: qty, Amount: amount}
}
