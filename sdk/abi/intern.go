package abi

// internTable turns bytes into strings, returning the same string for the
// same bytes while it has room: the names a plugin receives (API, provider,
// model) repeat from call to call, and an allocation in a Wasm guest costs
// as much as the rest of a small call (see intern_wasip1.go). It is emptied
// when full, so it stays small whatever the host sends. Not safe for
// concurrent use.
//
// Before the map it checks the string last returned for the same field
// (slot): a call's names are mostly the previous call's, and comparing
// costs a fraction of a map lookup in Wasm.
type internTable struct {
	m    map[string]string
	last [numInternSlots]string
}

// The fields interned, one slot each: a record's api, provider, model and
// requested model.
const (
	slotAPI = iota
	slotProvider
	slotModel
	slotRequestedModel
	numInternSlots
)

// at is get, first checking the string last returned for slot.
func (t *internTable) at(slot int, b []byte) string {
	if s := t.last[slot]; len(s) == len(b) && string(b) == s {
		return s
	}
	s := t.get(b)
	t.last[slot] = s
	return s
}

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
