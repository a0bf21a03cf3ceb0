package dashboard

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

var bigJS = "console.log(" + strings.Repeat(`"hello dashboard", `, 200) + ");\n"

// builtFS is a small Vite-like build output.
func builtFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":               {Data: []byte(`<!doctype html><html><head><script type="module" src="/assets/index-1a2b3c.js"></script></head><body><div id="root"></div></body></html>`)},
		"assets/index-1a2b3c.js":   {Data: []byte(bigJS)},
		"assets/index-4d5e6f.css":  {Data: []byte("body{margin:0}")},
		"assets/logo-778899.woff2": {Data: []byte("wOF2\x00\x01\x02")},
		"favicon.svg":              {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		".gitkeep":                 {Data: nil},
	}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) resp {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return resp{w.Code, w.Result().Header, w.Body.String()}
}

const html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestApp(t *testing.T) {
	app, err := NewApp(builtFS())
	if err != nil {
		t.Fatal(err)
	}
	if !app.Built() {
		t.Fatal("not built")
	}
	index := string(builtFS()["index.html"].Data)
	for _, tt := range []struct {
		name, method, path, accept string
		served                     bool
		body                       string
		ctype, cache               string
	}{
		{"root", "GET", "/", html, true, index, "text/html; charset=utf-8", "no-cache"},
		{"root without Accept", "GET", "/", "", true, index, "text/html; charset=utf-8", "no-cache"},
		{"index.html", "GET", "/index.html", "", true, index, "text/html; charset=utf-8", "no-cache"},
		{"HEAD root", "HEAD", "/", html, true, "", "text/html; charset=utf-8", "no-cache"},
		{"client route", "GET", "/calls", html, true, index, "text/html; charset=utf-8", "no-cache"},
		{"deep client route", "GET", "/calls/req_123", html, true, index, "text/html; charset=utf-8", "no-cache"},
		{"script", "GET", "/assets/index-1a2b3c.js", "*/*", true, bigJS, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable"},
		{"style", "GET", "/assets/index-4d5e6f.css", "text/css,*/*;q=0.1", true, "body{margin:0}", "text/css; charset=utf-8", "public, max-age=31536000, immutable"},
		{"font", "GET", "/assets/logo-778899.woff2", "*/*", true, "wOF2\x00\x01\x02", "font/woff2", "public, max-age=31536000, immutable"},
		{"public file", "GET", "/favicon.svg", "image/*", true, `<svg xmlns="http://www.w3.org/2000/svg"></svg>`, "image/svg+xml", "no-cache"},
		{"missing asset", "GET", "/assets/gone-000000.js", html, false, "", "", ""},
		{"dotfile", "GET", "/.gitkeep", "*/*", false, "", "", ""},
		{"client route asked as JSON", "GET", "/calls", "application/json", false, "", "", ""},
		{"API path", "GET", "/api/nope", html, false, "", "", ""},
		{"API root", "GET", "/api", html, false, "", "", ""},
		{"v1 path", "GET", "/v1/nope", html, false, "", "", ""},
		{"healthz", "GET", "/healthz", html, false, "", "", ""},
		{"blocklet", "GET", "/__blocklet__.js", html, false, "", "", ""},
		{"POST", "POST", "/", html, false, "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			if got := app.Match(r); got != tt.served {
				t.Fatalf("Match = %v", got)
			}
			if !tt.served {
				return
			}
			g := get(t, app, tt.method, tt.path, map[string]string{"Accept": tt.accept})
			if g.status != 200 || g.body != tt.body {
				t.Fatalf("%d %q", g.status, g.body)
			}
			h := g.header
			if h.Get("Content-Type") != tt.ctype || h.Get("Cache-Control") != tt.cache || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("ETag") == "" || h.Get("Content-Encoding") != "" {
				t.Errorf("headers %v", h)
			}
			isHTML := strings.HasPrefix(tt.ctype, "text/html")
			if isHTML != (h.Get("Content-Security-Policy") == ContentSecurityPolicy) || isHTML != (h.Get("X-Frame-Options") == "DENY") ||
				isHTML != (h.Get("Referrer-Policy") == "no-referrer") {
				t.Errorf("security headers on %s: %v", tt.ctype, h)
			}
		})
	}
	if !strings.Contains(ContentSecurityPolicy, "script-src 'self';") || strings.Contains(ContentSecurityPolicy, "unsafe") ||
		!strings.Contains(ContentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", ContentSecurityPolicy)
	}
}

func TestAppGzipAndETag(t *testing.T) {
	app, err := NewApp(builtFS())
	if err != nil {
		t.Fatal(err)
	}
	const js = "/assets/index-1a2b3c.js"
	plain := get(t, app, "GET", js, nil)
	gz := get(t, app, "GET", js, map[string]string{"Accept-Encoding": "gzip, deflate, br"})
	if gz.header.Get("Content-Encoding") != "gzip" || gz.header.Get("Vary") != "Accept-Encoding" || len(gz.body) >= len(bigJS)/2 {
		t.Fatalf("gzip: %v, %d bytes", gz.header, len(gz.body))
	}
	zr, err := gzip.NewReader(strings.NewReader(gz.body))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != bigJS {
		t.Error("gzipped body differs")
	}
	if gz.header.Get("ETag") == plain.header.Get("ETag") {
		t.Error("the gzip and identity representations share an ETag")
	}
	if refused := get(t, app, "GET", js, map[string]string{"Accept-Encoding": "gzip;q=0"}); refused.header.Get("Content-Encoding") != "" || refused.body != bigJS {
		t.Errorf("gzip;q=0 got gzip: %v", refused.header)
	}
	// A small file is not worth compressing.
	if css := get(t, app, "GET", "/assets/index-4d5e6f.css", map[string]string{"Accept-Encoding": "gzip"}); css.header.Get("Content-Encoding") != "" {
		t.Errorf("tiny file gzipped: %v", css.header)
	}
	// Revalidation.
	for _, tc := range []struct {
		enc  string
		etag string
	}{{"", plain.header.Get("ETag")}, {"gzip", gz.header.Get("ETag")}} {
		nm := get(t, app, "GET", js, map[string]string{"Accept-Encoding": tc.enc, "If-None-Match": tc.etag})
		if nm.status != http.StatusNotModified || nm.body != "" {
			t.Errorf("If-None-Match %s: %d", tc.etag, nm.status)
		}
	}
	idx := get(t, app, "GET", "/", nil)
	if nm := get(t, app, "GET", "/", map[string]string{"If-None-Match": idx.header.Get("ETag")}); nm.status != http.StatusNotModified {
		t.Errorf("index revalidation: %d", nm.status)
	}
}

func TestAppNotBuilt(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{"nil": nil, "only .gitkeep": {".gitkeep": {}}} {
		t.Run(name, func(t *testing.T) {
			var app *App
			var err error
			if fsys == nil {
				app, err = NewApp(nil)
			} else {
				app, err = NewApp(fsys)
			}
			if err != nil {
				t.Fatal(err)
			}
			if app.Built() {
				t.Error("Built")
			}
			g := get(t, app, "GET", "/", map[string]string{"Accept": html})
			if g.status != 200 || !strings.Contains(g.body, "make build") || g.header.Get("Content-Security-Policy") != ContentSecurityPolicy {
				t.Errorf("%d %v %q", g.status, g.header, g.body)
			}
			if r := httptest.NewRequest("GET", "/assets/index.js", nil); app.Match(r) {
				t.Error("an asset matched when not built")
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for in, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0": false,
		"deflate": false, "x-gzip": false, "identity, gzip;q=1.0": true,
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", in)
		if got := acceptsGzip(r); got != want {
			t.Errorf("acceptsGzip(%q) = %v", in, got)
		}
	}
}
