package emulator_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

// provider is one dialect as the cross-provider switch tests use it.
type provider struct {
	name string
	// request builds an authorized request carrying the header pairs.
	request func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request
	// streams reports whether the provider has a stream to test.
	streams bool
	// checkError checks an error body of the provider's shape.
	checkError func(t testing.TB, resp *http.Response, body []byte, status int)
}

// newRequest builds a request like sendRaw does, without sending it.
func newRequest(t testing.TB, srv *httptest.Server, method, path string, body []byte, headers ...string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return req
}

func streamFlag(t testing.TB, body []byte, stream bool) []byte {
	return editJSON(t, body, func(m map[string]any) { m["stream"] = stream })
}

var providers = []provider{
	{
		name:    "openai",
		streams: true,
		request: func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request {
			return newRequest(t, srv, http.MethodPost, "/v1/chat/completions", []byte(userRequest("gpt-4o", "hi", stream)), headers...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if e := decodeJSON[apiErrorBody](t, body); e.Error.Type == "" || e.Error.Message == "" {
				t.Errorf("openai error %s", body)
			}
		},
	},
	{
		name:    "anthropic",
		streams: true,
		request: func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request {
			body := streamFlag(t, testdata(t, "anthropic/messages-stream-text.request.json"), stream)
			return newRequest(t, srv, http.MethodPost, "/v1/messages", body, append(slices.Clone(anthropicAuth), headers...)...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if str(t, body, "type") != "error" || str(t, body, "error.type") == "" || !strings.HasPrefix(str(t, body, "request_id"), "req_") {
				t.Errorf("anthropic error %s", body)
			}
		},
	},
	{
		name:    "gemini",
		streams: true,
		request: func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request {
			method := "generateContent"
			if stream {
				method = "streamGenerateContent?alt=sse"
			}
			return newRequest(t, srv, http.MethodPost, "/v1beta/models/gemini-2.5-flash:"+method, testdata(t, "gemini/streamGenerateContent.request.json"), append(slices.Clone(geminiAuth), headers...)...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if num(t, body, "error.code") != status || str(t, body, "error.status") == "" || str(t, body, "error.message") == "" {
				t.Errorf("gemini error %s", body)
			}
		},
	},
	{
		name:    "ollama",
		streams: true,
		request: func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request {
			body := streamFlag(t, testdata(t, "ollama/chat-stream.request.json"), stream)
			return newRequest(t, srv, http.MethodPost, "/api/chat", body, append([]string{"Authorization", ""}, headers...)...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if !slices.Equal(sortedKeys(t, body), []string{"error"}) {
				t.Errorf("ollama error %s", body)
			}
		},
	},
	{
		name:    "bedrock",
		streams: true,
		request: func(t testing.TB, srv *httptest.Server, stream bool, headers ...string) *http.Request {
			c := bedrockCall{headers: headers}
			if stream {
				c.action = "converse-stream"
			}
			return c.request(t, srv)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if !slices.Equal(sortedKeys(t, body), []string{"message"}) || resp.Header.Get("X-Amzn-Errortype") == "" {
				t.Errorf("bedrock error %s", body)
			}
		},
	},
	{
		name: "images",
		request: func(t testing.TB, srv *httptest.Server, _ bool, headers ...string) *http.Request {
			return newRequest(t, srv, http.MethodPost, "/v1/images/generations", testdata(t, "images-generations.request.json"), headers...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if e := decodeJSON[apiErrorBody](t, body); e.Error.Type == "" {
				t.Errorf("images error %s", body)
			}
		},
	},
	{
		name: "ideogram",
		request: func(t testing.TB, srv *httptest.Server, _ bool, headers ...string) *http.Request {
			body, ct := ideogramForm(t, "prompt", "a lighthouse")
			return newRequest(t, srv, http.MethodPost, "/v1/ideogram-v3/generate", body, append([]string{"Authorization", "", "Api-Key", testKey, "Content-Type", ct}, headers...)...)
		},
		checkError: func(t testing.TB, resp *http.Response, body []byte, status int) {
			if !slices.Equal(sortedKeys(t, body), []string{"error"}) {
				t.Errorf("ideogram error %s", body)
			}
		},
	},
}

func doRequest(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestEveryProviderForcedStatus(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, p := range providers {
		for _, status := range []int{400, 404, 429, 500, 503} {
			t.Run(p.name+"/"+strconv.Itoa(status), func(t *testing.T) {
				resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false, emulator.HeaderStatus, strconv.Itoa(status), emulator.HeaderRetryAfter, "2"))
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != status || resp.Header.Get("Retry-After") != "2" {
					t.Fatalf("status %d, Retry-After %q: %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
				}
				p.checkError(t, resp, body, status)
			})
		}
	}
	// Options.Status applies to every provider too.
	_, srv = newServer(t, emulator.Options{Status: 503})
	for _, p := range providers {
		resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false))
		if err != nil || resp.StatusCode != 503 {
			t.Errorf("%s: %v %v %s", p.name, resp, err, body)
			continue
		}
		p.checkError(t, resp, body, 503)
	}
}

func TestEveryProviderBadSwitch(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, p := range providers {
		for _, h := range [][]string{{emulator.HeaderCached, "-1"}, {emulator.HeaderReasoningField, "thoughts"}, {emulator.HeaderFailAfter, "x"}} {
			resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false, h...))
			if err != nil || resp.StatusCode != 400 {
				t.Errorf("%s %s: %v %v %s", p.name, h[0], resp, err, body)
				continue
			}
			p.checkError(t, resp, body, 400)
			if !strings.Contains(string(body), h[0]) {
				t.Errorf("%s: the error does not name %s: %s", p.name, h[0], body)
			}
		}
	}
}

func TestEveryProviderLatencyAndHang(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false, emulator.HeaderLatency, "40"))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("latency: %v %v %s", resp, err, body)
			}
			if d := time.Since(start); d < 40*time.Millisecond {
				t.Errorf("answered after %v", d)
			}
			client := *srv.Client()
			client.Timeout = 60 * time.Millisecond
			_, _, err = doRequest(t, &client, p.request(t, srv, false, emulator.HeaderHang, "1"))
			var netErr net.Error
			if !errors.As(err, &netErr) || !netErr.Timeout() {
				t.Errorf("hang: error %v, want a timeout", err)
			}
		})
	}
}

func TestEveryProviderStreamPaceAndChunks(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, p := range providers {
		if !p.streams {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			resp, short, err := doRequest(t, srv.Client(), p.request(t, srv, true, emulator.HeaderChunks, "3", emulator.HeaderPace, "15"))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v %s", resp, err, short)
			}
			// Every stream has at least 3 events with three chunks: 2 gaps.
			if d := time.Since(start); d < 30*time.Millisecond {
				t.Errorf("paced stream took %v", d)
			}
			_, long, err := doRequest(t, srv.Client(), p.request(t, srv, true, emulator.HeaderChunks, "8"))
			if err != nil || len(long) <= len(short) {
				t.Errorf("8 chunks (%d bytes) not longer than 3 (%d bytes): %v", len(long), len(short), err)
			}
		})
	}
}

func TestEveryProviderNonStreamFailAfter(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	for _, p := range providers {
		resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false, emulator.HeaderFailAfter, "1"))
		if !errors.Is(err, io.ErrUnexpectedEOF) || resp.StatusCode != 200 || int64(len(body)) >= resp.ContentLength {
			t.Errorf("%s: read %d of %d bytes, error %v; want a truncated body", p.name, len(body), resp.ContentLength, err)
		}
	}
}

func TestEveryProviderRecorded(t *testing.T) {
	emu, srv := newServer(t, emulator.Options{Record: true})
	for _, p := range providers {
		if resp, body, err := doRequest(t, srv.Client(), p.request(t, srv, false)); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v %s", p.name, resp, err, body)
		}
	}
	send(t, srv, http.MethodPost, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=k", testdata(t, "gemini/streamGenerateContent.request.json"), "Authorization", "")
	rr := emu.Requests()
	if len(rr) != len(providers)+1 {
		t.Fatalf("%d requests recorded", len(rr))
	}
	for i, want := range []struct{ path, header string }{
		{"/v1/chat/completions", "Authorization"},
		{"/v1/messages", "X-Api-Key"},
		{"/v1beta/models/gemini-2.5-flash:generateContent", "X-Goog-Api-Key"},
		{"/api/chat", "Content-Type"},
		{"/model/" + haiku + "/converse", "X-Amz-Date"},
		{"/v1/images/generations", "Authorization"},
		{"/v1/ideogram-v3/generate", "Api-Key"},
	} {
		if rr[i].Path != want.path || rr[i].Header.Get(want.header) == "" || len(rr[i].Body) == 0 {
			t.Errorf("request %d: %s %v", i, rr[i].Path, rr[i].Header)
		}
	}
	if last := rr[len(rr)-1]; last.Query != "alt=sse&key=k" || last.RawPath != last.Path {
		t.Errorf("gemini query %q, raw path %q", last.Query, last.RawPath)
	}
}
