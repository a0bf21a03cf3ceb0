//go:build wasip1

package abi

// A plugin instance runs one call at a time: one table, no lock.
var internedNames internTable

// intern returns b as a string, cached (see internTable).
func intern(b []byte) string { return internedNames.get(b) }
