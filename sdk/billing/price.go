package billing

import (
	"math"
	"math/bits"

	"github.com/aignehub/hub/sdk/abi"
)

// Line item names of [ListPrice].
const (
	ItemInput       = "input"        // prompt tokens neither read from nor written to a cache
	ItemCachedInput = "cached_input" // prompt tokens read from the provider's cache
	ItemCacheWrite  = "cache_write"  // prompt tokens written to the provider's cache
	ItemOutput      = "output"       // completion tokens, reasoning included
	ItemImages      = "images"       // generated images
	ItemMinimum     = "minimum"      // the top-up to the rate's MinPerCall
)

// MulDivCeil returns ⌈a×b/d⌉, computed exactly with a 128-bit product and
// saturating at math.MaxInt64. Quantities and prices are never negative: a
// negative a or b counts as 0. d must be positive.
func MulDivCeil(a, b, d int64) int64 {
	if d <= 0 {
		panic("billing: MulDivCeil with a divisor <= 0")
	}
	if a <= 0 || b <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(d) {
		return math.MaxInt64 // the quotient does not fit in 64 bits
	}
	q, r := bits.Div64(hi, lo, uint64(d))
	if r != 0 {
		if q >= math.MaxInt64 {
			return math.MaxInt64
		}
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// PerMillion prices quantity units at ratePerM micro-credits per 1,000,000
// units, rounding up to the next micro-credit: ⌈quantity×ratePerM/10⁶⌉.
// Negative arguments count as 0; the result saturates at math.MaxInt64.
func PerMillion(quantity, ratePerM int64) int64 { return MulDivCeil(quantity, ratePerM, 1_000_000) }

// Add returns a+b, saturating at math.MaxInt64 and math.MinInt64 instead
// of wrapping around.
func Add(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

// ListPrice is the exact price of usage u at rate r, the hub's default
// settlement. The prompt splits into uncached input (InputTokens less the
// cached and cache-write tokens, at least 0), cached input and cache
// writes; output includes reasoning tokens. Each line is priced by
// [PerMillion] (images at PerImage each) and listed when its quantity is
// above 0, in the order input, cached_input, cache_write, output, images;
// a total below r.MinPerCall gets a "minimum" line topping it up. The
// amounts add up to Amount (with saturation at math.MaxInt64). Negative
// usage counts as 0. A rate that is not found prices everything at 0.
func ListPrice(r abi.Rate, u abi.Usage) abi.SettleOut {
	return ListPriceInto(make([]abi.LineItem, 0, 6), r, u)
}

// ListPriceInto is [ListPrice] with the line items appended to items[:0]:
// a policy that keeps one buffer for them allocates nothing per call (an
// allocation in a Wasm guest costs as much as the pricing itself). The
// result's Items alias items' array when it is large enough (6 lines).
func ListPriceInto(items []abi.LineItem, r abi.Rate, u abi.Usage) abi.SettleOut {
	input, cached, write := max(u.InputTokens, 0), max(u.CachedTokens, 0), max(u.CacheWriteTokens, 0)
	uncached := input
	uncached -= min(uncached, cached)
	uncached -= min(uncached, write)

	out := abi.SettleOut{Items: items[:0]}
	addLine(&out, ItemInput, uncached, PerMillion(uncached, r.InputPerM))
	addLine(&out, ItemCachedInput, cached, PerMillion(cached, r.CachedReadPerM))
	addLine(&out, ItemCacheWrite, write, PerMillion(write, r.CacheWritePerM))
	addLine(&out, ItemOutput, u.OutputTokens, PerMillion(u.OutputTokens, r.OutputPerM))
	addLine(&out, ItemImages, u.Images, MulDivCeil(u.Images, r.PerImage, 1))
	if out.Amount < r.MinPerCall {
		out.Items = append(out.Items, abi.LineItem{Name: ItemMinimum, Amount: r.MinPerCall - out.Amount})
		out.Amount = r.MinPerCall
	}
	return out
}

// addLine appends a line of qty units costing amount to out, and adds the
// amount to its total, when qty is above 0.
func addLine(out *abi.SettleOut, name string, qty, amount int64) {
	if qty > 0 {
		out.Items = append(out.Items, abi.LineItem{Name: name, Quantity: qty, Amount: amount})
		out.Amount = Add(out.Amount, amount)
	}
}

// WorstCase is the most a call of at most inputTokens prompt tokens,
// outputTokens completion tokens and images images can cost at rate r: the
// hub's default hold. Every prompt token is priced at the dearest of the
// three input rates (uncached, cached read, cache write: a prompt may be
// written to a cache wholesale), output at OutputPerM, images at PerImage,
// and the total is at least MinPerCall. Negative arguments count as 0.
func WorstCase(r abi.Rate, inputTokens, outputTokens, images int64) int64 {
	total := PerMillion(inputTokens, max(r.InputPerM, r.CachedReadPerM, r.CacheWritePerM))
	total = Add(total, PerMillion(outputTokens, r.OutputPerM))
	total = Add(total, MulDivCeil(images, r.PerImage, 1))
	return max(total, r.MinPerCall)
}
