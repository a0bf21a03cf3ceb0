package emulator_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

func TestAuth(t *testing.T) {
	fixture := testdata(t, "error-401-invalid-api-key.response.json")
	tests := []struct {
		name  string
		opts  emulator.Options
		auth  string // "" sends no Authorization
		paths []string
		ok    bool
	}{
		{"no header", emulator.Options{}, "", nil, false},
		{"empty bearer", emulator.Options{}, "Bearer ", nil, false},
		{"blank bearer", emulator.Options{}, "Bearer    ", nil, false},
		{"basic scheme", emulator.Options{}, "Basic dXNlcjpwYXNz", nil, false},
		{"any bearer", emulator.Options{}, "Bearer anything", nil, true},
		{"lowercase scheme", emulator.Options{}, "bearer anything", nil, true},
		{"configured key", emulator.Options{APIKey: "sk-right"}, "Bearer sk-right", nil, true},
		{"wrong key", emulator.Options{APIKey: "sk-right"}, "Bearer sk-wrong", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			for _, ep := range []struct {
				method, path string
				body         []byte
			}{
				{http.MethodPost, "/v1/chat/completions", []byte(userRequest("gpt-4o", "hi", false))},
				{http.MethodPost, "/v1/embeddings", testdata(t, "embeddings-float.request.json")},
				{http.MethodGet, "/v1/models", nil},
			} {
				resp, got := send(t, srv, ep.method, ep.path, ep.body, "Authorization", tt.auth)
				if tt.ok {
					if resp.StatusCode != http.StatusOK {
						t.Errorf("%s: status %d: %s", ep.path, resp.StatusCode, got)
					}
					continue
				}
				if resp.StatusCode != http.StatusUnauthorized || !bytes.Equal(got, fixture) {
					t.Errorf("%s: status %d, body:\n%s", ep.path, resp.StatusCode, got)
				}
				if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("%s: Content-Type = %q", ep.path, ct)
				}
			}
		})
	}
}
