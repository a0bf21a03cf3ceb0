package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Byte size units accepted by [Size]. The binary units (KiB, MiB, …) are powers of
// 1024; the decimal ones (kB, MB, …) are powers of 1000.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40

	KB Size = 1e3
	MB Size = 1e6
	GB Size = 1e9
	TB Size = 1e12
)

// sizeUnits maps lower-cased unit suffixes to their multipliers.
var sizeUnits = map[string]Size{
	"b":   1,
	"kib": KiB, "mib": MiB, "gib": GiB, "tib": TiB,
	"kb": KB, "mb": MB, "gb": GB, "tb": TB,
}

// Size is a number of bytes. In TOML it is written as a string with a unit, like
// "4MiB", "512KiB", "1MB" or "100B" (units are case-insensitive, an optional space may
// separate number and unit), or as a plain integer of bytes (4194304 or "4194304").
// The number must be a non-negative integer: "1.5GiB" is rejected, write "1536MiB".
type Size int64

// ParseSize parses a size as described on [Size].
func ParseSize(s string) (Size, error) {
	in := s
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want a non-negative integer with an optional unit (B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)", in)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: number out of range", in)
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	mult := Size(1)
	if unit != "" {
		m, ok := sizeUnits[unit]
		if !ok {
			return 0, fmt.Errorf("invalid size %q: unknown unit %q (want B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)", in, strings.TrimSpace(s[i:]))
		}
		mult = m
	}
	if n > math.MaxInt64/int64(mult) {
		return 0, fmt.Errorf("invalid size %q: out of range", in)
	}
	return Size(n) * mult, nil
}

// String formats the size with the largest binary unit that divides it exactly
// ("64MiB"), or as a plain number of bytes ("1000").
func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{TiB, "TiB"}, {GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s != 0 && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Bytes returns the size as a plain int64 of bytes.
func (s Size) Bytes() int64 { return int64(s) }

// MarshalText implements [encoding.TextMarshaler] with the form of [Size.String].
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseSize].
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Duration is a [time.Duration] written in TOML as a string that
// [time.ParseDuration] accepts, like "2s", "10m" or "1h30m". A bare integer is
// rejected because its unit would be a guess.
type Duration time.Duration

// ParseDuration parses a duration as described on [Duration].
func ParseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, like \"2s\", \"500ms\" or \"10m\"", s)
	}
	return Duration(d), nil
}

// Std returns d as a [time.Duration].
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like [time.Duration.String].
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements [encoding.TextMarshaler] with the form of [Duration.String].
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseDuration].
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
