//go:build wasip1

package provider

import (
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/internal/guest"
)

// This file declares the provider exports of ABI v1; hub_abi_v1, hub_alloc,
// hub_describe and the hub_v1 imports are in sdk/internal/guest. See
// sdk/ABI.md for the exact contract. Authors never touch it.

var disp dispatcher

func init() {
	guest.Serve(func(export string, input []byte) []byte { return disp.handle(registered, export, input) })
}

// hub_request: RequestIn -> RequestOut (see abi.ExportRequest).
//
//go:wasmexport hub_request
func hubRequest(ptr, size uint32) uint64 { return guest.Call(abi.ExportRequest, ptr, size) }

// hub_response: ResponseIn -> ResponseOut (see abi.ExportResponse).
//
//go:wasmexport hub_response
func hubResponse(ptr, size uint32) uint64 { return guest.Call(abi.ExportResponse, ptr, size) }

// hub_stream_event: StreamIn -> StreamOut (see abi.ExportStreamEvent).
//
//go:wasmexport hub_stream_event
func hubStreamEvent(ptr, size uint32) uint64 { return guest.Call(abi.ExportStreamEvent, ptr, size) }
