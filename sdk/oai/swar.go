package oai

import (
	"math/bits"
	"unsafe"
)

// Word-at-a-time scanning for plugins' stream fast paths. In Go compiled to
// Wasm, a byte loop costs several ns per byte and every call is expensive;
// these helpers compare and search eight bytes per load, and are small
// enough to be inlined.

// A Lit is a fixed string of 8 to 32 bytes, as the four words that cover
// it (overlapping when it is shorter than 32 bytes), so that comparing it
// takes four loads and no call.
type Lit struct {
	N              int // its length
	o1, o2         int // the offsets of the middle words
	w0, w1, w2, w3 uint64
}

// NewLit returns the Lit of s, 8 to 32 bytes long (it panics otherwise).
func NewLit(s string) Lit {
	if len(s) < 8 || len(s) > 32 {
		panic("oai: NewLit needs 8 to 32 bytes: " + s)
	}
	l := Lit{N: len(s), o1: min(8, len(s)-8), o2: min(16, len(s)-8)}
	p := unsafe.Pointer(unsafe.StringData(s))
	l.w0, l.w1, l.w2, l.w3 = Word(p, 0), Word(p, l.o1), Word(p, l.o2), Word(p, len(s)-8)
	return l
}

// At reports whether b, whose data p points to, has l at i (false for a
// negative i).
func (l *Lit) At(b []byte, p unsafe.Pointer, i int) bool {
	return uint(i) <= uint(len(b)) && len(b)-i >= l.N && Word(p, i) == l.w0 && Word(p, i+l.o1) == l.w1 &&
		Word(p, i+l.o2) == l.w2 && Word(p, i+l.N-8) == l.w3
}

// Word loads the eight bytes at p+i; the caller guarantees they exist.
func Word(p unsafe.Pointer, i int) uint64 { return *(*uint64)(unsafe.Add(p, i)) }

// SWAR (a word at a time) tests of eight bytes: the lowest byte they flag
// is the first byte that has the property (the Ones above it may be
// flagged wrongly, by borrows).
const (
	Ones  = 0x0101010101010101
	Highs = 0x8080808080808080
)

// Stops flags (under Highs) '"', '\\' and control characters.
func Stops(x uint64) uint64 {
	q := x ^ Ones*'"'
	s := x ^ Ones*'\\'
	return ((q - Ones) &^ q) | ((s - Ones) &^ s) | ((x - Ones*0x20) &^ x)
}

// PlainEnd returns the offset past the string at b[i] ('"'), which must
// have no escapes and no control characters (its contents are then what
// gjson's Str would be), or -1.
func PlainEnd(b []byte, i int) int {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return -1
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	for i++; i+8 <= len(b); i += 8 {
		if m := Stops(Word(p, i)) & Highs; m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			if b[i] != '"' {
				return -1
			}
			return i + 1
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' {
			return i + 1
		} else if c == '\\' || c < 0x20 {
			return -1
		}
	}
	return -1
}
