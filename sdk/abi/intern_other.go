//go:build !wasip1

package abi

// intern returns b as a string. In a Wasm guest it caches the strings it
// has returned (intern_wasip1.go); natively, where records may be decoded
// concurrently, it only converts.
func intern(_ int, b []byte) string { return string(b) }
