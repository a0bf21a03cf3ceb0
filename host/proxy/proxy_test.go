package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/store"
)

func TestResolve(t *testing.T) {
	a := &Provider{Name: "a", Models: []string{"m1", "shared"}}
	b := &Provider{Name: "b", Models: []string{"shared", "org/m2"}}
	r := NewRouter([]*Provider{a, b})
	for _, tt := range []struct {
		model string
		want  []string // provider/model of each target
	}{
		{"m1", []string{"a/m1"}},
		{"a/m1", []string{"a/m1"}},
		{"shared", []string{"a/shared", "b/shared"}},
		{"b/shared", []string{"b/shared"}},
		{"org/m2", []string{"b/org/m2"}}, // "org" is not a provider: a bare id with a slash
		{"b/org/m2", []string{"b/org/m2"}},
		{"a/org/m2", nil},
		{"nope", nil},
		{"b/m1", nil},
	} {
		t.Run(tt.model, func(t *testing.T) {
			ts, err := r.Resolve(tt.model)
			if tt.want == nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "model_not_found" {
					t.Fatalf("got %v %v", ts, err)
				}
				return
			}
			if err != nil || len(ts) != len(tt.want) {
				t.Fatalf("got %v %v", ts, err)
			}
			for i, tg := range ts {
				if got := tg.Provider.Name + "/" + tg.Model; got != tt.want[i] {
					t.Fatalf("target %d = %s, want %s", i, got, tt.want[i])
				}
			}
		})
	}
	if ms := r.Models(); len(ms) != 4 || ms[0].ID != "a/m1" || ms[3].ID != "b/shared" {
		t.Fatalf("models = %+v", ms)
	}
}

func TestDeliveredText(t *testing.T) {
	for chunk, want := range map[string]int64{
		`{"choices":[{"delta":{"content":"Bonjour"}}]}`:                                                7,
		`{"choices":[{"delta":{"reasoning_content":"hm"}},{"delta":{"content":"ab"}}]}`:                4,
		`{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"a\""}},{"function":{}}]}}]}`: 4,
		`{"choices":[],"usage":{"prompt_tokens":5}}`:                                                   0,
		`not json`: 0,
	} {
		if got := deliveredText([]byte(chunk)); got != want {
			t.Errorf("%s: %d, want %d", chunk, got, want)
		}
	}
}

// fakePlugin is a native stand-in for a provider plugin with a chosen auth
// scheme; it passes bodies through.
type fakePlugin struct{ auth string }

func (f fakePlugin) Manifest() abi.Manifest {
	return abi.Manifest{Name: "fake", Auth: f.auth, StreamFraming: abi.FramingSSE, APIs: []string{abi.APIChatCompletions}}
}
func (f fakePlugin) Request(_ context.Context, in *abi.RequestIn) (abi.RequestOut, error) {
	return abi.RequestOut{Method: "POST", Path: "/chat?x=1", Headers: []abi.Header{{Name: "Authorization", Value: "plugin-must-not-win"}}, Body: in.Body}, nil
}
func (f fakePlugin) Response(_ context.Context, in *abi.ResponseIn) (abi.ResponseOut, error) {
	return abi.ResponseOut{Body: in.Body, Usage: &abi.Usage{InputTokens: 3, OutputTokens: 4}}, nil
}
func (f fakePlugin) StreamEvent(_ context.Context, in *abi.StreamIn) (abi.StreamOut, error) {
	var out abi.StreamOut
	for _, ev := range in.Events {
		if string(ev.Data) == "[DONE]" {
			out.Flags |= abi.StreamDone
			break
		}
		out.Chunks = append(out.Chunks, ev.Data)
	}
	return out, nil
}

type sinkRecorder struct {
	body []byte
	err  *apierr.Error
}

func (s *sinkRecorder) WriteResponse(b []byte) error { s.body = b; return nil }
func (s *sinkRecorder) WriteChunk([]byte) error      { return nil }
func (s *sinkRecorder) WriteDone() error             { return nil }
func (s *sinkRecorder) Flush() error                 { return nil }
func (s *sinkRecorder) WriteError(e *apierr.Error)   { s.err = e }

type callLog struct {
	mu    sync.Mutex
	calls []store.Call
}

func (l *callLog) Record(c store.Call) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	return nil
}

func TestCredentialInjectionAndRotation(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	for _, tt := range []struct {
		auth  string
		check func(r *http.Request, secret string) bool
	}{
		{abi.AuthBearer, func(r *http.Request, s string) bool { return r.Header.Get("Authorization") == "Bearer "+s }},
		{"header:x-api-key", func(r *http.Request, s string) bool { return r.Header.Get("X-Api-Key") == s }},
		{"query:key", func(r *http.Request, s string) bool {
			return r.URL.Query().Get("key") == s && r.URL.Query().Get("x") == "1"
		}},
	} {
		t.Run(tt.auth, func(t *testing.T) {
			seen = nil
			p := &Provider{Name: "p", BaseURL: up.URL, Plugin: fakePlugin{auth: tt.auth}, Models: []string{"m"},
				Credentials: []Credential{{ID: 11, Name: "a", Secret: "s1"}, {ID: 12, Name: "b", Secret: "s2"}, {ID: 13, Name: "c", Secret: "s3"}}}
			log := &callLog{}
			e := NewEngine(NewRouter([]*Provider{p}), Options{Recorder: log})
			for i := range 6 {
				sink := &sinkRecorder{}
				e.Serve(context.Background(), &Call{RequestID: "r", API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`), Start: time.Now()}, sink)
				if sink.err != nil || string(sink.body) != `{"ok":true}` {
					t.Fatalf("call %d: %v %s", i, sink.err, sink.body)
				}
			}
			for i, r := range seen {
				secret := []string{"s1", "s2", "s3"}[i%3]
				if !tt.check(r, secret) {
					t.Fatalf("request %d did not carry %s as %s: %v %v", i, secret, tt.auth, r.Header, r.URL)
				}
			}
			for i, c := range log.calls {
				if c.CredentialID != int64(11+i%3) || c.PromptTokens != 3 || c.CompletionTokens != 4 || c.Status != store.CallOK {
					t.Fatalf("record %d = %+v", i, c)
				}
			}
		})
	}
}

func TestUnreachableUpstream(t *testing.T) {
	p := &Provider{Name: "p", BaseURL: "http://127.0.0.1:1", Plugin: fakePlugin{auth: abi.AuthBearer}, Models: []string{"m"}}
	log := &callLog{}
	e := NewEngine(NewRouter([]*Provider{p}), Options{Recorder: log})
	sink := &sinkRecorder{}
	e.Serve(context.Background(), &Call{API: abi.APIChatCompletions, Model: "m", Body: []byte(`{}`), Start: time.Now()}, sink)
	if sink.err == nil || sink.err.Status != 502 || len(log.calls) != 1 || log.calls[0].Status != store.CallError {
		t.Fatalf("err %v calls %+v", sink.err, log.calls)
	}
}

// After a stream's last event the engine reads the rest of the body (the
// chunked terminator), so the upstream connection is reused, not re-dialed.
func TestStreamReusesUpstreamConnection(t *testing.T) {
	var mu sync.Mutex
	conns := 0
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{"a", "b", "[DONE]"} {
			io.WriteString(w, "data: "+ev+"\n\n")
			w.(http.Flusher).Flush()
		}
		// The chunked terminator follows in its own segment, as it does
		// from a real server that flushes each event.
		time.Sleep(10 * time.Millisecond)
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	up.Start()
	defer up.Close()
	p := &Provider{Name: "p", BaseURL: up.URL, Plugin: fakePlugin{auth: abi.AuthNone}, Models: []string{"m"}}
	log := &callLog{}
	e := NewEngine(NewRouter([]*Provider{p}), Options{Recorder: log})
	for range 5 {
		e.Serve(context.Background(), &Call{API: abi.APIChatCompletions, Model: "m", Stream: true, Body: []byte(`{}`), Start: time.Now()}, &sinkRecorder{})
	}
	for i, c := range log.calls {
		if c.Status != store.CallOK {
			t.Fatalf("call %d: %+v", i, c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 1 {
		t.Fatalf("5 sequential streams opened %d upstream connections, want 1", conns)
	}
}
