package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aignehub/hub/plugins/internal/plugintest"
	"github.com/aignehub/hub/sdk/abi"
	"github.com/aignehub/hub/sdk/provider"
)

const name = "ideogram"

// both runs fn natively and as the wasm module, both with config cfg.
func both(t *testing.T, cfg string, fn func(t *testing.T, tg plugintest.Target)) {
	t.Helper()
	var raw []byte
	if cfg != "" {
		raw = []byte(cfg)
	}
	plugintest.Both(t, newPlugin(raw), name, raw, fn)
}

// parsedForm is an upstream request body read back with mime/multipart.
type parsedForm struct {
	boundary string
	fields   [][2]string // name, value, in order
}

// parseForm checks the request's framing and reads its multipart body,
// asserting that every part is a plain text form field.
func parseForm(t testing.TB, out abi.RequestOut) parsedForm {
	t.Helper()
	if out.Method != "POST" || out.Path != "/v1/ideogram-v3/generate" {
		t.Fatalf("method/path = %s %s", out.Method, out.Path)
	}
	var ct string
	for _, h := range out.Headers {
		switch h.Name {
		case "Content-Type":
			ct = h.Value
		case "Accept":
			if h.Value != "application/json" {
				t.Fatalf("Accept: %s", h.Value)
			}
		default:
			t.Fatalf("unexpected header %s: %s", h.Name, h.Value)
		}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", ct, err)
	}
	f := parsedForm{boundary: params["boundary"]}
	mr := multipart.NewReader(bytes.NewReader(out.Body), f.boundary)
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v\n%q", err, out.Body)
		}
		if part.FileName() != "" || part.Header.Get("Content-Type") != "" || len(part.Header) != 1 {
			t.Fatalf("part %q has headers %v", part.FormName(), part.Header)
		}
		v, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		f.fields = append(f.fields, [2]string{part.FormName(), string(v)})
	}
	if !bytes.HasSuffix(out.Body, []byte("--"+f.boundary+"--\r\n")) {
		t.Fatalf("body does not end with the closing boundary: %q", out.Body)
	}
	return f
}

func (f parsedForm) get(name string) (string, bool) {
	for _, kv := range f.fields {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

func (f parsedForm) json() []byte {
	b, _ := json.Marshal(f.fields)
	return b
}

func TestManifest(t *testing.T) {
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		m := tg.Manifest()
		if m.Name != "ideogram" || m.Kind != abi.KindProvider || m.ABI != abi.Version || m.Auth != "header:Api-Key" ||
			m.StreamFraming != "" || len(m.APIs) != 1 || m.APIs[0] != abi.APIImages {
			t.Fatalf("manifest %+v", m)
		}
	})
}

func TestRequestGolden(t *testing.T) {
	tests := []struct {
		file, model, reqID string
		wantBoundary       string
	}{
		{"generate", "ideogram-v3", "req_01HXYZ/abc 123", "hub-req_01HXYZabc123"},
		{"generate-extras", "V_3_TURBO", "", "hub-form"},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				in := &abi.RequestIn{API: abi.APIImages, Model: tt.model, RequestID: tt.reqID, Body: plugintest.Fixture(t, tt.file+".request.json"),
					Options: []byte("{}"), UnixMS: 1700000000999}
				out, err := tg.Request(in)
				if err != nil {
					t.Fatal(err)
				}
				f := parseForm(t, out)
				if f.boundary != tt.wantBoundary {
					t.Fatalf("boundary %q, want %q", f.boundary, tt.wantBoundary)
				}
				plugintest.JSONEqual(t, "multipart fields", f.json(), plugintest.Fixture(t, tt.file+".request.fields.json"))
				sec, _, ok := readState(out.State)
				if !ok || sec != 1700000000 || len(out.State) != stateLen {
					t.Fatalf("state %x", out.State)
				}
				again, _ := tg.Request(in)
				if !bytes.Equal(again.Body, out.Body) {
					t.Fatal("the same request gave a different body")
				}
			})
		}
	})
}

// TestRequestMapping checks each parameter mapping through the parts it
// produces.
func TestRequestMapping(t *testing.T) {
	tests := []struct {
		name, model, body, options string
		want                       map[string]string // "" means the part is absent
	}{
		{"defaults", "V_3", `{"model":"x","prompt":"p"}`, "",
			map[string]string{"prompt": "p", "num_images": "1", "magic_prompt": "AUTO", "aspect_ratio": "", "rendering_speed": "", "style_type": "", "seed": ""}},
		{"size 256", "v3", `{"prompt":"p","size":"256x256"}`, "", map[string]string{"aspect_ratio": "1x1"}},
		{"size 512", "v3", `{"prompt":"p","size":"512x512"}`, "", map[string]string{"aspect_ratio": "1x1"}},
		{"size 1024", "v3", `{"prompt":"p","size":"1024x1024"}`, "", map[string]string{"aspect_ratio": "1x1"}},
		{"size 1792x1024", "v3", `{"prompt":"p","size":"1792x1024"}`, "", map[string]string{"aspect_ratio": "16x9"}},
		{"size 1024x1792", "v3", `{"prompt":"p","size":"1024x1792"}`, "", map[string]string{"aspect_ratio": "9x16"}},
		{"size 1536x1024", "v3", `{"prompt":"p","size":"1536x1024"}`, "", map[string]string{"aspect_ratio": "3x2"}},
		{"size 1024x1536", "v3", `{"prompt":"p","size":"1024x1536"}`, "", map[string]string{"aspect_ratio": "2x3"}},
		{"size 1344x768", "v3", `{"prompt":"p","size":"1344x768"}`, "", map[string]string{"aspect_ratio": "16x9"}},
		{"size 1280x800", "v3", `{"prompt":"p","size":"1280x800"}`, "", map[string]string{"aspect_ratio": "16x10"}},
		{"size 1152x896", "v3", `{"prompt":"p","size":"1152x896"}`, "", map[string]string{"aspect_ratio": "5x4"}},
		{"size 896x1152", "v3", `{"prompt":"p","size":"896x1152"}`, "", map[string]string{"aspect_ratio": "4x5"}},
		{"size 1024x768", "v3", `{"prompt":"p","size":"1024x768"}`, "", map[string]string{"aspect_ratio": "4x3"}},
		{"size 2048x1024", "v3", `{"prompt":"p","size":"2048x1024"}`, "", map[string]string{"aspect_ratio": "2x1"}},
		{"size 512x1536", "v3", `{"prompt":"p","size":"512x1536"}`, "", map[string]string{"aspect_ratio": "1x3"}},
		{"size 3000x500", "v3", `{"prompt":"p","size":"3000x500"}`, "", map[string]string{"aspect_ratio": "3x1"}},
		{"size auto", "v3", `{"prompt":"p","size":"auto"}`, "", map[string]string{"aspect_ratio": ""}},
		{"resolution extra", "v3", `{"prompt":"p","size":"1024x1024","resolution":"1344x768"}`, "", map[string]string{"aspect_ratio": "", "resolution": "1344x768"}},
		{"quality low", "v3", `{"prompt":"p","quality":"low"}`, "", map[string]string{"rendering_speed": "TURBO"}},
		{"quality standard", "v3", `{"prompt":"p","quality":"standard"}`, "", map[string]string{"rendering_speed": "DEFAULT"}},
		{"quality medium", "v3", `{"prompt":"p","quality":"medium"}`, "", map[string]string{"rendering_speed": "DEFAULT"}},
		{"quality hd", "v3", `{"prompt":"p","quality":"hd"}`, "", map[string]string{"rendering_speed": "QUALITY"}},
		{"quality high", "v3", `{"prompt":"p","quality":"high"}`, "", map[string]string{"rendering_speed": "QUALITY"}},
		{"quality auto", "v3", `{"prompt":"p","quality":"auto"}`, "", map[string]string{"rendering_speed": ""}},
		{"client rendering_speed beats quality", "v3", `{"prompt":"p","quality":"hd","rendering_speed":"turbo"}`, "", map[string]string{"rendering_speed": "TURBO"}},
		{"model suffix beats client", "ideogram-3.0-quality", `{"prompt":"p","quality":"low","rendering_speed":"TURBO"}`, "", map[string]string{"rendering_speed": "QUALITY"}},
		{"options force speed", "ideogram-v3-quality", `{"prompt":"p","quality":"hd"}`, `{"rendering_speed":"flash"}`, map[string]string{"rendering_speed": "FLASH"}},
		{"options magic default", "v3", `{"prompt":"p"}`, `{"magic_prompt":"ON"}`, map[string]string{"magic_prompt": "ON"}},
		{"client magic beats default", "v3", `{"prompt":"p","magic_prompt":"off"}`, `{"magic_prompt":"ON"}`, map[string]string{"magic_prompt": "OFF"}},
		{"style vivid", "v3", `{"prompt":"p","style":"vivid"}`, "", map[string]string{"style_type": "GENERAL"}},
		{"style natural", "v3", `{"prompt":"p","style":"natural"}`, "", map[string]string{"style_type": "REALISTIC"}},
		{"style ideogram name", "v3", `{"prompt":"p","style":"Fiction"}`, "", map[string]string{"style_type": "FICTION"}},
		{"style_type extra beats style", "v3", `{"prompt":"p","style":"vivid","style_type":"auto"}`, "", map[string]string{"style_type": "AUTO"}},
		{"n 10", "v3", `{"prompt":"p","n":10}`, "", map[string]string{"num_images": "10"}},
		{"nulls are absent", "v3", `{"prompt":"p","n":null,"size":null,"quality":null,"style":null,"seed":null,"response_format":null}`, "",
			map[string]string{"num_images": "1", "aspect_ratio": "", "rendering_speed": "", "style_type": "", "seed": ""}},
		{"seed 0", "v3", `{"prompt":"p","seed":0}`, "", map[string]string{"seed": "0"}},
		{"b64_json allowed by option", "v3", `{"prompt":"p","response_format":"b64_json"}`, `{"url_for_b64_json":true}`, map[string]string{"prompt": "p"}},
		{"user ignored", "v3", `{"prompt":"p","user":"u","background":"opaque","output_format":"png"}`, "", map[string]string{"user": "", "background": "", "output_format": ""}},
		{"empty model", "", `{"prompt":"p"}`, "", map[string]string{"prompt": "p"}},
		{"unicode prompt", "v3", `{"prompt":"灯塔 \u2028 \"q\" \\ end\r\n"}`, "", map[string]string{"prompt": "灯塔 \u2028 \"q\" \\ end\r\n"}},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: tt.model, RequestID: "r1", Body: []byte(tt.body), Options: []byte(tt.options)})
				if err != nil {
					t.Fatal(err)
				}
				f := parseForm(t, out)
				for k, want := range tt.want {
					got, ok := f.get(k)
					if want == "" && ok || want != "" && got != want {
						t.Errorf("%s = %q (present %v), want %q; fields %s", k, got, ok, want, f.json())
					}
				}
			})
		}
	})
}

func TestConfigForcesSpeed(t *testing.T) {
	both(t, `{"rendering_speed":"TURBO","magic_prompt":"off","url_for_b64_json":true}`, func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "V_3_QUALITY", Body: []byte(`{"prompt":"p","quality":"hd","response_format":"b64_json"}`)})
		if err != nil {
			t.Fatal(err)
		}
		f := parseForm(t, out)
		if sp, _ := f.get("rendering_speed"); sp != "TURBO" {
			t.Fatalf("rendering_speed %q", sp)
		}
		if mp, _ := f.get("magic_prompt"); mp != "OFF" {
			t.Fatalf("magic_prompt %q", mp)
		}
		// Options override the config key by key: null unforces the speed.
		out, err = tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "V_3_QUALITY", Body: []byte(`{"prompt":"p"}`), Options: []byte(`{"rendering_speed":null}`)})
		if err != nil {
			t.Fatal(err)
		}
		if sp, _ := parseForm(t, out).get("rendering_speed"); sp != "QUALITY" {
			t.Fatalf("rendering_speed %q with the force removed", sp)
		}
	})
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []string{`[]`, `{"rendering_speed":"FAST"}`, `{"magic_prompt":true}`, `{"url_for_b64_json":"yes"}`} {
		both(t, cfg, func(t *testing.T, tg plugintest.Target) {
			_, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "v3", Body: []byte(`{"prompt":"p"}`)})
			if e := plugintest.ErrorOf(t, err); e.Status != 500 || e.Type != "plugin_config_error" {
				t.Fatalf("%s: %+v", cfg, e)
			}
		})
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		_, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "v3", Body: []byte(`{"prompt":"p"}`), Options: []byte(`{"magic_prompt":"SOMETIMES"}`)})
		if e := plugintest.ErrorOf(t, err); e.Status != 500 || e.Type != "plugin_config_error" || !strings.Contains(e.Message, "provider options") {
			t.Fatalf("%+v", e)
		}
	})
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, api, model, body string
		flags                  uint32
		status                 int
		param, code            string
	}{
		{"chat", abi.APIChatCompletions, "v3", `{"messages":[]}`, 0, 400, "", "unsupported_api"},
		{"embeddings", abi.APIEmbeddings, "v3", `{"input":"x"}`, 0, 400, "", "unsupported_api"},
		{"models", abi.APIModels, "v3", ``, 0, 400, "", "unsupported_api"},
		{"stream", abi.APIImages, "v3", `{"prompt":"p"}`, abi.FlagStream, 400, "stream", ""},
		{"v2 model", abi.APIImages, "V_2", `{"prompt":"p"}`, 0, 400, "model", "model_not_supported"},
		{"v4 model", abi.APIImages, "ideogram-v4", `{"prompt":"p"}`, 0, 400, "model", "model_not_supported"},
		{"dall-e", abi.APIImages, "dall-e-3", `{"prompt":"p"}`, 0, 400, "model", "model_not_supported"},
		{"unknown suffix", abi.APIImages, "V_3_FAST", `{"prompt":"p"}`, 0, 400, "model", "model_not_supported"},
		{"b64_json", abi.APIImages, "v3", `{"prompt":"p","response_format":"b64_json"}`, 0, 400, "response_format", "unsupported_value"},
		{"bad size", abi.APIImages, "v3", `{"prompt":"p","size":"large"}`, 0, 400, "size", ""},
		{"zero size", abi.APIImages, "v3", `{"prompt":"p","size":"0x1024"}`, 0, 400, "size", ""},
		{"size not string", abi.APIImages, "v3", `{"prompt":"p","size":1024}`, 0, 400, "size", ""},
		{"bad quality", abi.APIImages, "v3", `{"prompt":"p","quality":"ultra"}`, 0, 400, "quality", ""},
		{"bad quality under a model speed", abi.APIImages, "v3-turbo", `{"prompt":"p","quality":"ultra"}`, 0, 400, "quality", ""},
		{"bad size under aspect_ratio", abi.APIImages, "v3", `{"prompt":"p","size":"big","aspect_ratio":"1x1"}`, 0, 400, "size", ""},
		{"bad style under style_type", abi.APIImages, "v3", `{"prompt":"p","style":"anime","style_type":"AUTO"}`, 0, 400, "style", ""},
		{"bad style", abi.APIImages, "v3", `{"prompt":"p","style":"anime"}`, 0, 400, "style", ""},
		{"bad aspect ratio", abi.APIImages, "v3", `{"prompt":"p","aspect_ratio":"7:5"}`, 0, 400, "aspect_ratio", ""},
		{"resolution and aspect ratio", abi.APIImages, "v3", `{"prompt":"p","aspect_ratio":"1x1","resolution":"1024x1024"}`, 0, 400, "resolution", ""},
		{"bad resolution", abi.APIImages, "v3", `{"prompt":"p","resolution":"big"}`, 0, 400, "resolution", ""},
		{"n 0", abi.APIImages, "v3", `{"prompt":"p","n":0}`, 0, 400, "n", ""},
		{"n 11", abi.APIImages, "v3", `{"prompt":"p","n":11}`, 0, 400, "n", ""},
		{"n 1.5", abi.APIImages, "v3", `{"prompt":"p","n":1.5}`, 0, 400, "n", ""},
		{"seed negative", abi.APIImages, "v3", `{"prompt":"p","seed":-1}`, 0, 400, "seed", ""},
		{"seed string", abi.APIImages, "v3", `{"prompt":"p","seed":"1"}`, 0, 400, "seed", ""},
		{"no prompt", abi.APIImages, "v3", `{"n":1}`, 0, 400, "prompt", ""},
		{"not an object", abi.APIImages, "v3", `[1]`, 0, 400, "", ""},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := tg.Request(&abi.RequestIn{API: tt.api, Model: tt.model, Flags: tt.flags, Body: []byte(tt.body)})
				e := plugintest.ErrorOf(t, err)
				if e.Status != tt.status || e.Type != "invalid_request_error" || e.Param != tt.param || e.Code != tt.code || e.Message == "" || e.Retryable {
					t.Fatalf("%+v", e)
				}
			})
		}
	})
}

// TestBoundaryCollision: a value containing the boundary gets a longer one.
func TestBoundaryCollision(t *testing.T) {
	prompt := "x\r\n--hub-r1\r\n--hub-r1.1--\r\n"
	body, _ := json.Marshal(map[string]any{"prompt": prompt, "negative_prompt": "hub-r1.2"})
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "v3", RequestID: "r1", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		f := parseForm(t, out)
		if f.boundary != "hub-r1.3" {
			t.Fatalf("boundary %q", f.boundary)
		}
		if got, _ := f.get("prompt"); got != prompt {
			t.Fatalf("prompt %q", got)
		}
	})
	long := strings.Repeat("a", 200)
	if b := boundary(long, nil); len(b) != 60 || len(b) > boundaryMax {
		t.Fatalf("boundary length %d", len(b))
	}
}

// response runs the golden request through tg, then the upstream answer.
func response(t *testing.T, tg plugintest.Target, status uint32, headers []abi.Header, body []byte) (abi.ResponseOut, error) {
	t.Helper()
	out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "ideogram-v3", RequestID: "r1",
		Body: plugintest.Fixture(t, "generate.request.json"), UnixMS: 1700000000999})
	if err != nil {
		t.Fatal(err)
	}
	return tg.Response(&abi.ResponseIn{State: out.State, Status: status, Headers: headers, Body: body})
}

func TestResponseGolden(t *testing.T) {
	tests := []struct {
		file   string
		images int64
	}{
		{"generate", 2},
		{"generate-partly-unsafe", 2},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				out, err := response(t, tg, 200, []abi.Header{{Name: "Content-Type", Value: "application/json"}}, plugintest.Fixture(t, tt.file+".response.json"))
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "canonical response", out.Body, plugintest.Fixture(t, tt.file+".canonical.json"))
				if out.Usage == nil || *out.Usage != (abi.Usage{Images: tt.images}) {
					t.Fatalf("usage %+v", out.Usage)
				}
			})
		}
	})
}

func TestResponseEdges(t *testing.T) {
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		t.Run("all unsafe", func(t *testing.T) {
			_, err := response(t, tg, 200, nil, plugintest.Fixture(t, "generate-unsafe.response.json"))
			e := plugintest.ErrorOf(t, err)
			if e.Status != 400 || e.Type != "invalid_request_error" || e.Code != "content_policy_violation" || e.Retryable {
				t.Fatalf("%+v", e)
			}
		})
		t.Run("created fallback", func(t *testing.T) {
			for _, body := range []string{
				`{"data":[{"url":"https://x/1.png","prompt":"A watercolor painting of a lighthouse at dawn ","is_image_safe":true}]}`,
				`{"created":"yesterday","data":[{"url":"https://x/1.png","is_image_safe":true}]}`,
			} {
				out, err := response(t, tg, 200, nil, []byte(body))
				if err != nil {
					t.Fatal(err)
				}
				plugintest.JSONEqual(t, "canonical", out.Body, []byte(`{"created":1700000000,"data":[{"url":"https://x/1.png"}]}`))
			}
		})
		t.Run("created without zone and as number", func(t *testing.T) {
			out, err := response(t, tg, 200, nil, []byte(`{"created":"2000-01-23T04:56:07.25","data":[{"url":"u","is_image_safe":true}]}`))
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "canonical", out.Body, []byte(`{"created":948603367,"data":[{"url":"u"}]}`))
			out, err = response(t, tg, 200, nil, []byte(`{"created":1713898028,"data":[{"url":"u"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			plugintest.JSONEqual(t, "canonical", out.Body, []byte(`{"created":1713898028,"data":[{"url":"u"}]}`))
		})
		t.Run("no state", func(t *testing.T) {
			out, err := tg.Response(&abi.ResponseIn{Status: 200, Body: plugintest.Fixture(t, "generate.response.json")})
			if err != nil {
				t.Fatal(err)
			}
			// Without the request's prompt hash nothing counts as revised.
			if bytes.Contains(out.Body, []byte("revised_prompt")) {
				t.Fatalf("%s", out.Body)
			}
		})
		for _, body := range []string{`{"created":"2024-04-23T18:47:08Z"}`, `{"data":{}}`, `not json`, `{"data":[]}`} {
			t.Run("malformed "+body, func(t *testing.T) {
				_, err := response(t, tg, 200, nil, []byte(body))
				if e := plugintest.ErrorOf(t, err); e.Status != 502 || e.Type != "upstream_error" || !e.Retryable {
					t.Fatalf("%+v", e)
				}
			})
		}
	})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		file      string
		status    uint32
		header    []abi.Header
		want      abi.Error
		inMessage string // a substring of the message; "" checks it is not empty
	}{
		{"error-400-invalid-input.response.json", 400, nil,
			abi.Error{Status: 400, Type: "invalid_request_error"}, "num_images must be between 1 and 8"},
		{"error-401.response.json", 401, nil,
			abi.Error{Status: 502, Type: "upstream_error", Code: "upstream_auth_failed", Retryable: true}, "credential"},
		{"error-402.response.json", 402, nil,
			abi.Error{Status: 429, Type: "insufficient_quota", Code: "insufficient_quota"}, "Insufficient credits"},
		{"error-401.response.json", 403, nil,
			abi.Error{Status: 502, Type: "upstream_error", Code: "upstream_auth_failed", Retryable: true}, "HTTP 403"},
		{"error-422-safety.response.json", 422, nil,
			abi.Error{Status: 400, Type: "invalid_request_error", Code: "content_policy_violation"}, "failed the safety checks"},
		{"error-422-validation.response.json", 422, nil,
			abi.Error{Status: 422, Type: "invalid_request_error", Param: "num_images"}, "num_images: ensure this value is less than or equal to 8"},
		{"error-429.response.json", 429, []abi.Header{{Name: "retry-after", Value: "12"}},
			abi.Error{Status: 429, Type: "rate_limit_error", Retryable: true, RetryAfterMS: 12000}, "Too many requests"},
		{"error-500.response.txt", 500, nil,
			abi.Error{Status: 502, Type: "upstream_error", Retryable: true}, "Internal Server Error"},
		{"error-500.response.txt", 503, []abi.Header{{Name: "Retry-After", Value: "3"}},
			abi.Error{Status: 502, Type: "upstream_error", Retryable: true, RetryAfterMS: 3000}, "Internal Server Error"},
		{"error-500.response.txt", 504, nil,
			abi.Error{Status: 504, Type: "upstream_timeout", Retryable: true}, ""},
	}
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		for _, tt := range tests {
			t.Run(tt.file, func(t *testing.T) {
				_, err := response(t, tg, tt.status, tt.header, plugintest.Fixture(t, tt.file))
				e := plugintest.ErrorOf(t, err)
				got := *e
				got.Message = ""
				if got != tt.want || e.Message == "" || !strings.Contains(e.Message, tt.inMessage) {
					t.Fatalf("HTTP %d %s:\n got %+v\nwant %+v (message containing %q)", tt.status, tt.file, *e, tt.want, tt.inMessage)
				}
			})
		}
		t.Run("html body", func(t *testing.T) {
			_, err := response(t, tg, 502, nil, []byte("<html><body>Bad Gateway</body></html>"))
			if e := plugintest.ErrorOf(t, err); e.Message != "the provider answered HTTP 502" || !e.Retryable {
				t.Fatalf("%+v", e)
			}
		})
		t.Run("error object", func(t *testing.T) {
			_, err := response(t, tg, 400, nil, []byte(`{"error":{"message":"bad seed","type":"invalid_request_error","code":"bad_seed"}}`))
			if e := plugintest.ErrorOf(t, err); e.Message != "bad seed" || e.Code != "bad_seed" || e.Status != 400 {
				t.Fatalf("%+v", e)
			}
		})
	})
}

func TestStreamEvent(t *testing.T) {
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		out, err := tg.StreamEvent(&abi.StreamIn{Events: []abi.Event{{Data: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Error == nil || out.Error.Status != 502 || len(out.Chunks) != 0 {
			t.Fatalf("%+v", out)
		}
	})
}

func FuzzRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"p","n":2,"size":"1792x1024","quality":"hd","style":"vivid"}`), "V_3", "req-1")
	f.Add([]byte(`{"prompt":"--hub-r\r\n","negative_prompt":"hub-r.1","seed":7,"aspect_ratio":"16:9"}`), "ideogram-v3-turbo", "r")
	f.Add([]byte(`{"prompt":"p","resolution":"1x1","size":"9x99999"}`), "", "")
	p := newPlugin(nil)
	f.Fuzz(func(t *testing.T, body []byte, model, reqID string) {
		res := provider.Invoke(p, abi.ExportRequest, (&abi.RequestIn{API: abi.APIImages, Model: model, RequestID: reqID, Body: body}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if st != abi.StatusOK {
			return
		}
		var out abi.RequestOut
		if err := out.Parse(rec); err != nil {
			t.Fatalf("malformed record: %v", err)
		}
		var fields map[string]string
		for _, kv := range parseForm(t, out).fields {
			if fields == nil {
				fields = map[string]string{}
			}
			fields[kv[0]] = kv[1]
		}
		var req map[string]any
		if utf8.Valid(body) && json.Unmarshal(body, &req) == nil {
			if want, _ := req["prompt"].(string); want != fields["prompt"] {
				t.Fatalf("prompt %q, want %q", fields["prompt"], want)
			}
		}
	})
}

func FuzzResponse(f *testing.F) {
	f.Add(uint16(200), []byte(`{"created":"2000-01-23T04:56:07Z","data":[{"url":"u","prompt":"p","is_image_safe":true}]}`))
	f.Add(uint16(422), []byte(`{"detail":[{"loc":["body",1],"msg":"m"}]}`))
	f.Add(uint16(429), []byte(`Too many`))
	p := newPlugin(nil)
	state := appendState(nil, 1700000000, promptHash("p"))
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		res := provider.Invoke(p, abi.ExportResponse, (&abi.ResponseIn{State: state, Status: uint32(status), Body: body}).Append(nil))
		st, rec, err := abi.SplitResult(res)
		if err != nil {
			t.Fatal(err)
		}
		if st != abi.StatusOK {
			return
		}
		var out abi.ResponseOut
		if err := out.Parse(rec); err != nil {
			t.Fatalf("malformed record: %v", err)
		}
		var v struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(out.Body, &v); err != nil || len(v.Data) == 0 || out.Usage == nil || out.Usage.Images != int64(len(v.Data)) {
			t.Fatalf("response %s (%v), usage %+v", out.Body, err, out.Usage)
		}
	})
}

func BenchmarkWasmRequest(b *testing.B) {
	tg := plugintest.Wasm(b, name, nil)
	in := &abi.RequestIn{API: abi.APIImages, Model: "ideogram-v3", RequestID: "req_01HXYZ", Body: plugintest.Fixture(b, "generate.request.json"),
		Options: []byte("{}"), UnixMS: 1700000000000}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tg.Request(in); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFormBytes pins the exact multipart framing of a small request.
func TestFormBytes(t *testing.T) {
	want := "--hub-req_1\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na cat\r\n" +
		"--hub-req_1\r\nContent-Disposition: form-data; name=\"num_images\"\r\n\r\n1\r\n" +
		"--hub-req_1\r\nContent-Disposition: form-data; name=\"aspect_ratio\"\r\n\r\n9x16\r\n" +
		"--hub-req_1\r\nContent-Disposition: form-data; name=\"magic_prompt\"\r\n\r\nAUTO\r\n" +
		"--hub-req_1\r\nContent-Disposition: form-data; name=\"seed\"\r\n\r\n3\r\n" +
		"--hub-req_1--\r\n"
	both(t, "", func(t *testing.T, tg plugintest.Target) {
		out, err := tg.Request(&abi.RequestIn{API: abi.APIImages, Model: "v3", RequestID: "req_1", Body: []byte(`{"prompt":"a cat","size":"1024x1792","seed":3}`)})
		if err != nil {
			t.Fatal(err)
		}
		if string(out.Body) != want {
			t.Fatalf("body\n%q\nwant\n%q", out.Body, want)
		}
	})
	fs := []field{{"a", "1"}, {"bb", ""}, {"prompt", "x\r\ny"}}
	if got := appendForm(nil, "hub-x", fs); len(got) != formSize("hub-x", fs) {
		t.Fatalf("formSize %d, body %d", formSize("hub-x", fs), len(got))
	}
}
