package abi

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

func TestInternTable(t *testing.T) {
	var tab internTable
	b := []byte("gpt-4o")
	s1 := tab.get(b)
	b[0] = 'X' // the caller's bytes change after the call
	if s1 != "gpt-4o" {
		t.Fatalf("interned %q, want gpt-4o", s1)
	}
	s2 := tab.get([]byte("gpt-4o"))
	if s2 != s1 || unsafe.StringData(s2) != unsafe.StringData(s1) {
		t.Errorf("second get is a new string")
	}
	if got := testing.AllocsPerRun(100, func() { tab.get([]byte("gpt-4o")) }); got != 0 {
		t.Errorf("a cached get allocates %v times", got)
	}
	if tab.get(nil) != "" || tab.get([]byte{}) != "" {
		t.Error("empty input is not the empty string")
	}
	long := []byte(strings.Repeat("x", maxInterned+1))
	if s := tab.get(long); s != string(long) || len(tab.m) != 1 {
		t.Errorf("long string: %d cached", len(tab.m))
	}
	// Many distinct names: every answer right, the table bounded.
	for i := range 5 * maxInternedStrings {
		name := fmt.Sprintf("model-%d", i)
		if got := tab.get([]byte(name)); got != name {
			t.Fatalf("get(%q) = %q", name, got)
		}
		if len(tab.m) > maxInternedStrings {
			t.Fatalf("%d strings cached, more than %d", len(tab.m), maxInternedStrings)
		}
	}
}

func TestInternTableSlots(t *testing.T) {
	var tab internTable
	b := []byte("openai")
	s1 := tab.at(slotProvider, b)
	b[0] = 'X' // the caller's bytes change: the slot must not alias them
	if s1 != "openai" {
		t.Fatalf("at = %q", s1)
	}
	if s := tab.at(slotProvider, []byte("openai")); unsafe.StringData(s) != unsafe.StringData(s1) {
		t.Error("the slot's string is not reused")
	}
	if got := testing.AllocsPerRun(100, func() { tab.at(slotProvider, []byte("openai")) }); got != 0 {
		t.Errorf("a slot hit allocates %v times", got)
	}
	// Another value in the slot, a value of another slot, the empty string
	// and the first value again: each answer right.
	for _, c := range []struct {
		slot int
		v    string
	}{{slotProvider, "anthropic"}, {slotModel, "openai"}, {slotProvider, ""}, {slotProvider, "openai"}, {slotProvider, "openaj"}} {
		if got := tab.at(c.slot, []byte(c.v)); got != c.v {
			t.Errorf("at(%d, %q) = %q", c.slot, c.v, got)
		}
	}
}
