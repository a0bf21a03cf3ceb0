package emulator

import (
	"math"
	"strconv"

	"github.com/aignehub/hub/sdk/oai"
)

// This file holds the allocation-free appenders the hot path builds bodies
// with. encoding/json would reflect over a struct for every SSE chunk; these
// append pre-escaped pieces and numbers to a pooled buffer instead.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal, quotes included:
// the hub's own canonical escaping (oai.AppendString), which, like OpenAI,
// does not escape <, > and &.
func appendJSONString(b []byte, s string) []byte { return oai.AppendString(b, s) }

// appendJSONEscaped appends the escaped body of s as a JSON string, without
// quotes.
func appendJSONEscaped(b []byte, s string) []byte { return oai.AppendEscaped(b, s) }

// appendFloat32 appends f the way OpenAI prints embedding components: the
// shortest decimal that round-trips through float32, in exponent form only
// for very small or very large magnitudes (as encoding/json does).
func appendFloat32(b []byte, f float32) []byte {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return append(b, '0')
	}
	abs := math.Abs(float64(f))
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	n := len(b)
	b = strconv.AppendFloat(b, float64(f), format, -1, 32)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		m := len(b)
		if m-n >= 4 && b[m-4] == 'e' && b[m-3] == '-' && b[m-2] == '0' {
			b[m-2] = b[m-1]
			b = b[:m-1]
		}
	}
	return b
}

// splitmix64 is the SplitMix64 mixer: a cheap, well-distributed function
// from a sequence number to 64 pseudo-random bits. It makes IDs and
// embedding vectors deterministic without a shared random source.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// fillID fills dst with base62 characters derived from seq, so IDs look like
// OpenAI's (chatcmpl-jxm7kMGDuGN7W2O6tKcnObwLrexgs) and never repeat within
// one emulator. Each 64-bit block yields 10 characters.
func fillID(dst []byte, seq uint64) {
	state := splitmix64(seq)
	var x uint64
	for i := range dst {
		if i%10 == 0 {
			x = splitmix64(state + uint64(i/10)*0x9e3779b97f4a7c15)
		}
		dst[i] = base62[x%62]
		x /= 62
	}
}

// fillHex fills dst with lowercase hex digits derived from seq.
func fillHex(dst []byte, seq uint64) {
	state := splitmix64(seq)
	var x uint64
	for i := range dst {
		if i%16 == 0 {
			x = splitmix64(state + uint64(i/16)*0x9e3779b97f4a7c15)
		}
		dst[i] = hexDigits[x&0xf]
		x >>= 4
	}
}

// fnv1a hashes b (FNV-1a, 64 bit); embeddings seed their vectors with it so
// equal inputs get equal vectors.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
