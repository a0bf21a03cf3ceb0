//go:build wasip1

package billing

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/internal/guest"
)

// This file declares the billing exports of ABI v1; hub_abi_v1, hub_alloc,
// hub_describe and the hub_v1 imports are in sdk/internal/guest. See
// sdk/ABI.md for the exact contract. Authors never touch it.

var disp dispatcher

func init() {
	guest.Serve(func(export string, input []byte) []byte { return disp.handle(registered, export, input) })
}

// hub_quote: QuoteIn -> QuoteOut (see abi.ExportQuote).
//
//go:wasmexport hub_quote
func hubQuote(ptr, size uint32) uint64 { return guest.Call(abi.ExportQuote, ptr, size) }

// hub_settle: SettleIn -> SettleOut (see abi.ExportSettle).
//
//go:wasmexport hub_settle
func hubSettle(ptr, size uint32) uint64 { return guest.Call(abi.ExportSettle, ptr, size) }
