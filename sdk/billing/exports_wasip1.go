//go:build wasip1

package billing

import (
	goruntime "runtime"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
)

// This file is the ABI v1 glue: the exports the host calls and the hub_v1
// imports, as in package provider but with the billing exports. See
// sdk/ABI.md for the exact contract. Authors never touch it.

var (
	inBuf []byte
	disp  dispatcher
)

//go:wasmimport hub_v1 log
func hostLog(level uint32, ptr unsafe.Pointer, size uint32)

//go:wasmimport hub_v1 config
func hostConfig(ptr unsafe.Pointer, capacity uint32) uint32

// hub_abi_v1 is the ABI v1 marker export.
//
//go:wasmexport hub_abi_v1
func hubABIv1() {}

// hub_alloc returns size writable bytes valid until the next export returns.
//
//go:wasmexport hub_alloc
func hubAlloc(size uint32) uint32 {
	if uint32(cap(inBuf)) < size {
		inBuf = make([]byte, size)
	}
	inBuf = inBuf[:size]
	if size == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&inBuf[0])))
}

//go:wasmexport hub_describe
func hubDescribe() uint64 { return call(abi.ExportDescribe, 0, 0) }

// hub_quote: QuoteIn -> QuoteOut (see abi.ExportQuote).
//
//go:wasmexport hub_quote
func hubQuote(ptr, size uint32) uint64 { return call(abi.ExportQuote, ptr, size) }

// hub_settle: SettleIn -> SettleOut (see abi.ExportSettle).
//
//go:wasmexport hub_settle
func hubSettle(ptr, size uint32) uint64 { return call(abi.ExportSettle, ptr, size) }

func call(export string, ptr, size uint32) uint64 {
	var res []byte
	if size > 0 && (size > uint32(len(inBuf)) || ptr != uint32(uintptr(unsafe.Pointer(&inBuf[0])))) {
		// The host must pass back exactly what hub_alloc returned.
		res = disp.fail(&abi.Error{Status: 500, Type: "plugin_error", Message: "input is not the buffer hub_alloc returned"})
	} else {
		res = disp.handle(registered, export, inBuf[:size])
	}
	// The Go garbage collector in a wasip1 reactor only makes progress when
	// an export yields; without this the heap grows without bound.
	goruntime.Gosched()
	if len(res) == 0 {
		return 0
	}
	return abi.PackResult(uint32(uintptr(unsafe.Pointer(&res[0]))), uint32(len(res)))
}

var configCache []byte

// Config returns the plugin's config JSON: the [plugins.NAME.config] table
// of the operator's hub.toml, "{}" when there is none.
func Config() []byte {
	if configCache != nil {
		return configCache
	}
	buf := make([]byte, 256)
	n := hostConfig(unsafe.Pointer(&buf[0]), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = hostConfig(unsafe.Pointer(&buf[0]), n)
	}
	configCache = buf[:n]
	return configCache
}

// Log writes a message to the host's log at level (abi.LogDebug..LogError).
func Log(level int, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(uint32(level), unsafe.Pointer(&b[0]), uint32(len(b)))
}
