package server

import (
	"strings"
	"testing"

	"github.com/aignehub/hub/host/apierr"
)

func TestParseEmbeddings(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"string", `{"model":"m","input":"hi"}`, ""},
		{"strings", `{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":8}`, ""},
		{"tokens", `{"model":"m","input":[1,2,3]}`, ""},
		{"token arrays", `{"model":"m","input":[[1,2],[3]]}`, ""},
		{"no model", `{"input":"x"}`, "model"},
		{"no input", `{"model":"m"}`, "input"},
		{"empty input", `{"model":"m","input":""}`, "input"},
		{"empty array", `{"model":"m","input":[]}`, "input"},
		{"empty item", `{"model":"m","input":["a",""]}`, "input[1]"},
		{"object item", `{"model":"m","input":[{}]}`, "input[0]"},
		{"float token", `{"model":"m","input":[1.5]}`, "input[0]"},
		{"object input", `{"model":"m","input":{}}`, "input"},
		{"bad format", `{"model":"m","input":"x","encoding_format":"int8"}`, "encoding_format"},
		{"bad dimensions", `{"model":"m","input":"x","dimensions":0}`, "dimensions"},
		{"duplicate", `{"model":"m","input":"x","input":"y"}`, "input"},
	}
	for _, tt := range tests {
		req, err := parseEmbeddings([]byte(tt.body))
		switch {
		case tt.param == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err.Message)
		case tt.param == "" && req.model != "m":
			t.Errorf("%s: model %q", tt.name, req.model)
		case tt.param != "" && (err == nil || err.Param != tt.param || err.Status != 400):
			t.Errorf("%s: error %+v, want param %s", tt.name, err, tt.param)
		}
	}
	big := `{"model":"m","input":[` + strings.Repeat(`"x",`, maxEmbeddingInputs) + `"x"]}`
	if _, err := parseEmbeddings([]byte(big)); err == nil || err.Param != "input" {
		t.Fatalf("too many inputs: %+v", err)
	}
}

func TestParseImages(t *testing.T) {
	tests := []struct{ name, body, param string }{
		{"ok", `{"model":"dall-e-3","prompt":"a cat","n":1,"size":"1024x1024","response_format":"b64_json"}`, ""},
		{"no prompt", `{"model":"m"}`, "prompt"},
		{"empty prompt", `{"model":"m","prompt":""}`, "prompt"},
		{"n zero", `{"model":"m","prompt":"p","n":0}`, "n"},
		{"n eleven", `{"model":"m","prompt":"p","n":11}`, "n"},
		{"n float", `{"model":"m","prompt":"p","n":1.5}`, "n"},
		{"bad format", `{"model":"m","prompt":"p","response_format":"png"}`, "response_format"},
		{"size number", `{"model":"m","prompt":"p","size":1024}`, "size"},
		{"stream", `{"model":"m","prompt":"p","stream":true}`, "stream"},
	}
	for _, tt := range tests {
		_, err := parseImages([]byte(tt.body))
		if tt.param == "" && err != nil || tt.param != "" && (err == nil || err.Param != tt.param) {
			t.Errorf("%s: error %+v, want param %q", tt.name, err, tt.param)
		}
	}
}

func FuzzParseEmbeddings(f *testing.F) {
	f.Add(`{"model":"m","input":["a",[1,2]]}`)
	f.Add(`{"model":"m","prompt":"p","n":3}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, parse := range []func([]byte) (chatRequest, *apierr.Error){parseEmbeddings, parseImages} {
			req, err := parse([]byte(body))
			if err == nil && req.model == "" {
				t.Fatalf("accepted %q without a model", body)
			}
			if err != nil && err.Status != 400 {
				t.Fatalf("%q: status %d", body, err.Status)
			}
		}
	})
}
