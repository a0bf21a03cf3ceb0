package emulator

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\n\r\t", "é°😀", "bad\xff\xfeutf8", "\u2028\u2029", "<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, b, err)
		}
		// encoding/json's round trip is the reference, invalid UTF-8 included.
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("appendJSONString(%q) decodes to %q, want %q", s, got, want)
		}
		if strings.ContainsAny(string(b), "\u2028\u2029") {
			t.Fatalf("unescaped line separator in %s", b)
		}
	})
}

func FuzzAppendFloat32(f *testing.F) {
	for _, v := range []float32{0, 1, -1, 0.087787494, 1e-7, -3.5e-12, 1e22, math.MaxFloat32, math.SmallestNonzeroFloat32} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float32) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return
		}
		b := appendFloat32(nil, v)
		if !json.Valid(b) {
			t.Fatalf("appendFloat32(%v) = %s is not JSON", v, b)
		}
		got, err := strconv.ParseFloat(string(b), 32)
		if err != nil || float32(got) != v {
			t.Fatalf("appendFloat32(%v) = %s parses back as %v (%v)", v, b, got, err)
		}
	})
}

func FuzzSplitFragments(f *testing.F) {
	f.Add(`{"city":"example","unit":"celsius"}`, 5)
	f.Add(`{}`, 0)
	f.Add("{\"é\":\"😀😀\"}", 7)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n > 1<<16 || n < -1<<16 {
			return
		}
		parts := splitFragments(s, n)
		if len(parts) == 0 || len(parts) > max(1, n) {
			t.Fatalf("splitFragments(%q, %d): %d parts", s, n, len(parts))
		}
		if strings.Join(parts, "") != s {
			t.Fatalf("splitFragments(%q, %d) = %q does not join back", s, n, parts)
		}
		for _, p := range parts {
			if p == "" && s != "" {
				t.Fatalf("empty fragment in %q", parts)
			}
			if utf8.ValidString(s) && !utf8.ValidString(p) {
				t.Fatalf("fragment %q splits a rune", p)
			}
		}
	})
}

func TestObfuscationInRange(t *testing.T) {
	for k := range 1000 {
		if n := len(obfuscation(k)); n > 15 {
			t.Fatalf("obfuscation(%d) has %d characters", k, n)
		}
	}
}

func TestIDsAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for seq := range uint64(10000) {
		var id [29]byte
		fillID(id[:], seq)
		var hex [32]byte
		fillHex(hex[:], seq)
		if seen[string(id[:])] || seen[string(hex[:])] {
			t.Fatalf("repeated id at %d", seq)
		}
		seen[string(id[:])], seen[string(hex[:])] = true, true
	}
}
