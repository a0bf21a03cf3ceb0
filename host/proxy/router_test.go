package proxy

import (
	"fmt"
	"sync"
	"testing"
)

func TestRouterAnyModelAndSetModels(t *testing.T) {
	a := &Provider{Name: "a", Models: []string{"m1", "m2"}}
	or := &Provider{Name: "or", Models: []string{AnyModel}}
	local := &Provider{Name: "local"}
	r := NewRouter([]*Provider{a, or, local})
	if ts, err := r.Resolve("or/meta-llama/llama-3"); err != nil || ts[0].Provider != or || ts[0].Model != "meta-llama/llama-3" {
		t.Fatalf("any model: %v %v", ts, err)
	}
	if _, err := r.Resolve("meta-llama/llama-3"); err == nil {
		t.Fatal("a bare name must not reach the catch-all provider")
	}
	if _, err := r.Resolve("local/x"); err == nil {
		t.Fatal("no models yet")
	}
	v := r.Version()
	if !r.SetModels("local", []string{"x", "m1"}) || r.SetModels("nope", nil) || r.Version() != v+1 {
		t.Fatal("SetModels")
	}
	if ts, err := r.Resolve("m1"); err != nil || len(ts) != 2 || ts[0].Provider != a || ts[1].Provider != local {
		t.Fatalf("bare m1 after discovery: %v %v", ts, err)
	}
	ids := fmt.Sprint(r.Models())
	if ids != "[{a/m1 a m1} {a/m2 a m2} {local/m1 local m1} {local/x local x}]" {
		t.Fatalf("models %s", ids)
	}
}

// TestRouterSetModelsRace resolves while model lists change (run with
// -race).
func TestRouterSetModelsRace(t *testing.T) {
	local := &Provider{Name: "local"}
	r := NewRouter([]*Provider{local, {Name: "b", Models: []string{"m"}}})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				r.Resolve("local/m")
				r.Resolve("m")
				r.Models()
			}
		}()
	}
	for i := 0; i < 200; i++ {
		r.SetModels("local", []string{"m", fmt.Sprint(i)})
	}
	wg.Wait()
	if ts, err := r.Resolve("m"); err != nil || len(ts) != 2 {
		t.Fatalf("%v %v", ts, err)
	}
}
