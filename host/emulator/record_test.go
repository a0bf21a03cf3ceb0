package emulator_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

func TestRequestsRecorded(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{Record: true})
	body := userRequest("gpt-4o", "hi", false)
	chat(t, srv, body, "Authorization", "Bearer sk-injected-by-hub")
	send(t, srv, http.MethodGet, "/v1/models?limit=2", nil)
	chat(t, srv, body, "Authorization", "") // 401s are recorded too

	got := emu.Requests()
	if len(got) != 3 {
		t.Fatalf("%d requests recorded, want 3", len(got))
	}
	first := got[0]
	if first.Method != http.MethodPost || first.Path != "/v1/chat/completions" || string(first.Body) != body {
		t.Errorf("first = %s %s %q", first.Method, first.Path, first.Body)
	}
	if a := first.Header.Get("Authorization"); a != "Bearer sk-injected-by-hub" {
		t.Errorf("Authorization = %q", a)
	}
	if got[1].Path != "/v1/models" || got[1].Query != "limit=2" || got[1].Body != nil {
		t.Errorf("second = %+v", got[1])
	}
	if got[2].Header.Get("Authorization") != "" {
		t.Errorf("third carries Authorization %q", got[2].Header.Get("Authorization"))
	}

	// The returned copies are the caller's.
	got[0].Body[0] = 'X'
	got[0].Header.Set("Authorization", "changed")
	if again := emu.Requests(); again[0].Body[0] != '{' || again[0].Header.Get("Authorization") == "changed" {
		t.Errorf("modifying a returned request changed the record")
	}

	emu.Reset()
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("%d requests after Reset", n)
	}
	chat(t, srv, body)
	if n := len(emu.Requests()); n != 1 {
		t.Errorf("%d requests after Reset and one more, want 1", n)
	}
}

func TestRequestsKeepsTheMostRecent(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{Record: true, RecordLimit: 3})
	for i := range 7 {
		chat(t, srv, userRequest("gpt-4o", "message "+strconv.Itoa(i), false))
	}
	got := emu.Requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, rr := range got {
		if want := userRequest("gpt-4o", "message "+strconv.Itoa(4+i), false); string(rr.Body) != want {
			t.Errorf("request %d = %s, want %s", i, rr.Body, want)
		}
	}
}

func TestRequestsRecordingOff(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{RecordLimit: 5})
	resp, got := chat(t, srv, userRequest("gpt-4o", "hi", false))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if rr := emu.Requests(); rr != nil {
		t.Errorf("recorded %d requests with recording off", len(rr))
	}
	emu.Reset() // must not panic
}

// TestConcurrentHammer runs streams, non-streams, Requests and Reset at
// once; with -race it checks the shared state.
func TestConcurrentHammer(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{Record: true, RecordLimit: 50})
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 25 {
				resp, got := chat(t, srv, userRequest("gpt-4o", "hammer", (g+i)%2 == 0))
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d: %s", resp.StatusCode, got)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 200 {
			if len(emu.Requests()) > 50 {
				t.Errorf("more requests than the limit")
			}
			if i%50 == 0 {
				emu.Reset()
			}
		}
	})
	wg.Wait()
}
