package guest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

// decode splits a result into its status and its first field.
func decode(t *testing.T, res []byte) (byte, []byte) {
	t.Helper()
	st, rec, err := abi.SplitResult(res)
	if err != nil {
		t.Fatal(err)
	}
	f := make([][]byte, 1)
	if _, err := abi.Fields(rec, f); err != nil {
		t.Fatal(err)
	}
	return st, f[0]
}

func TestResults(t *testing.T) {
	t.Run("describe fills ABI and kind when zero", func(t *testing.T) {
		var r Results
		for _, tc := range []struct {
			in   abi.Manifest
			want abi.Manifest
		}{
			{abi.Manifest{Name: "x"}, abi.Manifest{Name: "x", ABI: abi.Version, Kind: abi.KindBilling}},
			{abi.Manifest{Name: "x", ABI: 7, Kind: "other"}, abi.Manifest{Name: "x", ABI: 7, Kind: "other"}},
		} {
			st, f := decode(t, r.Describe(tc.in, abi.KindBilling))
			var m abi.Manifest
			if st != abi.StatusOK || json.Unmarshal(f, &m) != nil || m.Name != tc.want.Name || m.ABI != tc.want.ABI || m.Kind != tc.want.Kind {
				t.Errorf("Describe(%+v) = %d %s", tc.in, st, f)
			}
		}
	})
	t.Run("fail", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			err  error
			want abi.Error
		}{
			{"abi error passes through", &abi.Error{Status: 429, Type: "rate_limit_error", Message: "slow", Retryable: true},
				abi.Error{Status: 429, Type: "rate_limit_error", Message: "slow", Retryable: true}},
			{"wrapped abi error passes through", fmt.Errorf("op: %w", &abi.Error{Status: 400, Message: "bad"}),
				abi.Error{Status: 400, Message: "bad"}},
			{"plain error is a 502", errors.New("plain"), abi.Error{Status: 502, Type: "plugin_error", Message: "plain"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var r Results
				st, f := decode(t, r.Fail(tc.err))
				var e abi.Error
				if st != abi.StatusError || json.Unmarshal(f, &e) != nil || e != tc.want {
					t.Fatalf("got %d %s", st, f)
				}
			})
		}
	})
	t.Run("ok and keep reuse the buffer", func(t *testing.T) {
		var r Results
		first := r.Keep(abi.AppendField(r.OK(), make([]byte, 64)))
		second := r.Keep(abi.AppendField(r.OK(), []byte("b")))
		if &first[0] != &second[0] {
			t.Fatal("the second result did not reuse the first's buffer")
		}
		if st, f := decode(t, second); st != abi.StatusOK || string(f) != "b" {
			t.Fatalf("got %d %q", st, f)
		}
	})
	t.Run("recover turns a panic into a 502", func(t *testing.T) {
		var r Results
		res := func() (res []byte) {
			defer r.Recover("hub_x", &res)
			panic("boom")
		}()
		var e abi.Error
		if st, f := decode(t, res); st != abi.StatusError || json.Unmarshal(f, &e) != nil || e.Status != 502 || e.Message != "plugin panic in hub_x: boom" {
			t.Fatalf("got %d %+v", st, e)
		}
	})
	t.Run("recover leaves a normal return alone", func(t *testing.T) {
		var r Results
		res := func() (res []byte) {
			defer r.Recover("hub_x", &res)
			return r.Keep(r.OK())
		}()
		if len(res) != 1 || res[0] != abi.StatusOK {
			t.Fatalf("got %v", res)
		}
	})
}
