// Command credits is the hub's default billing policy, built in: every
// call is priced exactly at the model's rate, in int64 micro-credits.
//
// Quote refuses a model without a rate (code "unpriced_model": the hub
// bills nothing it cannot price) and otherwise allows the call with a hold
// of its worst case: every estimated prompt token at the dearest input rate,
// every possible output token (max_tokens), every requested image, at least
// the rate's minimum per call. Whether the balance covers the hold is the
// host's decision, not the policy's.
//
// Settle prices the usage the host reports, line by line, each rounded up
// to the next micro-credit: uncached input, cached input, cache writes,
// output (reasoning included), images; a total under the rate's minimum is
// topped up by a "minimum" line. Estimated or aborted usage is priced the
// same way: the host decides what usage a call is billed for. The
// arithmetic is billing.ListPrice and billing.WorstCase of the SDK, exact
// with 128-bit products and saturating rather than overflowing.
//
// Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o credits.wasm .
package main

import "github.com/aignehub/hub/sdk/billing"

func init() { billing.Register(&credits{}) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
