package emulator_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/emulator"
)

// checkPNG fetches an image URL the emulator handed out (or decodes a
// base64 image) and checks it is a PNG.
func checkPNG(t testing.TB, srv *httptest.Server, url, b64 string) {
	t.Helper()
	var raw []byte
	if url != "" {
		if !strings.HasPrefix(url, srv.URL+"/emulator/images/") || !strings.HasSuffix(url, ".png") {
			t.Fatalf("url %q", url)
		}
		resp, err := srv.Client().Get(url)
		if err != nil {
			t.Fatal(err)
		}
		raw = readAll(t, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %s: %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	} else {
		var err error
		if raw, err = base64.StdEncoding.DecodeString(b64); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Errorf("not a PNG: %v", err)
	}
}

func images(t testing.TB, srv *httptest.Server, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, srv, http.MethodPost, "/v1/images/generations", []byte(body), headers...)
}

func TestImagesOpenAI(t *testing.T) {
	_, srv := newServer(t, emulator.Options{Created: 1713833628})
	t.Run("gpt-image", func(t *testing.T) {
		_, got := images(t, srv, string(testdata(t, "images-generations.request.json")))
		comparePaths(t, "gpt-image", got, testdata(t, "images-generations.response.json"))
		if num(t, got, "usage.output_tokens") != 272 || num(t, got, "usage.total_tokens") != num(t, got, "usage.input_tokens")+272 || str(t, got, "quality") != "low" || num(t, got, "created") != 1713833628 {
			t.Errorf("answer %s", got)
		}
		checkPNG(t, srv, "", str(t, got, "data.0.b64_json"))
	})
	t.Run("dall-e-3", func(t *testing.T) {
		_, got := images(t, srv, string(testdata(t, "images-generations-dall-e-3.request.json")))
		comparePaths(t, "dall-e-3", got, testdata(t, "images-generations-dall-e-3.response.json"))
		checkPNG(t, srv, str(t, got, "data.0.url"), "")
	})
	t.Run("dall-e-2 b64", func(t *testing.T) {
		_, got := images(t, srv, `{"prompt":"x","n":3,"response_format":"b64_json","size":"256x256"}`)
		if len(field(t, got, "data").([]any)) != 3 || field(t, got, "data.0.revised_prompt") != nil || field(t, got, "usage") != nil {
			t.Errorf("answer %s", got)
		}
		checkPNG(t, srv, "", str(t, got, "data.2.b64_json"))
	})
	t.Run("doubao", func(t *testing.T) {
		_, got := images(t, srv, `{"model":"doubao-seedream-4-0-250828","prompt":"x","size":"2K","response_format":"url"}`)
		if str(t, got, "model") != "doubao-seedream-4-0-250828" || str(t, got, "data.0.size") != "2048x2048" || num(t, got, "usage.generated_images") != 1 {
			t.Errorf("answer %s", got)
		}
		checkPNG(t, srv, str(t, got, "data.0.url"), "")
	})
	t.Run("grok", func(t *testing.T) {
		_, got := images(t, srv, `{"model":"grok-2-image","prompt":"a cat","n":2}`)
		if n := len(field(t, got, "data").([]any)); n != 2 || !strings.Contains(str(t, got, "data.1.revised_prompt"), "a cat") {
			t.Errorf("answer %s", got)
		}
	})
	for _, tt := range []struct{ body, param string }{
		{`{"model":"gpt-image-1"}`, "prompt"},
		{`{"model":"gpt-image-1","prompt":"x","response_format":"url"}`, "response_format"},
		{`{"model":"gpt-image-1","prompt":"x","size":"256x256"}`, "size"},
		{`{"model":"dall-e-3","prompt":"x","n":2}`, "n"},
		{`{"model":"dall-e-2","prompt":"x","n":0}`, "n"},
		{`{"model":"dall-e-2","prompt":"x","n":11}`, "n"},
		{`{"model":"dall-e-2","prompt":"x","response_format":"gif"}`, "response_format"},
		{`{"model":"doubao-seedream-4-0","prompt":"x","size":"huge"}`, "size"},
		{`{"model":"dall-e-2","prompt":5}`, "prompt"},
	} {
		resp, got := images(t, srv, tt.body)
		e := decodeJSON[apiErrorBody](t, got)
		if resp.StatusCode != 400 || e.Error.Type != "invalid_request_error" || deref(e.Error.Param) != tt.param {
			t.Errorf("%s: %d %s", tt.body, resp.StatusCode, got)
		}
	}
	resp, got := images(t, srv, `{"model":"unknown-image","prompt":"x"}`)
	if resp.StatusCode != 404 {
		t.Errorf("unknown model: %d %s", resp.StatusCode, got)
	}
	resp, got = images(t, srv, `{"prompt":"x"}`, "Authorization", "")
	if resp.StatusCode != 401 || !bytes.Equal(got, testdata(t, "error-401-invalid-api-key.response.json")) {
		t.Errorf("no key: %d %s", resp.StatusCode, got)
	}
	// Downloads need no key and ignore a forced status.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/emulator/images/img-x.png", nil)
	req.Header.Set(emulator.HeaderStatus, "500")
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("download: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// ideogramForm builds a multipart/form-data body of fields.
func ideogramForm(t testing.TB, fields ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, _ := w.CreateFormFile("style_reference_images", "ref.png")
	fw.Write([]byte("\x89PNG fake"))
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func ideogram(t testing.TB, srv *httptest.Server, headers []string, fields ...string) (*http.Response, []byte) {
	t.Helper()
	body, ct := ideogramForm(t, fields...)
	return send(t, srv, http.MethodPost, "/v1/ideogram-v3/generate", body, append([]string{"Authorization", "", "Api-Key", testKey, "Content-Type", ct}, headers...)...)
}

func TestIdeogram(t *testing.T) {
	_, srv := newServer(t, emulator.Options{APIKey: testKey, Created: 1743867804})
	resp, got := ideogram(t, srv, nil, "prompt", "a lighthouse", "num_images", "2", "aspect_ratio", "16x9", "rendering_speed", "TURBO",
		"style_type", "REALISTIC", "negative_prompt", "fog", "seed", "12345", "magic_prompt", "OFF")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if !slices.Equal(sortedKeys(t, got), []string{"created", "data"}) {
		t.Errorf("keys %v", sortedKeys(t, got))
	}
	if _, err := time.Parse(time.RFC3339, str(t, got, "created")); err != nil || str(t, got, "created") != "2025-04-05T15:43:24Z" {
		t.Errorf("created %q: %v", str(t, got, "created"), err)
	}
	data := field(t, got, "data").([]any)
	if len(data) != 2 {
		t.Fatalf("%d images", len(data))
	}
	if str(t, got, "data.0.prompt") != "a lighthouse" || str(t, got, "data.0.resolution") != "1312x736" || field(t, got, "data.0.is_image_safe") != true ||
		num(t, got, "data.0.seed") != 12345 || num(t, got, "data.1.seed") != 12346 || str(t, got, "data.0.style_type") != "REALISTIC" {
		t.Errorf("answer %s", got)
	}
	if u := str(t, got, "data.0.url"); !strings.Contains(u, "/ephemeral/") {
		t.Errorf("url %q", u)
	}
	checkPNG(t, srv, str(t, got, "data.1.url"), "")

	_, got = ideogram(t, srv, nil, "prompt", "x")
	if len(field(t, got, "data").([]any)) != 1 || str(t, got, "data.0.resolution") != "1024x1024" || str(t, got, "data.0.style_type") != "GENERAL" {
		t.Errorf("defaults %s", got)
	}

	for _, tt := range []struct {
		name    string
		headers []string
		fields  []string
		status  int
	}{
		{"no prompt", nil, []string{"num_images", "1"}, 400},
		{"too many images", nil, []string{"prompt", "x", "num_images", "9"}, 400},
		{"bad aspect ratio", nil, []string{"prompt", "x", "aspect_ratio", "16:9"}, 400},
		{"bad speed", nil, []string{"prompt", "x", "rendering_speed", "FAST"}, 400},
		{"bad style", nil, []string{"prompt", "x", "style_type", "ANIME"}, 400},
		{"bad seed", nil, []string{"prompt", "x", "seed", "-1"}, 400},
		{"unsafe", nil, []string{"prompt", "BLOCKME please"}, 422},
		{"no key", []string{"Api-Key", ""}, []string{"prompt", "x"}, 401},
		{"wrong key", []string{"Api-Key", "wrong"}, []string{"prompt", "x"}, 401},
		{"bearer is not a key", []string{"Api-Key", "", "Authorization", "Bearer " + testKey}, []string{"prompt", "x"}, 401},
		{"forced 429", []string{emulator.HeaderStatus, "429", emulator.HeaderRetryAfter, "5"}, []string{"prompt", "x"}, 429},
		{"forced 500", []string{emulator.HeaderStatus, "500"}, []string{"prompt", "x"}, 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := ideogram(t, srv, tt.headers, tt.fields...)
			if resp.StatusCode != tt.status || !slices.Equal(sortedKeys(t, got), []string{"error"}) || str(t, got, "error") == "" {
				t.Errorf("status %d: %s", resp.StatusCode, got)
			}
			if tt.status == 429 && resp.Header.Get("Retry-After") != "5" {
				t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		})
	}
	resp, got = send(t, srv, http.MethodPost, "/v1/ideogram-v3/generate", []byte(`{"prompt":"x"}`), "Authorization", "", "Api-Key", testKey)
	if resp.StatusCode != 400 || !strings.Contains(str(t, got, "error"), "multipart") {
		t.Errorf("JSON body: %d %s", resp.StatusCode, got)
	}
}
