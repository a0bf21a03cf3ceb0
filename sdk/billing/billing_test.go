package billing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

// fake prices every call at its held amount plus one, and misbehaves on
// request through the model name.
type fake struct{}

func (fake) Manifest() abi.Manifest { return abi.Manifest{Name: "fake", Version: "1"} }

func (fake) Quote(in *abi.QuoteIn) (abi.QuoteOut, error) {
	switch in.Model {
	case "panic":
		panic("boom")
	case "plain-error":
		return abi.QuoteOut{}, errors.New("plain failure")
	case "abi-error":
		return abi.QuoteOut{}, &abi.Error{Status: 400, Type: "invalid_request_error", Message: "no"}
	case "deny":
		return abi.QuoteOut{}, nil
	case "negative":
		return abi.QuoteOut{Allow: true, Hold: -1}, nil
	}
	return abi.QuoteOut{Allow: true, Hold: in.EstInputTokens * 2}, nil
}

func (fake) Settle(in *abi.SettleIn) (abi.SettleOut, error) {
	if in.Model == "negative" {
		return abi.SettleOut{Amount: -1}, nil
	}
	return abi.SettleOut{Amount: in.Held + 1, Items: []abi.LineItem{{Name: "all", Quantity: in.Usage.InputTokens, Amount: in.Held + 1}}}, nil
}

// result splits a result into its record or its error.
func result(t *testing.T, res []byte) ([]byte, *abi.Error) {
	t.Helper()
	st, rec, err := abi.SplitResult(res)
	if err != nil {
		t.Fatal(err)
	}
	if st == abi.StatusOK {
		return rec, nil
	}
	var f [1][]byte
	if _, err := abi.Fields(rec, f[:]); err != nil {
		t.Fatal(err)
	}
	e := new(abi.Error)
	if st != abi.StatusError || json.Unmarshal(f[0], e) != nil {
		t.Fatalf("status %d, error %s", st, f[0])
	}
	return nil, e
}

func quote(t *testing.T, p Policy, in abi.QuoteIn) (abi.QuoteOut, *abi.Error) {
	t.Helper()
	rec, e := result(t, Invoke(p, abi.ExportQuote, in.Append(nil)))
	var out abi.QuoteOut
	if e == nil {
		if err := out.Parse(rec); err != nil {
			t.Fatal(err)
		}
	}
	return out, e
}

func TestDispatch(t *testing.T) {
	t.Run("describe fills ABI and kind", func(t *testing.T) {
		rec, e := result(t, Invoke(fake{}, abi.ExportDescribe, nil))
		var f [1][]byte
		abi.Fields(rec, f[:])
		var m abi.Manifest
		if e != nil || json.Unmarshal(f[0], &m) != nil || m.ABI != abi.Version || m.Kind != abi.KindBilling || m.Name != "fake" {
			t.Fatalf("manifest %s, %v", f[0], e)
		}
	})
	t.Run("quote", func(t *testing.T) {
		out, e := quote(t, fake{}, abi.QuoteIn{Model: "m", EstInputTokens: 21})
		if e != nil || !out.Allow || out.Hold != 42 {
			t.Fatalf("got %+v, %v", out, e)
		}
	})
	t.Run("a refusal gets a code and a reason", func(t *testing.T) {
		out, e := quote(t, fake{}, abi.QuoteIn{Model: "deny"})
		if e != nil || out.Allow || out.Code != abi.CodePolicyDenied || out.Reason == "" {
			t.Fatalf("got %+v, %v", out, e)
		}
	})
	t.Run("settle", func(t *testing.T) {
		in := abi.SettleIn{Model: "m", Held: 9, Usage: abi.Usage{InputTokens: 3}}
		rec, e := result(t, Invoke(fake{}, abi.ExportSettle, in.Append(nil)))
		var out abi.SettleOut
		if e != nil || out.Parse(rec) != nil || out.Amount != 10 || len(out.Items) != 1 || out.Items[0] != (abi.LineItem{Name: "all", Quantity: 3, Amount: 10}) {
			t.Fatalf("got %+v, %v", out, e)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			model, export string
			status        int
			msg           string
		}{
			{"panic", abi.ExportQuote, 502, "plugin panic in hub_quote: boom"},
			{"plain-error", abi.ExportQuote, 502, "plain failure"},
			{"abi-error", abi.ExportQuote, 400, "no"},
			{"negative", abi.ExportQuote, 502, "billing: Quote returned a negative hold -1"},
			{"negative", abi.ExportSettle, 502, "billing: Settle returned a negative amount -1"},
		} {
			var in []byte
			if tc.export == abi.ExportQuote {
				in = (&abi.QuoteIn{Model: tc.model}).Append(nil)
			} else {
				in = (&abi.SettleIn{Model: tc.model}).Append(nil)
			}
			_, e := result(t, Invoke(fake{}, tc.export, in))
			if e == nil || e.Status != tc.status || e.Message != tc.msg {
				t.Errorf("%s %s: got %+v", tc.export, tc.model, e)
			}
		}
	})
	t.Run("malformed input and unknown export", func(t *testing.T) {
		for _, exp := range []string{abi.ExportQuote, abi.ExportSettle, abi.ExportRequest, "nope"} {
			if _, e := result(t, Invoke(fake{}, exp, []byte{9, 0, 0, 0})); e == nil {
				t.Errorf("%s: no error", exp)
			}
		}
	})
	t.Run("no policy registered", func(t *testing.T) {
		if _, e := result(t, Invoke(nil, abi.ExportQuote, nil)); e == nil || !strings.Contains(e.Message, "no policy registered") {
			t.Fatalf("got %v", e)
		}
	})
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() { registered = nil }()
	Register(fake{})
	defer func() {
		if recover() == nil {
			t.Fatal("second Register did not panic")
		}
	}()
	Register(fake{})
}
