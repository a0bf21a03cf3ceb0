package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Size
		wantErr string
	}{
		{"0", 0, ""},
		{"4194304", 4 * MiB, ""},
		{"4MiB", 4 * MiB, ""},
		{"512KiB", 512 * KiB, ""},
		{"1MB", 1_000_000, ""},
		{"1kB", 1000, ""},
		{"1KB", 1000, ""},
		{"2GiB", 2 * GiB, ""},
		{"1TiB", TiB, ""},
		{"3TB", 3 * TB, ""},
		{"100B", 100, ""},
		{"64 MiB", 64 * MiB, ""},
		{" 64mib ", 64 * MiB, ""},
		{"8388607TiB", 8388607 * TiB, ""},
		{"8388608TiB", 0, "out of range"}, // 2^63
		{"", 0, "want a non-negative integer"},
		{"MiB", 0, "want a non-negative integer"},
		{"-1MiB", 0, "want a non-negative integer"},
		{"+1MiB", 0, "want a non-negative integer"},
		{"1.5GiB", 0, `unknown unit ".5GiB"`},
		{"4 XB", 0, `unknown unit "XB"`},
		{"4M", 0, `unknown unit "M"`},
		{"99999999999999999999", 0, "out of range"},
		{"9000000TiB", 0, "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseSize(%q) = %v, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSize(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSizeString(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0"},
		{100, "100"},
		{KiB, "1KiB"},
		{1536 * KiB, "1536KiB"},
		{64 * MiB, "64MiB"},
		{4 * GiB, "4GiB"},
		{TiB, "1TiB"},
		{1_000_000, "1000000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			b, _ := tt.in.MarshalText()
			var back Size
			if err := back.UnmarshalText(b); err != nil || back != tt.in {
				t.Errorf("round trip %q = %v, %v", b, back, err)
			}
			if tt.in.Bytes() != int64(tt.in) {
				t.Errorf("Bytes() = %d", tt.in.Bytes())
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"2s", 2 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"10m", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{" 30s ", 30 * time.Second, false},
		{"0", 0, false},
		{"-1s", -time.Second, false}, // parses; validation rejects it
		{"", 0, true},
		{"2", 0, true},
		{"2 secs", 0, true},
		{"1d", 0, true},
		{"99999999999h", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), "invalid duration") {
					t.Errorf("ParseDuration(%q) = %v, %v; want an invalid duration error", tt.in, got, err)
				}
				return
			}
			if err != nil || got.Std() != tt.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			b, _ := got.MarshalText()
			var back Duration
			if err := back.UnmarshalText(b); err != nil || back != got {
				t.Errorf("round trip %q = %v, %v", b, back, err)
			}
		})
	}
}
