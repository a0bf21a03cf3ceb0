package emulator

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// Fuzz tests of the request parsers the non-OpenAI dialects added.

func FuzzParseGeminiPath(f *testing.F) {
	for _, s := range []string{
		"/v1beta/models/gemini-2.5-flash:generateContent",
		"/v1beta/models/gemini-2.5-flash:streamGenerateContent",
		"/v1beta/models/a:b:c", "/v1beta/models/:x", "/v1beta/models/x:", "/v1beta/models/a/b:c", "/v1/models/x:y", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		model, method, ok := parseGeminiPath(path)
		if !ok {
			if model != "" || method != "" {
				t.Fatalf("%q: not ok but %q %q", path, model, method)
			}
			return
		}
		if model == "" || method == "" || strings.ContainsAny(model, "/:") || strings.ContainsAny(method, "/:") {
			t.Fatalf("%q: model %q, method %q", path, model, method)
		}
		if geminiPathPrefix+model+":"+method != path {
			t.Fatalf("%q does not rebuild from %q %q", path, model, method)
		}
	})
}

func TestParseGeminiPath(t *testing.T) {
	model, method, ok := parseGeminiPath("/v1beta/models/gemini-2.5-flash:streamGenerateContent")
	if !ok || model != "gemini-2.5-flash" || method != "streamGenerateContent" {
		t.Errorf("%q %q %v", model, method, ok)
	}
	for _, bad := range []string{"/v1beta/models/a:b:c", "/v1beta/models/:x", "/v1beta/models/x:", "/v1beta/models/a/b:c", "/v1beta/models/x"} {
		if _, _, ok := parseGeminiPath(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseBedrockPath(f *testing.F) {
	for _, s := range []string{
		"/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
		"/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream",
		"/model/a:b/converse", "/model//converse", "/model/a/b/converse", "/model/%zz/converse", "/model/a/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		id, action, ok := parseBedrockPath(escaped)
		if !ok {
			return
		}
		if id == "" || action == "" || strings.Contains(action, "/") {
			t.Fatalf("%q: id %q, action %q", escaped, id, action)
		}
		rest := strings.TrimPrefix(escaped, "/model/")
		seg, _, _ := strings.Cut(rest, "/")
		if got, err := url.PathUnescape(seg); err != nil || got != id {
			t.Fatalf("%q: id %q, segment %q unescapes to %q (%v)", escaped, id, seg, got, err)
		}
	})
}

func TestParseBedrockPath(t *testing.T) {
	id, action, ok := parseBedrockPath("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream")
	if !ok || id != "anthropic.claude-3-5-haiku-20241022-v1:0" || action != "converse-stream" {
		t.Errorf("%q %q %v", id, action, ok)
	}
	id, _, ok = parseBedrockPath("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse")
	if !ok || id != "arn:aws:bedrock:us-east-1:1:inference-profile/us.x" {
		t.Errorf("arn: %q %v", id, ok)
	}
	for _, bad := range []string{"/model//converse", "/model/a/b/converse", "/model/%zz/converse", "/model/a/", "/model/a"} {
		if _, _, ok := parseBedrockPath(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzColonSpaced(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":"x:y","c":[{"d":"\"::\\"}]}`, `{}`, `"a:b"`, `{"k\\":"v"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var v any
		if json.Unmarshal([]byte(in), &v) != nil {
			return
		}
		compact := marshalJSON(v)
		out := appendColonSpaced(nil, compact)
		var back any
		if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(v, back) {
			t.Fatalf("%s became %s (%v)", compact, out, err)
		}
		if len(out) < len(compact) {
			t.Fatalf("%s shrank to %s", compact, out)
		}
	})
}

func FuzzParseSigV4(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	f.Add("AWS4-HMAC-SHA256 Credential=,SignedHeaders=,Signature=")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, v string) {
		a, ok := parseSigV4(v)
		if ok && (a.credential == "" || a.signedHeaders == "" || a.signature == "" || !strings.HasPrefix(v, sigV4Algorithm+" ")) {
			t.Fatalf("%q: %+v", v, a)
		}
	})
}

// multipartBody builds a form with the given fields and one file.
func multipartBody(fields ...string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary("fuzzboundary")
	for i := 0; i+1 < len(fields); i += 2 {
		w.WriteField(fields[i], fields[i+1])
	}
	fw, _ := w.CreateFormFile("image", "a.png")
	fw.Write([]byte("png"))
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func TestParseMultipartText(t *testing.T) {
	body, ct := multipartBody("prompt", "a cat", "num_images", "2", "prompt", "ignored")
	fields, err := parseMultipartText(ct, body)
	if err != nil || !reflect.DeepEqual(fields, map[string]string{"prompt": "a cat", "num_images": "2"}) {
		t.Errorf("%v %v", fields, err)
	}
	if _, err := parseMultipartText("application/json", body); err == nil {
		t.Errorf("JSON content type parsed")
	}
	if _, err := parseMultipartText(ct, body[:bytes.Index(body, []byte("a cat"))+2]); err == nil {
		t.Errorf("body truncated within a value parsed")
	}
	big, ct := multipartBody("prompt", strings.Repeat("x", maxFormValue+1))
	if _, err := parseMultipartText(ct, big); err == nil {
		t.Errorf("oversized value parsed")
	}
}

func FuzzParseMultipartText(f *testing.F) {
	body, _ := multipartBody("prompt", "a cat", "seed", "5", "aspect_ratio", "16x9")
	f.Add(body)
	f.Add([]byte("--fuzzboundary--\r\n"))
	f.Add([]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nx\r\n--fuzzboundary--"))
	const ct = "multipart/form-data; boundary=fuzzboundary"
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := parseMultipartText(ct, body)
		if err != nil {
			return
		}
		for k, v := range fields {
			if k == "" || len(v) > maxFormValue {
				t.Fatalf("field %q = %d bytes", k, len(v))
			}
		}
	})
}
