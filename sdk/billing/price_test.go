package billing

import (
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

// mulDivCeilBig is MulDivCeil computed with math/big, the reference.
func mulDivCeilBig(a, b, d int64) int64 {
	a, b = max(a, 0), max(b, 0)
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	p.Add(p, big.NewInt(d-1))
	p.Quo(p, big.NewInt(d))
	if !p.IsInt64() {
		return math.MaxInt64
	}
	return p.Int64()
}

func TestMulDivCeil(t *testing.T) {
	const maxI = math.MaxInt64
	for _, tc := range []struct{ a, b, d, want int64 }{
		{0, 5, 1_000_000, 0},
		{1, 1, 1_000_000, 1},                            // a millionth rounds up to one micro-credit
		{1_000_000, 1, 1_000_000, 1},                    // exact
		{1_000_001, 1, 1_000_000, 2},                    // a hair over rounds up
		{1000, 2_500_000, 1_000_000, 2500},              // 1000 tokens at 2.5 credits/M
		{1234, 2_500_000, 1_000_000, 3085},              // 3085 exactly
		{1235, 2_500_000, 1_000_000, 3088},              // 3087.5 up
		{-5, 10, 1, 0},                                  // negative quantity counts as 0
		{5, -10, 1, 0},                                  // negative price counts as 0
		{maxI, 1, 1, maxI},                              // fits exactly
		{maxI, 2, 1, maxI},                              // saturates
		{maxI, maxI, 1_000_000, maxI},                   // 126-bit product saturates
		{maxI, 1_000_000, 1_000_000, maxI},              // product over 64 bits, quotient fits exactly
		{maxI, 999_999, 1_000_000, 9223362813482738953}, // product over 64 bits, quotient below
		{1 << 62, 4, 1 << 62, 4},
		{3_000_000_000_000, 3_000_000_000_000, 1_000_000, 9_000_000_000_000_000_000}, // 9e24 / 1e6 fits
		{4_000_000_000_000, 3_000_000_000_000, 1_000_000, maxI},                      // 1.2e19 does not
	} {
		if got := MulDivCeil(tc.a, tc.b, tc.d); got != tc.want {
			t.Errorf("MulDivCeil(%d, %d, %d) = %d, want %d", tc.a, tc.b, tc.d, got, tc.want)
		}
		if ref := mulDivCeilBig(tc.a, tc.b, tc.d); ref != tc.want {
			t.Errorf("table is wrong for (%d, %d, %d): math/big says %d", tc.a, tc.b, tc.d, ref)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("MulDivCeil with d = 0 did not panic")
		}
	}()
	MulDivCeil(1, 1, 0)
}

func TestAdd(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{
		{1, 2, 3},
		{math.MaxInt64, 1, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MinInt64, -1, math.MinInt64},
		{math.MaxInt64, math.MinInt64, -1},
		{-5, 3, -2},
	} {
		if got := Add(tc.a, tc.b); got != tc.want {
			t.Errorf("Add(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// gpt is a rate like a current frontier model's: 2.5 / 10 credits per
// million input / output tokens, cached reads at a tenth, cache writes at
// 1.25×, 0.04 credits an image.
var gpt = abi.Rate{Found: true, InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 250_000, CacheWritePerM: 3_125_000, PerImage: 40_000}

func TestListPrice(t *testing.T) {
	const maxI = math.MaxInt64
	withMin := gpt
	withMin.MinPerCall = 100
	type items = []abi.LineItem
	for _, tc := range []struct {
		name  string
		rate  abi.Rate
		usage abi.Usage
		want  abi.SettleOut
	}{
		{"input and output", gpt, abi.Usage{InputTokens: 1000, OutputTokens: 200},
			abi.SettleOut{Amount: 4500, Items: items{li("input", 1000, 2500), li("output", 200, 2000)}}},
		{"reasoning is part of output", gpt, abi.Usage{InputTokens: 1000, OutputTokens: 200, ReasoningTokens: 150},
			abi.SettleOut{Amount: 4500, Items: items{li("input", 1000, 2500), li("output", 200, 2000)}}},
		{"cache reads and writes split the prompt", gpt, abi.Usage{InputTokens: 10_000, CachedTokens: 6000, CacheWriteTokens: 3000, OutputTokens: 1},
			abi.SettleOut{Amount: 2500 + 1500 + 9375 + 10, Items: items{li("input", 1000, 2500), li("cached_input", 6000, 1500), li("cache_write", 3000, 9375), li("output", 1, 10)}}},
		{"each line rounds up on its own", gpt, abi.Usage{InputTokens: 3, CachedTokens: 1, CacheWriteTokens: 1, OutputTokens: 1},
			abi.SettleOut{Amount: 3 + 1 + 4 + 10, Items: items{li("input", 1, 3), li("cached_input", 1, 1), li("cache_write", 1, 4), li("output", 1, 10)}}},
		{"cached beyond input floors uncached at 0", gpt, abi.Usage{InputTokens: 10, CachedTokens: 8, CacheWriteTokens: 8},
			abi.SettleOut{Amount: 2 + 25, Items: items{li("cached_input", 8, 2), li("cache_write", 8, 25)}}},
		{"images", gpt, abi.Usage{Images: 3},
			abi.SettleOut{Amount: 120_000, Items: items{li("images", 3, 120_000)}}},
		{"minimum tops up", withMin, abi.Usage{InputTokens: 10},
			abi.SettleOut{Amount: 100, Items: items{li("input", 10, 25), li("minimum", 0, 75)}}},
		{"minimum on no usage", withMin, abi.Usage{},
			abi.SettleOut{Amount: 100, Items: items{li("minimum", 0, 100)}}},
		{"above the minimum", withMin, abi.Usage{OutputTokens: 100},
			abi.SettleOut{Amount: 1000, Items: items{li("output", 100, 1000)}}},
		{"no usage, no minimum", gpt, abi.Usage{}, abi.SettleOut{Items: items{}}},
		{"a zero rate still lists the line", abi.Rate{Found: true, OutputPerM: 1}, abi.Usage{InputTokens: 5, OutputTokens: 2},
			abi.SettleOut{Amount: 1, Items: items{li("input", 5, 0), li("output", 2, 1)}}},
		{"not found prices at 0", abi.Rate{}, abi.Usage{InputTokens: 5},
			abi.SettleOut{Items: items{li("input", 5, 0)}}},
		{"negative usage counts as 0", gpt, abi.Usage{InputTokens: -5, OutputTokens: -1, Images: -3, CachedTokens: -1},
			abi.SettleOut{Items: items{}}},
		{"huge values are exact", abi.Rate{Found: true, InputPerM: 3_000_000_000_000}, abi.Usage{InputTokens: 3_000_000_000_000},
			abi.SettleOut{Amount: 9_000_000_000_000_000_000, Items: items{li("input", 3_000_000_000_000, 9_000_000_000_000_000_000)}}},
		{"overflow saturates", abi.Rate{Found: true, InputPerM: maxI, OutputPerM: maxI, PerImage: maxI}, abi.Usage{InputTokens: maxI, OutputTokens: maxI, Images: maxI},
			abi.SettleOut{Amount: maxI, Items: items{li("input", maxI, maxI), li("output", maxI, maxI), li("images", maxI, maxI)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ListPrice(tc.rate, tc.usage); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ListPrice =\n %+v\nwant\n %+v", got, tc.want)
			}
		})
	}
}

func TestWorstCase(t *testing.T) {
	const maxI = math.MaxInt64
	plain := abi.Rate{Found: true, InputPerM: 2_500_000, OutputPerM: 10_000_000, CachedReadPerM: 250_000, PerImage: 40_000, MinPerCall: 7}
	for _, tc := range []struct {
		name                  string
		rate                  abi.Rate
		input, output, images int64
		want                  int64
	}{
		{"input and output", plain, 1000, 4096, 0, 2500 + 40_960},
		{"rounds up", plain, 1, 1, 0, 3 + 10},
		{"images", plain, 0, 0, 2, 80_000},
		{"the minimum", plain, 0, 0, 0, 7},
		{"cache writes dearer than input", gpt, 1000, 0, 0, 3125},
		{"negative counts as 0", plain, -1, -1, -1, 7},
		{"saturates", plain, maxI, maxI, maxI, maxI},
	} {
		if got := WorstCase(tc.rate, tc.input, tc.output, tc.images); got != tc.want {
			t.Errorf("%s: WorstCase = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func FuzzMulDivCeil(f *testing.F) {
	f.Add(int64(1234), int64(2_500_000), int64(1_000_000))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(1))
	f.Add(int64(math.MaxInt64), int64(999_999), int64(1_000_000))
	f.Fuzz(func(t *testing.T, a, b, d int64) {
		if d <= 0 {
			return
		}
		if got, want := MulDivCeil(a, b, d), mulDivCeilBig(a, b, d); got != want {
			t.Fatalf("MulDivCeil(%d, %d, %d) = %d, want %d", a, b, d, got, want)
		}
	})
}

// FuzzListPrice checks the invariants of a settlement on any usage and
// rate: never negative, at least the minimum, the lines add up to the
// amount (unless it saturated), quantities positive, and within the worst
// case of the same usage when the cache lines do not round separately.
func FuzzListPrice(f *testing.F) {
	f.Add(int64(1000), int64(200), int64(0), int64(0), int64(0), int64(2_500_000), int64(10_000_000), int64(250_000), int64(3_125_000), int64(40_000), int64(5))
	f.Add(int64(math.MaxInt64), int64(math.MaxInt64), int64(3), int64(3), int64(math.MaxInt64), int64(math.MaxInt64), int64(1), int64(1), int64(1), int64(1), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, in, out, cached, write, images, rIn, rOut, rCached, rWrite, rImage, rMin int64) {
		r := abi.Rate{Found: true, InputPerM: rIn, OutputPerM: rOut, CachedReadPerM: rCached, CacheWritePerM: rWrite, PerImage: rImage, MinPerCall: rMin}
		u := abi.Usage{InputTokens: in, OutputTokens: out, CachedTokens: cached, CacheWriteTokens: write, Images: images}
		s := ListPrice(r, u)
		if s.Amount < 0 || s.Amount < rMin {
			t.Fatalf("amount %d (min %d)", s.Amount, rMin)
		}
		var sum int64
		for _, it := range s.Items {
			sum = Add(sum, it.Amount)
			if it.Amount < 0 || (it.Name != ItemMinimum && it.Quantity <= 0) {
				t.Fatalf("line %+v", it)
			}
		}
		if sum != s.Amount {
			t.Fatalf("lines add up to %d, amount %d", sum, s.Amount)
		}
		if cached <= 0 && write <= 0 {
			if wc := WorstCase(r, in, out, images); s.Amount > wc {
				t.Fatalf("settled %d above the worst case %d", s.Amount, wc)
			}
		}
	})
}

func BenchmarkListPrice(b *testing.B) {
	u := abi.Usage{InputTokens: 10_000, CachedTokens: 6000, CacheWriteTokens: 3000, OutputTokens: 900, ReasoningTokens: 400}
	b.ReportAllocs()
	for b.Loop() {
		if s := ListPrice(gpt, u); s.Amount == 0 {
			b.Fatal(s)
		}
	}
}

// li is a line item.
func li(name string, qty, amount int64) abi.LineItem {
	return abi.LineItem{Name: name, Quantity: qty, Amount: amount}
}
