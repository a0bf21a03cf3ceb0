package config

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseCredits(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"2.5", 2_500_000, ""},
		{"0.000001", 1, ""},
		{"1", 1_000_000, ""},
		{"0", 0, ""},
		{"10.25", 10_250_000, ""},
		{".5", 500_000, ""},
		{"007.000100", 7_000_100, ""},
		{"0.1", 100_000, ""},     // 0.1 has no exact float: no rounding here
		{"0.3", 300_000, ""},     // nor 0.3
		{"1.005", 1_005_000, ""}, // float64(1.005)*1e6 = 1004999.99…
		{"4.35", 4_350_000, ""},  // float64(4.35)*1e6 = 4349999.99…
		{"0.075", 75_000, ""},
		{MaxCredits, math.MaxInt64, ""},
		{"1.0000001", 0, "more than 6 decimals"},
		{"0.0000001", 0, "more than 6 decimals"},
		{"-1", 0, "must not be negative"},
		{"-0.5", 0, "must not be negative"},
		{"-0", 0, "must not be negative"},
		{"+1", 0, "decimal number"},
		{"", 0, "decimal number"},
		{".", 0, "decimal number"},
		{"1.", 0, "decimal number"},
		{"1e6", 0, "decimal number"},
		{"1,5", 0, "decimal number"},
		{" 1", 0, "decimal number"},
		{"1 ", 0, "decimal number"},
		{"1.2.3", 0, "decimal number"},
		{"NaN", 0, "decimal number"},
		{"Inf", 0, "decimal number"},
		{"0x10", 0, "decimal number"},
		{"1_000", 0, "decimal number"},
		{"٣", 0, "decimal number"},
		{"9223372036854.775808", 0, "too large"},
		{"9223372036855", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseCredits(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseCredits(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseCredits(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
		case tt.err != "" && !strings.HasPrefix(err.Error(), "invalid credits "):
			t.Errorf("ParseCredits(%q) error %q lacks the prefix", tt.in, err)
		}
	}
}

func TestFormatCredits(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1, "0.000001"},
		{10, "0.00001"},
		{75_000, "0.075"},
		{2_500_000, "2.5"},
		{10_000_000, "10"},
		{1_234_567, "1.234567"},
		{-1_500_000, "-1.5"},
		{-1, "-0.000001"},
		{math.MaxInt64, MaxCredits},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tt := range tests {
		if got := FormatCredits(tt.in); got != tt.want {
			t.Errorf("FormatCredits(%d) = %q, want %q", tt.in, got, tt.want)
		}
		if got := Credits(tt.in).String(); got != tt.want {
			t.Errorf("Credits(%d).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCreditsText(t *testing.T) {
	var c Credits
	if err := c.UnmarshalText([]byte("2.5")); err != nil || c != 2_500_000 || c.Micro() != 2_500_000 {
		t.Fatalf("UnmarshalText(2.5) = %d, %v", c, err)
	}
	if err := c.UnmarshalText([]byte("-1")); err == nil || c != 2_500_000 {
		t.Errorf("UnmarshalText(-1) = %v, left %d; want an error and no change", err, c)
	}
	b, err := c.MarshalText()
	if err != nil || string(b) != "2.5" {
		t.Errorf("MarshalText = %s, %v", b, err)
	}
	// JSON goes through the text form, exactly.
	type doc struct{ Grant Credits }
	js, err := json.Marshal(doc{Grant: 1})
	if err != nil || string(js) != `{"Grant":"0.000001"}` {
		t.Errorf("json.Marshal = %s, %v", js, err)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"Grant":"0.3"}`), &d); err != nil || d.Grant != 300_000 {
		t.Errorf("json.Unmarshal = %+v, %v", d, err)
	}
}

// In TOML, credits are decimal strings or integers of whole credits; floats and
// other types are decode errors at the key's line.
func TestCreditsTOML(t *testing.T) {
	tests := []struct {
		value string
		want  Credits
		err   string
	}{
		{`"2.5"`, 2_500_000, ""},
		{`"0.000001"`, 1, ""},
		{`"7"`, 7_000_000, ""},
		{`0`, 0, ""},
		{`12`, 12_000_000, ""},
		{`9223372036854`, 9_223_372_036_854_000_000, ""},
		{`9223372036855`, 0, "too large"},
		{`-1`, 0, "must not be negative"},
		{`"-1"`, 0, "must not be negative"},
		{`2.5`, 0, `write the amount as a string, like "2.5"`},
		{`1e-7`, 0, "a TOML float is not exact"},
		{`"1.0000001"`, 0, "more than 6 decimals"},
		{`"2,5"`, 0, "decimal number"},
		{`true`, 0, "got a boolean"},
		{`[1]`, 0, "got an array"},
		{`{ a = 1 }`, 0, "got a table"},
		{`1979-05-27`, 0, "got a date or time"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			src := "[billing]\n\nnew_account_grant = " + tt.value + "\n" + provider()
			c, err := testOptions.Parse([]byte(src), "c.toml")
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.Billing.NewAccountGrant != tt.want {
					t.Errorf("NewAccountGrant = %d, want %d", c.Billing.NewAccountGrant, tt.want)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v (%T), want *DecodeError", err, err)
			}
			if de.Line != 3 || de.Key != "billing.new_account_grant" || !strings.Contains(de.Message, tt.err) {
				t.Errorf("error = %v (line %d, key %q), want line 3, billing.new_account_grant and %q", err, de.Line, de.Key, tt.err)
			}
		})
	}
}

// FuzzParseCredits checks that what ParseCredits accepts is non-negative, that
// FormatCredits gives it back in a form that parses to the same amount, and that
// no float creeps in: the amount's digits are the input's.
func FuzzParseCredits(f *testing.F) {
	for _, s := range []string{"2.5", "0.000001", "1.0000001", "-1", ".5", MaxCredits, "1e3", "", "007.10", "0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseCredits(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid credits ") {
				t.Fatalf("ParseCredits(%q) error %q", s, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("ParseCredits(%q) = %d < 0", s, n)
		}
		out := FormatCredits(n)
		back, err := ParseCredits(out)
		if err != nil || back != n {
			t.Fatalf("ParseCredits(FormatCredits(%d) = %q) = %d, %v", n, out, back, err)
		}
		// The canonical form is the input without leading zeros of the whole
		// part and trailing zeros of the fraction.
		whole, frac, _ := strings.Cut(s, ".")
		whole = strings.TrimLeft(whole, "0")
		if whole == "" {
			whole = "0"
		}
		frac = strings.TrimRight(frac, "0")
		want := whole
		if frac != "" {
			want += "." + frac
		}
		if out != want {
			t.Fatalf("FormatCredits(ParseCredits(%q)) = %q, want %q", s, out, want)
		}
		var c Credits
		if err := c.UnmarshalText([]byte(s)); err != nil || int64(c) != n {
			t.Fatalf("UnmarshalText(%q) = %d, %v", s, c, err)
		}
		if b, _ := c.MarshalText(); string(b) != out {
			t.Fatalf("MarshalText = %q, want %q", b, out)
		}
	})
}

func FuzzFormatCredits(f *testing.F) {
	for _, n := range []int64{0, 1, 999_999, 1_000_000, 2_500_000, math.MaxInt64} {
		f.Add(n)
	}
	f.Fuzz(func(t *testing.T, n int64) {
		if n < 0 {
			n = -(n + 1) // every non-negative int64
		}
		s := FormatCredits(n)
		back, err := ParseCredits(s)
		if err != nil || back != n {
			t.Fatalf("ParseCredits(FormatCredits(%d) = %q) = %d, %v", n, s, back, err)
		}
		if strings.HasSuffix(s, "0") && strings.Contains(s, ".") {
			t.Fatalf("FormatCredits(%d) = %q has a trailing zero", n, s)
		}
	})
}
