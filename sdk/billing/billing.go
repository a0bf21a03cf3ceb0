// Package billing is what a billing policy author imports.
//
// A billing policy decides what a call costs. The hub asks it twice per
// call: [Policy.Quote] before the upstream call (may it run, and how much of
// the account's balance to hold for it), and [Policy.Settle] after it (the
// exact price of the usage, as line items). The host keeps the books: it
// checks the balance against the hold, records the settlement and moves
// the money; a policy only prices. It is pure and deterministic: no clock
// (the host passes its time), no I/O, no state between calls.
//
// An author implements [Policy] with ordinary Go functions over the records
// of package abi, calls [Register] from an init function, and builds the
// package with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// The ABI glue is compiled only for wasip1, as in package provider (this
// package declares the billing exports, sdk/internal/guest the rest);
// natively [Invoke] runs the same dispatch over the same bytes, so a
// policy's tests need no Wasm runtime.
//
// [ListPrice] and [WorstCase] are the hub's default prices (the builtin
// "credits" policy is little more than them), exact in int64 micro-credits
// with 128-bit intermediate products; [MulDivCeil], [PerMillion] and [Add]
// are the saturating arithmetic under them, for policies of one's own.
package billing

import (
	"fmt"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/internal/guest"
)

// Policy is a billing policy. Its methods are pure: no I/O, no clock, no
// state that outlives a call.
type Policy interface {
	// Manifest describes the policy. ABI and Kind are filled in by the SDK
	// when left zero.
	Manifest() abi.Manifest
	// The input records are the SDK's, reused by the next call: a policy
	// reads them during the call and keeps nothing of them.
	//
	// Quote runs before a call. Allow it with the Hold the host should take
	// from the balance while it runs (the policy's worst case for it), or
	// refuse it with a Code and a Reason shown to the client. The host, not
	// the policy, checks that the balance covers the hold.
	Quote(in *abi.QuoteIn) (abi.QuoteOut, error)
	// Settle prices a finished call: the Amount to charge (never
	// negative) and the line items that add up to it. Aborted calls and
	// estimated usage are settled too; the host decides what usage to
	// pass. Return an error only when the input cannot be priced.
	Settle(in *abi.SettleIn) (abi.SettleOut, error)
}

var registered Policy

// Register installs the policy. Call it once, from an init function.
func Register(p Policy) {
	if registered != nil {
		panic("billing: Register called twice")
	}
	registered = p
}

var config guest.Config

// Config returns the plugin's config JSON: the [plugins.NAME.config] table
// of the operator's hub.toml, "{}" when there is none.
func Config() []byte { return config.Get() }

// Log writes a message to the host's log at level (abi.LogDebug..LogError).
// Natively it writes to the standard logger.
func Log(level int, msg string) { guest.Log(level, msg) }

// dispatcher holds the reusable buffers of one plugin instance: the result
// and the decoded inputs (an allocation in a Wasm guest costs as much as a
// small call, see sdk/internal/guest). A policy must not keep the *QuoteIn
// or *SettleIn it is given after it returns (it is pure, so it has no
// reason to).
type dispatcher struct {
	guest.Results
	quote  abi.QuoteIn
	settle abi.SettleIn
}

// handle runs one export over its input record and returns the result bytes
// (status byte + record). The result aliases d's buffer until the next call.
func (d *dispatcher) handle(p Policy, export string, input []byte) (res []byte) {
	defer d.Recover(export, &res)
	if p == nil {
		return d.Fail(&abi.Error{Status: 500, Type: "plugin_error", Message: "billing: no policy registered"})
	}
	switch export {
	case abi.ExportDescribe:
		return d.Describe(p.Manifest(), abi.KindBilling)
	case abi.ExportQuote:
		in := &d.quote
		if err := in.Parse(input); err != nil {
			return d.Fail(err)
		}
		out, err := p.Quote(in)
		if err != nil {
			return d.Fail(err)
		}
		if out.Allow && out.Hold < 0 {
			return d.Fail(fmt.Errorf("billing: Quote returned a negative hold %d", out.Hold))
		}
		if !out.Allow {
			if out.Code == "" {
				out.Code = abi.CodePolicyDenied
			}
			if out.Reason == "" {
				out.Reason = "the billing policy refused the call"
			}
		}
		return d.Keep(out.Append(d.OK()))
	case abi.ExportSettle:
		in := &d.settle
		if err := in.Parse(input); err != nil {
			return d.Fail(err)
		}
		out, err := p.Settle(in)
		if err != nil {
			return d.Fail(err)
		}
		if out.Amount < 0 {
			return d.Fail(fmt.Errorf("billing: Settle returned a negative amount %d", out.Amount))
		}
		return d.Keep(out.Append(d.OK()))
	}
	return d.Fail(fmt.Errorf("billing: unknown export %q", export))
}

// Invoke runs export on p natively, exactly as the Wasm glue would: input is
// the export's input record, and the result is the status byte and record
// the host would copy out. The result is a fresh slice. It is for tests.
func Invoke(p Policy, export string, input []byte) []byte {
	var d dispatcher
	return append([]byte(nil), d.handle(p, export, input)...)
}
