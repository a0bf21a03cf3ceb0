// Command billing-policy is an example billing policy for the hub, written
// as a third party would: against the SDK only (sdk/billing, sdk/abi), in
// its own module. It prices calls like the builtin "credits" policy, then:
//
//   - a free daily allowance: an account's calls are free while its daily
//     total (abi.SettleIn.ChargedToday) plus the call's list price stays
//     within daily_free_microcredits (default 1,000,000, one credit); the
//     call that crosses it is free up to the allowance;
//   - beyond the allowance, the list price marked up by 20%;
//   - 50% off that between 00:00 and 06:00 UTC, by the host's time of the
//     call (the policy has no clock of its own).
//
// Each adjustment is a line item of its own ("free_allowance",
// "markup", "night_discount") after the list-price lines, and the lines add
// up to the amount. The config is read once, at instantiation, through the
// host's config import; a bad config fails the plugin's load.
//
// Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o billing-policy.wasm .
package main

import "github.com/aignehub/hub/sdk/billing"

func init() {
	p, err := newPolicy(billing.Config())
	if err != nil {
		// A panic in init fails the module's instantiation: the hub refuses
		// to load a policy it would run with the wrong prices.
		panic(err)
	}
	billing.Register(p)
}

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
