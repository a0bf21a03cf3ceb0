package plugintest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/billing"
)

// Policy is a billing plugin under test, native or Wasm.
type Policy interface {
	Manifest() abi.Manifest
	Quote(in *abi.QuoteIn) (abi.QuoteOut, error)
	Settle(in *abi.SettleIn) (abi.SettleOut, error)
	// Call runs any export on a raw input record and returns the success
	// record, or the plugin's *abi.Error.
	Call(export string, input []byte) ([]byte, error)
}

// NativePolicy wraps a policy value so it runs through the billing SDK's
// dispatcher.
func NativePolicy(p billing.Policy) Policy { return nativePolicy{p} }

type nativePolicy struct{ p billing.Policy }

func (n nativePolicy) Manifest() abi.Manifest {
	var m abi.Manifest
	rec := result(billing.Invoke(n.p, abi.ExportDescribe, nil))
	var f [1][]byte
	abi.Fields(rec.rec, f[:])
	json.Unmarshal(f[0], &m)
	return m
}

func (n nativePolicy) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	var out abi.QuoteOut
	r := result(billing.Invoke(n.p, abi.ExportQuote, in.Append(nil)))
	if r.err != nil {
		return out, r.err
	}
	return out, out.Parse(r.rec)
}

func (n nativePolicy) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	var out abi.SettleOut
	r := result(billing.Invoke(n.p, abi.ExportSettle, in.Append(nil)))
	if r.err != nil {
		return out, r.err
	}
	return out, out.Parse(r.rec)
}

func (n nativePolicy) Call(export string, input []byte) ([]byte, error) {
	r := result(billing.Invoke(n.p, export, input))
	return r.rec, r.err
}

type wasmPolicy struct{ p *runtime.Plugin }

func (w wasmPolicy) Manifest() abi.Manifest { return w.p.Manifest() }
func (w wasmPolicy) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	return w.p.Quote(context.Background(), in)
}
func (w wasmPolicy) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	return w.p.Settle(context.Background(), in)
}
func (w wasmPolicy) Call(export string, input []byte) ([]byte, error) {
	return w.p.Call(context.Background(), export, input)
}

// WasmPolicy loads the billing plugin plugins/NAME, built from source, with
// config as its config.
func WasmPolicy(tb testing.TB, name string, config []byte) Policy {
	tb.Helper()
	return wasmPolicy{load(tb, name, config)}
}

// BothPolicy runs fn as two subtests, "native" on p and "wasm" on the
// billing plugin built from plugins/NAME loaded with config (which should
// be what p was made from). Skip the wasm half with -short.
func BothPolicy(t *testing.T, p billing.Policy, name string, config []byte, fn func(t *testing.T, pol Policy)) {
	t.Run("native", func(t *testing.T) { fn(t, NativePolicy(p)) })
	t.Run("wasm", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: the wasm half needs a build")
		}
		fn(t, WasmPolicy(t, name, config))
	})
}
