//go:build wasip1

package abi

// A plugin instance runs one call at a time: one table, no lock.
var internedNames internTable

// intern returns b, the field of slot, as a string, cached (see
// internTable).
func intern(slot int, b []byte) string {
	// internTable.at's first check, written here to be inlined.
	s := internedNames.last[slot]
	if string(b) != s {
		s = internedNames.at(slot, b)
	}
	return s
}
