//go:build wasip1

package guest

import (
	goruntime "runtime"
	"unsafe"

	"github.com/aignehub/hub/sdk/abi"
)

// This file is the ABI v1 glue common to every kind: the exports the host
// calls and the hub_v1 imports. See sdk/ABI.md for the exact contract.
// Authors never touch it.

var (
	inBuf   []byte
	handler func(export string, input []byte) []byte
	bad     Results // the result of a call whose input is not inBuf
	calls   uint32  // export calls so far, for the garbage collector's yields
)

// Serve installs handle as what the exports run: it gets the export's name
// (an abi.Export* constant) and its input record, and returns the result,
// which must stay valid until the next export call. Packages provider and
// billing call it from an init function; a second call panics (a plugin is
// of one kind).
func Serve(handle func(export string, input []byte) []byte) {
	if handler != nil {
		panic("sdk: a plugin imports both sdk/provider and sdk/billing")
	}
	handler = handle
}

//go:wasmimport hub_v1 log
func hostLog(level uint32, ptr unsafe.Pointer, size uint32)

//go:wasmimport hub_v1 config
func hostConfig(ptr unsafe.Pointer, capacity uint32) uint32

// The garbage collector's turns (see Call): every yieldEvery calls, and
// after a call whose input is larger than yieldInput bytes.
const (
	yieldEvery = 16
	yieldInput = 64 << 10
)

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

// hub_describe: () -> Manifest JSON (see abi.ExportDescribe).
//
//go:wasmexport hub_describe
func hubDescribe() uint64 { return Call(abi.ExportDescribe, 0, 0) }

// Call runs export over the size bytes at ptr, which must lie in the buffer
// hub_alloc returned, through the handler given to [Serve], yields to the
// garbage collector and returns the packed result (ptr<<32 | len). Each
// kind's //go:wasmexport functions are one call of it.
func Call(export string, ptr, size uint32) uint64 {
	var res []byte
	if size > 0 && (size > uint32(len(inBuf)) || ptr != uint32(uintptr(unsafe.Pointer(&inBuf[0])))) {
		// The host must pass back exactly what hub_alloc returned.
		res = bad.Fail(&abi.Error{Status: 500, Type: "plugin_error", Message: "input is not the buffer hub_alloc returned"})
	} else {
		res = handler(export, inBuf[:size])
	}
	// The Go garbage collector in a wasip1 reactor only makes progress when
	// an export yields; without it the heap grows without bound. A yield
	// costs about a microsecond (as much as a small call itself), so it
	// comes every yieldEvery calls, and after any call with a large input
	// (which likely allocated as much): measured, the heap stays as flat as
	// with a yield at every call.
	if calls++; calls%yieldEvery == 0 || size > yieldInput {
		goruntime.Gosched()
	}
	if len(res) == 0 {
		return 0
	}
	return abi.PackResult(uint32(uintptr(unsafe.Pointer(&res[0]))), uint32(len(res)))
}

// Config is the plugin's config JSON as the host supplies it. The zero
// value is ready.
type Config struct{ cache []byte }

// Get returns the config JSON from the hub_v1 config import, read once and
// cached.
func (c *Config) Get() []byte {
	if c.cache != nil {
		return c.cache
	}
	buf := make([]byte, 256)
	n := hostConfig(unsafe.Pointer(&buf[0]), uint32(len(buf)))
	if int(n) > len(buf) {
		buf = make([]byte, n)
		n = hostConfig(unsafe.Pointer(&buf[0]), n)
	}
	c.cache = buf[:n]
	return c.cache
}

// Log writes msg to the host's log at level through the hub_v1 log import;
// an empty msg is not sent.
func Log(level int, msg string) {
	if msg == "" {
		return
	}
	b := []byte(msg)
	hostLog(uint32(level), unsafe.Pointer(&b[0]), uint32(len(b)))
}
