package emulator_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

type modelList struct {
	Object string  `json:"object"`
	Data   []model `json:"data"`
}

type model struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func TestModels(t *testing.T) {
	tests := []struct {
		name string
		opts emulator.Options
		want []string
	}{
		{"default", emulator.Options{}, emulator.DefaultModels},
		{"configured", emulator.Options{Models: []string{"gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18:acme-corp::AbC123xY"}}, []string{"gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18:acme-corp::AbC123xY"}},
		{"empty", emulator.Options{Models: []string{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newServer(t, tt.opts)
			resp, got := send(t, srv, http.MethodGet, "/v1/models", nil)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if len(tt.want) > 0 {
				if g, w := shape(t, got), shape(t, testdata(t, "models.response.json")); g != w {
					t.Errorf("shape %s, fixture %s", g, w)
				}
			}
			list := decodeJSON[modelList](t, got)
			var ids []string
			for _, m := range list.Data {
				ids = append(ids, m.ID)
				if m.Object != "model" || m.Created == 0 || m.OwnedBy == "" {
					t.Errorf("model %+v", m)
				}
			}
			if list.Object != "list" || !slices.Equal(ids, tt.want) {
				t.Errorf("listed %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestModelByID(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Models: []string{"gpt-4o"}})
	resp, got := send(t, srv, http.MethodGet, "/v1/models/gpt-4o", nil)
	if m := decodeJSON[model](t, got); resp.StatusCode != http.StatusOK || m.ID != "gpt-4o" || m.Object != "model" {
		t.Errorf("status %d: %s", resp.StatusCode, got)
	}
	resp, got = send(t, srv, http.MethodGet, "/v1/models/gpt-3", nil)
	if e := decodeJSON[apiErrorBody](t, got); resp.StatusCode != http.StatusNotFound || deref(e.Error.Code) != "model_not_found" {
		t.Errorf("status %d: %s", resp.StatusCode, got)
	}
}
