package emulator_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

// benchClient keeps enough idle connections for 16 concurrent requests.
func benchClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 64
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func benchPost(b *testing.B, client *http.Client, url string, body []byte) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// benchEndpoint measures one request body against a loopback server with
// default Options (recording off), serially and at 16 concurrent
// connections (the hub benchmark's load).
func benchEndpoint(b *testing.B, body []byte) {
	for _, bc := range []struct {
		name        string
		parallelism int
	}{{"serial", 0}, {"conns16", 16}} {
		b.Run(bc.name, func(b *testing.B) {
			emu := emulator.New(emulator.Options{})
			srv := httptest.NewServer(emu)
			defer srv.Close()
			client := benchClient()
			defer client.CloseIdleConnections()
			url := srv.URL + "/v1/chat/completions"
			b.ReportAllocs()
			if bc.parallelism == 0 {
				for b.Loop() {
					benchPost(b, client, url, body)
				}
				return
			}
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, bc.parallelism/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					benchPost(b, client, url, body)
				}
			})
		})
	}
}

func BenchmarkChatCompletions(b *testing.B) {
	benchEndpoint(b, []byte(userRequest("gpt-4o-mini", "Say hello in French, in three words or fewer.", false)))
}

func BenchmarkStream(b *testing.B) {
	benchEndpoint(b, []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French, in three words or fewer."}],"stream":true,"stream_options":{"include_usage":true}}`))
}

// BenchmarkHandler measures the emulator alone, without the network, so
// its own cost and allocations are visible.
func BenchmarkHandler(b *testing.B) {
	for _, bc := range []struct {
		name string
		body string
	}{
		{"chat", userRequest("gpt-4o-mini", "Say hello in French, in three words or fewer.", false)},
		{"stream", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French."}],"stream":true,"stream_options":{"include_usage":true}}`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			emu := emulator.New(emulator.Options{})
			body := []byte(bc.body)
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				rec.Body.Reset()
				clear(rec.Header())
				emu.ServeHTTP(rec, req)
			}
		})
	}
}
