// Package provider is what a provider plugin author imports.
//
// An author implements [Plugin] with ordinary Go functions over typed values
// (the records of package abi), calls [Register] from an init function, and
// builds the package with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// The ABI glue (the exported functions, the allocator, the packed results
// and the garbage-collector yield) is compiled only for wasip1: this package
// declares the provider exports, and the part every plugin kind shares is in
// sdk/internal/guest. Natively the same dispatch code, panic recovery
// included, runs through [Invoke], so a plugin's tests exercise the exact
// bytes the host would send, without a Wasm runtime.
package provider

import (
	"fmt"

	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/internal/guest"
)

// Plugin is a provider adapter. Its methods are pure: no I/O, no clock, no
// state that outlives a call except what travels in the opaque State bytes.
type Plugin interface {
	// Manifest describes the plugin. ABI and Kind are filled in by the SDK
	// when left zero.
	Manifest() abi.Manifest
	// Request turns a canonical request into the upstream request.
	Request(in *abi.RequestIn) (*abi.RequestOut, error)
	// Response turns an upstream response (any status) into a canonical
	// response, or returns an *abi.Error for an upstream error.
	Response(in *abi.ResponseIn) (*abi.ResponseOut, error)
	// StreamEvent turns one whole upstream stream event into zero or more
	// canonical chunks, appended to out.Chunks. On entry out.State holds
	// the stream's current state; replace it to change the state. Set
	// out.Usage when the event carries usage and abi.StreamDone in
	// out.Flags at the provider's end of stream. An error ends the stream
	// after the chunks already appended. The host may hand several events
	// to one export call; the SDK calls StreamEvent once per event, in
	// order, and stops at the first error or at StreamDone.
	StreamEvent(ev abi.Event, out *abi.StreamOut) error
}

var registered Plugin

// Register installs the plugin. Call it once, from an init function.
func Register(p Plugin) {
	if registered != nil {
		panic("provider: Register called twice")
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

// Errorf returns an *abi.Error with the given status and type.
func Errorf(status int, typ, format string, args ...any) *abi.Error {
	return &abi.Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// dispatcher holds the reusable buffers of one plugin instance.
type dispatcher struct {
	guest.Results
	streamIn abi.StreamIn
	stream   abi.StreamOut
}

// handle runs one export over its input record and returns the result bytes
// (status byte + record). The result aliases d's buffer until the next call.
func (d *dispatcher) handle(p Plugin, export string, input []byte) (res []byte) {
	defer d.Recover(export, &res)
	if p == nil {
		return d.Fail(&abi.Error{Status: 500, Type: "plugin_error", Message: "provider: no plugin registered"})
	}
	switch export {
	case abi.ExportDescribe:
		return d.Describe(p.Manifest(), abi.KindProvider)
	case abi.ExportRequest:
		var in abi.RequestIn
		if err := in.Parse(input); err != nil {
			return d.Fail(err)
		}
		out, err := p.Request(&in)
		if err != nil {
			return d.Fail(err)
		}
		return d.Keep(out.Append(d.OK()))
	case abi.ExportResponse:
		var in abi.ResponseIn
		if err := in.Parse(input); err != nil {
			return d.Fail(err)
		}
		out, err := p.Response(&in)
		if err != nil {
			return d.Fail(err)
		}
		return d.Keep(out.Append(d.OK()))
	case abi.ExportStreamEvent:
		in := &d.streamIn
		if err := in.Parse(input); err != nil {
			return d.Fail(err)
		}
		s := &d.stream
		*s = abi.StreamOut{State: in.State, Chunks: s.Chunks[:0]}
		for _, ev := range in.Events {
			if err := p.StreamEvent(ev, s); err != nil {
				s.Error = guest.AsError(err)
				break
			}
			if s.Flags&abi.StreamDone != 0 {
				break
			}
		}
		return d.Keep(s.Append(d.OK()))
	}
	return d.Fail(fmt.Errorf("provider: unknown export %q", export))
}

// Invoke runs export on p natively, exactly as the Wasm glue would: input is
// the export's input record, and the result is the status byte and record
// the host would copy out. The result is a fresh slice. It is for tests.
func Invoke(p Plugin, export string, input []byte) []byte {
	var d dispatcher
	return append([]byte(nil), d.handle(p, export, input)...)
}
