package main

import (
	"math"
	"strconv"
	"strings"
)

// field is one multipart/form-data text part.
type field struct{ name, value string }

// boundaryMax is RFC 2046's limit on a boundary's length.
const boundaryMax = 70

// boundary returns the multipart boundary for a request: "hub-" and the
// request id's letters, digits, '-' and '_' (at most 56 of them), so the
// same request always gets the same body. If any value contains it, a
// numeric suffix is added until none does.
func boundary(requestID string, fields []field) string {
	var b [boundaryMax]byte
	n := copy(b[:], "hub-")
	for i := 0; i < len(requestID) && n < 60; i++ {
		if c := requestID[i]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' {
			b[n] = c
			n++
		}
	}
	if n == 4 {
		n += copy(b[n:], "form")
	}
	base := string(b[:n])
	for i := 0; ; i++ {
		cand := base
		if i > 0 {
			cand = base + "." + strconv.Itoa(i)
		}
		clash := false
		for _, f := range fields {
			if strings.Contains(f.value, cand) {
				clash = true
				break
			}
		}
		if !clash {
			return cand
		}
	}
}

// appendForm appends a multipart/form-data body of text parts:
//
//	--B CRLF Content-Disposition: form-data; name="N" CRLF CRLF value CRLF
//	… --B-- CRLF
//
// Names are the plugin's own and never need quoting.
func appendForm(dst []byte, bnd string, fields []field) []byte {
	for _, f := range fields {
		dst = append(dst, "--"...)
		dst = append(dst, bnd...)
		dst = append(dst, "\r\nContent-Disposition: form-data; name=\""...)
		dst = append(dst, f.name...)
		dst = append(dst, "\"\r\n\r\n"...)
		dst = append(dst, f.value...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "--"...)
	dst = append(dst, bnd...)
	return append(dst, "--\r\n"...)
}

// formSize is the exact length of appendForm's output.
func formSize(bnd string, fields []field) int {
	const perPart = len("--") + len("\r\nContent-Disposition: form-data; name=\"") + len("\"\r\n\r\n") + len("\r\n")
	n := len("--") + len(bnd) + len("--\r\n")
	for _, f := range fields {
		n += perPart + len(bnd) + len(f.name) + len(f.value)
	}
	return n
}

// ratio is one of Ideogram 3.0's aspect ratios.
type ratio struct {
	name string
	ln   float64 // ln(width/height)
}

// ratios are the aspect ratios Ideogram 3.0 accepts, the common ones first
// (an exact tie, which integer sizes cannot produce, goes to the earlier).
var ratios = func() []ratio {
	names := [...]string{"1x1", "16x9", "9x16", "4x3", "3x4", "3x2", "2x3", "16x10", "10x16", "5x4", "4x5", "2x1", "1x2", "3x1", "1x3"}
	rs := make([]ratio, len(names))
	for i, n := range names {
		w, h, _ := parseWxH(n)
		rs[i] = ratio{n, math.Log(float64(w) / float64(h))}
	}
	return rs
}()

// nearestRatio returns the supported aspect ratio closest to w:h, distance
// measured between logarithms so that a ratio and its inverse are treated
// alike.
func nearestRatio(w, h int) string {
	r := math.Log(float64(w) / float64(h))
	best, bestD := ratios[0].name, math.Inf(1)
	for _, x := range ratios {
		if d := math.Abs(r - x.ln); d < bestD {
			best, bestD = x.name, d
		}
	}
	return best
}

// knownRatio reports whether name ("16x9") is a supported aspect ratio.
func knownRatio(name string) bool {
	for _, x := range ratios {
		if x.name == name {
			return true
		}
	}
	return false
}

// parseWxH parses "WxH" (or "WXH") with 1 <= W, H <= 100000.
func parseWxH(s string) (w, h int, ok bool) {
	i := strings.IndexAny(s, "xX")
	if i < 0 {
		return 0, 0, false
	}
	w, ok1 := smallInt(s[:i])
	h, ok2 := smallInt(s[i+1:])
	return w, h, ok1 && ok2
}

// smallInt parses 1..100000 written with ASCII digits only.
func smallInt(s string) (int, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= 1 && n <= 100000
}
