package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

func TestForcedStatus(t *testing.T) {
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
		fixture    string // byte-equal body; "" to check type/code only
		wantType   string
		wantCode   string
		wantCT     string
		retryAfter string
	}{
		{"400", []string{emulator.HeaderStatus, "400"}, 400, "error-400-context-length-exceeded.response.json", "invalid_request_error", "context_length_exceeded", "application/json", ""},
		{"401", []string{emulator.HeaderStatus, "401"}, 401, "error-401-invalid-api-key.response.json", "invalid_request_error", "invalid_api_key", "application/json; charset=utf-8", ""},
		{"404", []string{emulator.HeaderStatus, "404"}, 404, "", "invalid_request_error", "model_not_found", "application/json; charset=utf-8", ""},
		{"429", []string{emulator.HeaderStatus, "429", emulator.HeaderRetryAfter, "2"}, 429, "error-429-rate-limit-exceeded.response.json", "tokens", "rate_limit_exceeded", "application/json; charset=utf-8", "2"},
		{"429 quota", []string{emulator.HeaderStatus, "429", emulator.HeaderQuota, "1"}, 429, "error-429-insufficient-quota.response.json", "insufficient_quota", "insufficient_quota", "application/json; charset=utf-8", ""},
		{"500", []string{emulator.HeaderStatus, "500"}, 500, "", "server_error", "", "application/json", ""},
		{"503 with retry", []string{emulator.HeaderStatus, "503", emulator.HeaderRetryAfter, "7"}, 503, "", "server_error", "", "application/json", "7"},
		{"418 generic", []string{emulator.HeaderStatus, "418"}, 418, "", "invalid_request_error", "", "application/json", ""},
		{"200 is normal", []string{emulator.HeaderStatus, "200"}, 200, "", "", "", "application/json", ""},
	}
	_, srv := newServer(t, emulator.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := chat(t, srv, userRequest("gpt-4o-mini", "hi", false), tt.headers...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != tt.wantCT {
				t.Errorf("Content-Type = %q, want %q", ct, tt.wantCT)
			}
			if ra := resp.Header.Get("Retry-After"); ra != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", ra, tt.retryAfter)
			}
			if tt.wantStatus == 200 {
				return
			}
			if tt.fixture != "" && !bytes.Equal(got, testdata(t, tt.fixture)) {
				t.Errorf("body differs from %s:\n%s", tt.fixture, got)
			}
			e := decodeJSON[apiErrorBody](t, got)
			if e.Error.Type != tt.wantType || deref(e.Error.Code) != tt.wantCode || e.Error.Message == "" {
				t.Errorf("error = %+v", e.Error)
			}
			if tt.wantStatus == 404 && !strings.Contains(e.Error.Message, "`gpt-4o-mini`") {
				t.Errorf("404 does not quote the request's model: %s", e.Error.Message)
			}
		})
	}
}

func TestForcedStatusOnEveryEndpoint(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, path := range []string{"/v1/models", "/v1/embeddings"} {
		method, body := http.MethodGet, []byte(nil)
		if path == "/v1/embeddings" {
			method, body = http.MethodPost, testdata(t, "embeddings-float.request.json")
		}
		resp, got := send(t, srv, method, path, body, emulator.HeaderStatus, "503")
		if resp.StatusCode != 503 {
			t.Errorf("%s: status %d: %s", path, resp.StatusCode, got)
		}
	}
}

func TestOptionsSwitches(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Status: 429, RetryAfter: 1500 * time.Millisecond, InsufficientQuota: true})
	resp, got := chat(t, srv, userRequest("gpt-4o", "hi", false))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || !bytes.Equal(got, testdata(t, "error-429-insufficient-quota.response.json")) {
		t.Errorf("status %d, Retry-After %q, body:\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), got)
	}
	// A header overrides the instance default.
	resp, _ = chat(t, srv, userRequest("gpt-4o", "hi", false), emulator.HeaderStatus, "200")
	if resp.StatusCode != 200 {
		t.Errorf("header did not override Options.Status: %d", resp.StatusCode)
	}
}

func TestBadSwitchHeader(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, h := range [][]string{
		{emulator.HeaderLatency, "soon"},
		{emulator.HeaderLatency, "-5ms"},
		{emulator.HeaderPace, "x"},
		{emulator.HeaderChunks, "-1"},
		{emulator.HeaderStatus, "302"},
		{emulator.HeaderRetryAfter, "later"},
		{emulator.HeaderQuota, "maybe"},
		{emulator.HeaderFailAfter, "-2"},
		{emulator.HeaderHang, "forever"},
	} {
		resp, got := chat(t, srv, userRequest("gpt-4o", "hi", false), h...)
		e := decodeJSON[apiErrorBody](t, got)
		if resp.StatusCode != 400 || deref(e.Error.Param) != h[0] {
			t.Errorf("%s: %s: status %d, %s", h[0], h[1], resp.StatusCode, got)
		}
	}
}

func TestLatency(t *testing.T) {
	tests := []struct {
		name    string
		opts    emulator.Options
		headers []string
		min     time.Duration
	}{
		{"header", emulator.Options{}, []string{emulator.HeaderLatency, "60ms"}, 60 * time.Millisecond},
		{"header in bare ms", emulator.Options{}, []string{emulator.HeaderLatency, "40"}, 40 * time.Millisecond},
		{"option", emulator.Options{Latency: 50 * time.Millisecond}, nil, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			start := time.Now()
			resp, err := sendRaw(srv, http.MethodPost, "/v1/chat/completions", []byte(userRequest("gpt-4o", "hi", true)), tt.headers...)
			if err != nil {
				t.Fatal(err)
			}
			headersAt := time.Since(start)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if headersAt < tt.min {
				t.Errorf("headers after %v, want >= %v", headersAt, tt.min)
			}
		})
	}
}

func TestPace(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	start := time.Now()
	_, got := chat(t, srv, userRequest("gpt-4o", "hi", true), emulator.HeaderChunks, "4", emulator.HeaderPace, "15ms")
	elapsed := time.Since(start)
	events := sseEvents(t, got)
	if want := time.Duration(len(events)-1) * 15 * time.Millisecond; elapsed < want { // a gap between two events
		t.Errorf("%d events in %v, want >= %v", len(events), elapsed, want)
	}
}

func TestChunksHeader(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	_, got := chat(t, srv, userRequest("gpt-4o", "hi", false), emulator.HeaderChunks, "20")
	r := decodeJSON[chatResponse](t, got)
	if n := len(strings.Fields(*r.Choices[0].Message.Content)); n != 20 || r.Usage.CompletionTokens != 20 {
		t.Errorf("%d words, completion_tokens %d, want 20", n, r.Usage.CompletionTokens)
	}
}

func TestFailAfterStream(t *testing.T) {
	tests := []struct {
		name      string
		opts      emulator.Options
		failAfter string
		want      int // complete events before the cut
	}{
		{"after 3", emulator.Options{}, "3", 3},
		{"after 0", emulator.Options{}, "0", 0},
		{"after more than the stream", emulator.Options{}, "100", 8}, // role + 5 + finish + usage
		{"option", emulator.Options{FailAfter: 2}, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`
			resp, err := sendRaw(srv, http.MethodPost, "/v1/chat/completions", []byte(body), emulator.HeaderFailAfter, tt.failAfter)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("read error = %v, want unexpected EOF", err)
			}
			events := sseData(t, got)
			if len(events) != tt.want {
				t.Errorf("%d events before the cut, want %d:\n%s", len(events), tt.want, got)
			}
			if bytes.Contains(got, []byte("[DONE]")) {
				t.Errorf("a cut stream sent [DONE]")
			}
		})
	}
}

func TestFailAfterNonStream(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	resp, err := sendRaw(srv, http.MethodPost, "/v1/chat/completions", []byte(userRequest("gpt-4o", "hi", false)), emulator.HeaderFailAfter, "1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || int64(len(got)) >= resp.ContentLength {
		t.Errorf("read %d of %d bytes, error %v; want a truncated body", len(got), resp.ContentLength, err)
	}
}

func TestHang(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	client := srv.Client()
	client.Timeout = 100 * time.Millisecond
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(userRequest("gpt-4o", "hi", false)))
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set(emulator.HeaderHang, "1")
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a hung request got a response: %d", resp.StatusCode)
	}
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("error = %v, want a timeout", err)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("gave up after %v", elapsed)
	}
}

func TestHangContextCancel(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/models", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	if resp, err := srv.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("error = %v, want context deadline exceeded", err)
	}
}

// TestCloseReleasesHang checks Close cuts hung requests, so a server's
// shutdown need not wait for them.
func TestCloseReleasesHang(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{})
	errc := make(chan error, 1)
	go func() {
		resp, err := sendRaw(srv, http.MethodPost, "/v1/chat/completions", []byte(userRequest("gpt-4o", "hi", false)), emulator.HeaderHang, "1")
		if err == nil {
			resp.Body.Close()
			err = errors.New("status " + strconv.Itoa(resp.StatusCode))
		}
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the request arrive
	emu.Close()
	select {
	case err := <-errc:
		if err == nil || strings.HasPrefix(err.Error(), "status") {
			t.Errorf("hung request ended with %v, want a broken connection", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not release the hung request")
	}
}

// TestFailAfterRawFraming reads a cut stream off the wire: the last chunk
// of the chunked encoding never comes.
func TestFailAfterRawFraming(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := userRequest("gpt-4o", "hi", true)
	io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nX-Emulator-Fail-After: 2\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(sseData(t, got)) != 2 {
		t.Errorf("read %q, %v", got, err)
	}
}
