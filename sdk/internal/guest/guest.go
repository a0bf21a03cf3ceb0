// Package guest is the guest side of ABI v1 that packages provider and
// billing share: the hub_abi_v1 marker, hub_alloc and its input buffer,
// hub_describe, the packing of results, the garbage-collector yield after
// every export, the hub_v1 config and log imports (all in the wasip1 build),
// and the result encoding both dispatchers use ([Results]).
//
// The exports declared here are exported by every plugin that links package
// provider or billing; each of those declares only its own kind's exports
// and hands [Serve] its dispatcher. A program links one of the two: the
// hub_describe of a plugin is that of its one kind. See sdk/ABI.md.
package guest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aignehub/hub/sdk/abi"
)

// Results is the reusable result buffer of one plugin instance. A result is
// a status byte and a record (sdk/ABI.md §4); every method returns a slice
// that aliases the buffer until the next call. The zero value is ready.
type Results struct{ buf []byte }

// OK returns an empty buffer holding the abi.StatusOK byte, for a success
// record to be appended to and handed to [Results.Keep].
func (r *Results) OK() []byte { return append(r.buf[:0], abi.StatusOK) }

// Keep makes res, a slice grown from [Results.OK], the buffer the next
// call reuses, and returns it.
func (r *Results) Keep(res []byte) []byte {
	r.buf = res
	return res
}

// Describe returns the hub_describe result for m: its JSON, with ABI and
// Kind filled in (abi.Version and kind) when left zero.
func (r *Results) Describe(m abi.Manifest, kind string) []byte {
	if m.ABI == 0 {
		m.ABI = abi.Version
	}
	if m.Kind == "" {
		m.Kind = kind
	}
	b, err := json.Marshal(m)
	if err != nil {
		return r.Fail(err)
	}
	return r.Keep(abi.AppendField(r.OK(), b))
}

// Fail returns err as an abi.StatusError result: an *abi.Error passes
// through, any other error becomes a 502 plugin_error (see [AsError]).
func (r *Results) Fail(err error) []byte {
	b, jerr := json.Marshal(AsError(err))
	if jerr != nil {
		b = []byte(`{"status":502,"type":"plugin_error","message":"unencodable error"}`)
	}
	return r.Keep(abi.AppendField(append(r.buf[:0], abi.StatusError), b))
}

// Recover turns a panic in export into a 502 plugin_error result stored in
// *res. Defer it directly (defer r.Recover(export, &res)) at the top of a
// dispatcher, whose named result res it overwrites.
func (r *Results) Recover(export string, res *[]byte) {
	if v := recover(); v != nil {
		*res = r.Fail(&abi.Error{Status: 502, Type: "plugin_error", Message: fmt.Sprintf("plugin panic in %s: %v", export, v)})
	}
}

// AsError passes an *abi.Error in err's chain through and makes any other
// error a 502 plugin_error with err's text.
func AsError(err error) *abi.Error {
	var ae *abi.Error
	if !errors.As(err, &ae) {
		ae = &abi.Error{Status: 502, Type: "plugin_error", Message: err.Error()}
	}
	return ae
}
