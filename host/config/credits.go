package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MicroPerCredit is how many micro-credits make a credit. Money is counted in
// micro-credits (int64) everywhere in the hub; a credit is what people read
// and write.
const MicroPerCredit = 1_000_000

// CreditDecimals is how many decimals an amount of credits may have: a
// micro-credit (0.000001) is the smallest amount.
const CreditDecimals = 6

// MaxCredits is the largest amount [ParseCredits] accepts, in credits: the
// largest int64 number of micro-credits.
const MaxCredits = "9223372036854.775807"

// Credits is an amount of money in micro-credits. In TOML it is written as a
// decimal string of credits, like "2.5" or "0.000001" (at most
// [CreditDecimals] decimals), or as an integer of whole credits (5); it is
// never negative. A TOML float (2.5 without quotes) is refused: binary
// floating point cannot hold most decimal amounts exactly, so "0.1" is the
// way to write a tenth of a credit.
type Credits int64

// ParseCredits parses a non-negative decimal amount of credits, like "2.5",
// ".25" or "10", into micro-credits, exactly: it reads the digits as integers
// and never goes through floating point. More than six decimals, a sign, an
// exponent, spaces, or anything but digits and one point is an error, and so
// is an amount over [MaxCredits].
func ParseCredits(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("invalid credits %q: must not be negative", s)
	}
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(d string) bool {
		return !strings.ContainsFunc(d, func(r rune) bool { return r < '0' || r > '9' })
	}
	switch {
	case whole == "" && frac == "", dot && frac == "", !digits(whole), !digits(frac):
		return 0, fmt.Errorf("invalid credits %q: want a decimal number of credits, like 2.5", s)
	case len(frac) > CreditDecimals:
		return 0, fmt.Errorf("invalid credits %q: more than %d decimals (the smallest amount is 0.000001 credits)", s, CreditDecimals)
	}
	var w, f int64
	var err error
	if whole != "" {
		if w, err = strconv.ParseInt(whole, 10, 64); err != nil {
			return 0, fmt.Errorf("invalid credits %q: too large (at most %s)", s, MaxCredits)
		}
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", CreditDecimals-len(frac)), 10, 64)
	}
	if w > (math.MaxInt64-f)/MicroPerCredit {
		return 0, fmt.Errorf("invalid credits %q: too large (at most %s)", s, MaxCredits)
	}
	return w*MicroPerCredit + f, nil
}

// FormatCredits shows micro-credits as a decimal amount of credits, the
// shortest form that [ParseCredits] reads back exactly: 2_500_000 is "2.5",
// 1 is "0.000001", 10_000_000 is "10". A negative amount (a balance in debt)
// gets a "-", which ParseCredits refuses.
func FormatCredits(v int64) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", -u
	}
	w, f := u/MicroPerCredit, u%MicroPerCredit
	if f == 0 {
		return sign + strconv.FormatUint(w, 10)
	}
	return strings.TrimRight(fmt.Sprintf("%s%d.%06d", sign, w, f), "0")
}

// Micro returns the amount in micro-credits.
func (c Credits) Micro() int64 { return int64(c) }

// String formats the amount like [FormatCredits]: "2.5".
func (c Credits) String() string { return FormatCredits(int64(c)) }

// MarshalText implements [encoding.TextMarshaler] with the form of
// [Credits.String].
func (c Credits) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseCredits].
func (c *Credits) UnmarshalText(b []byte) error {
	v, err := ParseCredits(string(b))
	if err != nil {
		return err
	}
	*c = Credits(v)
	return nil
}

// UnmarshalTOML decodes a TOML string with [ParseCredits] or an integer of
// whole credits; it refuses floats and every other type. The TOML decoder
// prefers it to UnmarshalText, which would take a float as its "%f" text.
func (c *Credits) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case string:
		return c.UnmarshalText([]byte(x))
	case int64:
		switch {
		case x < 0:
			return fmt.Errorf("invalid credits %d: must not be negative", x)
		case x > math.MaxInt64/MicroPerCredit:
			return fmt.Errorf("invalid credits %d: too large (at most %s)", x, MaxCredits)
		}
		*c = Credits(x * MicroPerCredit)
		return nil
	case float64:
		return fmt.Errorf("invalid credits %v: write the amount as a string, like \"2.5\" (a TOML float is not exact)", x)
	}
	return fmt.Errorf("invalid credits: want a decimal string like \"2.5\" or an integer; got %s", tomlTypeName(v))
}
