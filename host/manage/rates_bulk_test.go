package manage_test

import (
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

func TestMultiplyAmount(t *testing.T) {
	for _, tt := range []struct {
		v      int64
		factor string
		want   int64
	}{
		{2_500_000, "1.1", 2_750_000},
		{5, "1.1", 6},           // 5.5: half up
		{15, "1.1", 17},         // 16.5
		{25, "1.1", 28},         // 27.5
		{3, "0.5", 2},           // 1.5
		{1, "0.5", 1},           // 0.5
		{1, "0.499999", 0},      // below a half
		{7, "1", 7},             // identity
		{0, "123456.123456", 0}, // zero stays zero
		{916_665, "1.000001", 916_666},
		{123_456_789, "0.333333", 41_152_222}, // 41_152_221.7...
		{math.MaxInt64, "1", math.MaxInt64},
		{-5, "1.1", -6}, // halves away from zero
	} {
		f, err := manage.ParseFactor(tt.factor)
		if err != nil {
			t.Fatalf("ParseFactor(%q): %v", tt.factor, err)
		}
		if got, err := manage.MultiplyAmount(tt.v, f); err != nil || got != tt.want {
			t.Errorf("%d × %s = %d, %v; want %d", tt.v, tt.factor, got, err, tt.want)
		}
	}
	f, _ := manage.ParseFactor("1.000001")
	if _, err := manage.MultiplyAmount(math.MaxInt64, f); err == nil {
		t.Error("overflow not reported")
	}
	for _, bad := range []string{"", "1.", ".5", "-1", "+1", "1e3", "0x10", "1,5", " 1", "1.1234567", "1234567", "0", "0.000000", "NaN", "Inf", "１"} {
		if _, err := manage.ParseFactor(bad); err == nil {
			t.Errorf("ParseFactor(%q) accepted", bad)
		} else {
			wantField(t, err, "multiply")
		}
	}
}

// FuzzMultiplyAmount checks the factor parser against its grammar and the
// product against exact arithmetic: never more than half a unit off, and a
// half rounded away from zero.
func FuzzMultiplyAmount(f *testing.F) {
	for _, s := range []string{"1.1", "0.5", "999999.999999", "0.000001", "1", "00.10", "1.", "-1", "1e2"} {
		f.Add(int64(5), s)
	}
	f.Add(int64(math.MaxInt64), "1.5")
	f.Add(int64(math.MinInt64), "0.5")
	grammar := regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6})?$`)
	f.Fuzz(func(t *testing.T, v int64, s string) {
		factor, err := manage.ParseFactor(s)
		if err != nil {
			if grammar.MatchString(s) {
				if r, ok := new(big.Rat).SetString(s); ok && r.Sign() > 0 {
					t.Fatalf("ParseFactor(%q) refused a valid factor: %v", s, err)
				}
			}
			return
		}
		if !grammar.MatchString(s) || factor.Sign() <= 0 {
			t.Fatalf("ParseFactor(%q) accepted %v", s, factor)
		}
		exact := new(big.Rat).Mul(new(big.Rat).SetInt64(v), factor)
		got, err := manage.MultiplyAmount(v, factor)
		if err != nil {
			// it must not fit: |exact| rounded is past int64
			lim := new(big.Rat).SetInt64(math.MaxInt64)
			if new(big.Rat).Abs(exact).Cmp(lim) <= 0 {
				t.Fatalf("%d × %s = %s fits, but: %v", v, s, exact.FloatString(6), err)
			}
			return
		}
		diff := new(big.Rat).Sub(new(big.Rat).SetInt64(got), exact)
		half := big.NewRat(1, 2)
		if new(big.Rat).Abs(diff).Cmp(half) > 0 {
			t.Fatalf("%d × %s = %d, exact %s", v, s, got, exact.FloatString(6))
		}
		if new(big.Rat).Abs(diff).Cmp(half) == 0 && (diff.Sign() > 0) != (exact.Sign() > 0) {
			t.Fatalf("%d × %s = %d: a half not rounded away from zero (exact %s)", v, s, got, exact.FloatString(6))
		}
	})
}

func TestMultiplyRates(t *testing.T) {
	e := newEnv(t, envOpts{})
	ctx := actor()
	for _, r := range []store.ModelRate{{Model: "a", InputPerM: 10, MinPerCall: 5}, {Model: "b", OutputPerM: 3}} {
		if _, err := e.svc.SetRate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.svc.MultiplyRates(ctx, []string{"a"}, false, "1.5")
	if err != nil || len(got) != 1 || got[0].InputPerM != 15 || got[0].MinPerCall != 8 {
		t.Errorf("MultiplyRates = %+v, %v", got, err)
	}
	for _, tt := range []struct {
		models []string
		all    bool
		factor string
		field  string
	}{
		{nil, false, "2", "models"},
		{[]string{"a"}, true, "2", "models"},
		{[]string{"a", "a"}, false, "2", "models"},
		{[]string{""}, false, "2", "models"},
		{[]string{"a", "nope"}, false, "2", "models"},
		{[]string{"a"}, false, "2.0000001", "multiply"},
	} {
		_, err := e.svc.MultiplyRates(ctx, tt.models, tt.all, tt.factor)
		wantField(t, err, tt.field)
	}
	if r, _ := e.svc.Rate(ctx, "a"); r.InputPerM != 15 {
		t.Errorf("a refused change wrote: %+v", r)
	}
	all, err := e.svc.MultiplyRates(ctx, nil, true, "2")
	if err != nil || len(all) != 2 || all[0].InputPerM != 30 || all[1].OutputPerM != 6 {
		t.Errorf("all = %+v, %v", all, err)
	}
}
