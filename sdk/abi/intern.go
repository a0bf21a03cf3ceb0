package abi

// internTable turns bytes into strings, returning the same string for the
// same bytes while it has room: the names a plugin receives (API, provider,
// model) repeat from call to call, and an allocation in a Wasm guest costs
// as much as the rest of a small call (see intern_wasip1.go). It is emptied
// when full, so it stays small whatever the host sends. Not safe for
// concurrent use.
type internTable struct{ m map[string]string }

const (
	maxInterned        = 128 // longer strings are not cached
	maxInternedStrings = 256
)

func (t *internTable) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxInterned {
		return string(b)
	}
	if s, ok := t.m[string(b)]; ok { // the lookup does not allocate
		return s
	}
	if t.m == nil {
		t.m = make(map[string]string, maxInternedStrings)
	} else if len(t.m) >= maxInternedStrings {
		clear(t.m)
	}
	s := string(b)
	t.m[s] = s
	return s
}
