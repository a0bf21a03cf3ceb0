// Package provider is what a provider plugin author imports.
//
// An author implements [Plugin] with ordinary Go functions over typed values
// (the records of package abi), calls [Register] from an init function, and
// builds the package with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o NAME.wasm .
//
// The ABI glue (the exported functions, the allocator, the packed results,
// panic recovery and the garbage-collector yield) lives in this package and is
// compiled only for wasip1. Natively the same dispatch code runs through
// [Invoke], so a plugin's tests exercise the exact bytes the host would send,
// without a Wasm runtime.
package provider

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aignehub/hub/sdk/abi"
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

// Errorf returns an *abi.Error with the given status and type.
func Errorf(status int, typ, format string, args ...any) *abi.Error {
	return &abi.Error{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// dispatcher holds the reusable buffers of one plugin instance.
type dispatcher struct {
	out      []byte
	streamIn abi.StreamIn
	stream   abi.StreamOut
}

// handle runs one export over its input record and returns the result bytes
// (status byte + record). The result aliases d.out until the next call.
func (d *dispatcher) handle(p Plugin, export string, input []byte) (res []byte) {
	d.out = d.out[:0]
	defer func() {
		if r := recover(); r != nil {
			res = d.fail(&abi.Error{Status: 502, Type: "plugin_error", Message: fmt.Sprintf("plugin panic in %s: %v", export, r)})
		}
	}()
	if p == nil {
		return d.fail(&abi.Error{Status: 500, Type: "plugin_error", Message: "provider: no plugin registered"})
	}
	switch export {
	case abi.ExportDescribe:
		m := p.Manifest()
		if m.ABI == 0 {
			m.ABI = abi.Version
		}
		if m.Kind == "" {
			m.Kind = abi.KindProvider
		}
		b, err := json.Marshal(m)
		if err != nil {
			return d.fail(err)
		}
		return abi.AppendField(append(d.out, abi.StatusOK), b)
	case abi.ExportRequest:
		var in abi.RequestIn
		if err := in.Parse(input); err != nil {
			return d.fail(err)
		}
		out, err := p.Request(&in)
		if err != nil {
			return d.fail(err)
		}
		d.out = out.Append(append(d.out, abi.StatusOK))
		return d.out
	case abi.ExportResponse:
		var in abi.ResponseIn
		if err := in.Parse(input); err != nil {
			return d.fail(err)
		}
		out, err := p.Response(&in)
		if err != nil {
			return d.fail(err)
		}
		d.out = out.Append(append(d.out, abi.StatusOK))
		return d.out
	case abi.ExportStreamEvent:
		in := &d.streamIn
		if err := in.Parse(input); err != nil {
			return d.fail(err)
		}
		s := &d.stream
		*s = abi.StreamOut{State: in.State, Chunks: s.Chunks[:0]}
		for _, ev := range in.Events {
			if err := p.StreamEvent(ev, s); err != nil {
				s.Error = asABIError(err)
				break
			}
			if s.Flags&abi.StreamDone != 0 {
				break
			}
		}
		d.out = s.Append(append(d.out, abi.StatusOK))
		return d.out
	}
	return d.fail(fmt.Errorf("provider: unknown export %q", export))
}

// fail encodes err as a StatusError result. An *abi.Error passes through;
// any other error becomes a 502 plugin_error.
func (d *dispatcher) fail(err error) []byte {
	b, jerr := json.Marshal(asABIError(err))
	if jerr != nil {
		b = []byte(`{"status":502,"type":"plugin_error","message":"unencodable error"}`)
	}
	d.out = append(d.out[:0], abi.StatusError)
	d.out = abi.AppendField(d.out, b)
	return d.out
}

// asABIError passes an *abi.Error through and makes any other error a 502
// plugin_error.
func asABIError(err error) *abi.Error {
	var ae *abi.Error
	if !errors.As(err, &ae) {
		ae = &abi.Error{Status: 502, Type: "plugin_error", Message: err.Error()}
	}
	return ae
}

// Invoke runs export on p natively, exactly as the Wasm glue would: input is
// the export's input record, and the result is the status byte and record
// the host would copy out. The result is a fresh slice. It is for tests.
func Invoke(p Plugin, export string, input []byte) []byte {
	var d dispatcher
	return append([]byte(nil), d.handle(p, export, input)...)
}
