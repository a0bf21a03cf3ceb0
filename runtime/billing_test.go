package runtime

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

// Where billingModule keeps its static results.
const (
	billingQuoteAt  = 20480
	billingSettleAt = 24576
)

// billingModule is a hand-assembled billing plugin: hub_quote and
// hub_settle return quote and settle (whole results, status byte
// included); it has none of the provider exports.
func billingModule(quote, settle []byte) []byte {
	packed := func(at uint32, b []byte) []byte { return i64Const(int64(abi.PackResult(at, uint32(len(b))))) }
	return miniModule(`{"abi":1,"kind":"billing","name":"policy","version":"2.0.0"}`,
		withoutExport(abi.ExportRequest), withoutExport(abi.ExportResponse), withoutExport(abi.ExportStreamEvent),
		withFunc(wasmFunc{export: abi.ExportQuote, params: []byte{tI32, tI32}, results: []byte{tI64}, body: packed(billingQuoteAt, quote)}),
		withFunc(wasmFunc{export: abi.ExportSettle, params: []byte{tI32, tI32}, results: []byte{tI64}, body: packed(billingSettleAt, settle)}),
		func(m *wasmModule) {
			m.data = append(m.data, wasmData{billingQuoteAt, quote}, wasmData{billingSettleAt, settle})
		})
}

func TestBillingPlugin(t *testing.T) {
	ctx := context.Background()
	wantQuote := abi.QuoteOut{Allow: true, Hold: 42_000}
	wantSettle := abi.SettleOut{Amount: 4500, Items: []abi.LineItem{{Name: "input", Quantity: 1000, Amount: 2500}, {Name: "output", Quantity: 200, Amount: 2000}}}
	p, err := Load(ctx, Options{Name: "policy", Logger: quiet,
		Wasm: billingModule(wantQuote.Append([]byte{abi.StatusOK}), wantSettle.Append([]byte{abi.StatusOK}))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if m := p.Manifest(); m.Kind != abi.KindBilling || m.Name != "policy" {
		t.Errorf("Manifest() = %+v", m)
	}

	q, err := p.Quote(ctx, &abi.QuoteIn{AccountID: 1, Model: "gpt-4o", EstInputTokens: 1000, Rate: abi.Rate{Found: true, InputPerM: 1}})
	if err != nil || !reflect.DeepEqual(q, wantQuote) {
		t.Errorf("Quote = %+v, %v; want %+v", q, err, wantQuote)
	}
	s, err := p.Settle(ctx, &abi.SettleIn{AccountID: 1, Model: "gpt-4o", Usage: abi.Usage{InputTokens: 1000, OutputTokens: 200}, Aborted: true})
	if err != nil || !reflect.DeepEqual(s, wantSettle) {
		t.Errorf("Settle = %+v, %v; want %+v", s, err, wantSettle)
	}
	if _, err := p.Request(ctx, &abi.RequestIn{}); err == nil {
		t.Error("Request on a billing plugin succeeded")
	}
	if st := p.Stats(); st.Calls != 2 || st.Failures != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestBillingPluginErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("a policy error is an *abi.Error", func(t *testing.T) {
		res := abi.AppendStringField([]byte{abi.StatusError}, `{"status":400,"code":"policy_denied","message":"not on Sundays"}`)
		p, err := Load(ctx, Options{Name: "policy", Logger: quiet, Wasm: billingModule(res, res)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		for name, call := range map[string]func() error{
			"quote":  func() error { _, err := p.Quote(ctx, &abi.QuoteIn{}); return err },
			"settle": func() error { _, err := p.Settle(ctx, &abi.SettleIn{}); return err },
		} {
			var ae *abi.Error
			if err := call(); !errors.As(err, &ae) || ae.Status != 400 || ae.Message != "not on Sundays" {
				t.Errorf("%s: error %v", name, err)
			}
		}
		if st := p.Stats(); st.Failures != 0 || st.Instances == 0 {
			t.Errorf("an error result discarded the instance: %+v", st)
		}
	})
	t.Run("a malformed record is a *CallError", func(t *testing.T) {
		bad := []byte{abi.StatusOK, 3, 0, 0, 0, 'a', 'b', 'c'} // a 3-byte i64 field
		p, err := Load(ctx, Options{Name: "policy", Logger: quiet, Wasm: billingModule(bad, bad)})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		for name, call := range map[string]func() error{
			"quote":  func() error { _, err := p.Quote(ctx, &abi.QuoteIn{}); return err },
			"settle": func() error { _, err := p.Settle(ctx, &abi.SettleIn{}); return err },
		} {
			var ce *CallError
			if err := call(); !errors.As(err, &ce) || ce.Kind != Malformed {
				t.Errorf("%s: error %v", name, err)
			}
		}
	})
}
