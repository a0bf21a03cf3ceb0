package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// ContentSecurityPolicy is the policy of the dashboard's HTML: everything
// from the hub's own origin, no inline script or style element, no
// plugins, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Cache-Control values.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// gzipMin is the smallest file worth compressing.
const gzipMin = 512

// notBuilt is the page "/" answers when the app is not built.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AIGNE Hub</title></head>
<body><h1>AIGNE Hub</h1>
<p>The dashboard is not built into this binary. Run <code>make build</code> (it needs Node and npm) and restart the hub.</p>
<p>The APIs work without it: <code>/v1/…</code>, <code>/api/…</code>.</p>
</body></html>
`

// App serves the dashboard's files. It is safe for concurrent use.
type App struct {
	files map[string]*file // by URL path, "/index.html", "/assets/x-1a2b.js"
	index *file
	built bool
}

var _ http.Handler = (*App)(nil)

// A file is one served file, read once.
type file struct {
	name  string
	body  []byte
	ctype string
	etag  string
	cache string

	gzOnce sync.Once
	gz     []byte // nil: not worth compressing
}

// NewApp returns the App serving fsys, the app's build output (index.html
// at its root, hashed files under assets/). A nil fsys, or one without
// index.html, serves the "not built" page at "/".
func NewApp(fsys fs.FS) (*App, error) {
	a := &App{files: map[string]*file{}}
	if fsys != nil {
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasPrefix(path.Base(p), ".") {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			a.files["/"+p] = newFile(p, b)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if a.index = a.files["/index.html"]; a.index != nil {
		a.built = true
	} else {
		a.index = newFile("index.html", []byte(notBuilt))
	}
	return a, nil
}

// Built reports whether the app is built (its FS has index.html).
func (a *App) Built() bool { return a.built }

func newFile(name string, b []byte) *file {
	sum := sha256.Sum256(b)
	f := &file{name: name, body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cache: cacheRevalidate}
	if strings.HasPrefix(name, "assets/") {
		f.cache = cacheImmutable
	}
	f.ctype = contentType(name, b)
	return f
}

// contentType is the type of a file by its extension, else by sniffing.
func contentType(name string, b []byte) string {
	switch ext := path.Ext(name); ext {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	case ".ico":
		return "image/x-icon"
	default:
		if t := mime.TypeByExtension(ext); t != "" {
			return t
		}
	}
	return http.DetectContentType(b)
}

// compressible reports whether a type is text-like enough to gzip.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "json") ||
		strings.Contains(ctype, "javascript") || strings.HasPrefix(ctype, "image/svg") || strings.Contains(ctype, "xml")
}

// gzipped returns the file gzipped, or nil when that would not help.
func (f *file) gzipped() []byte {
	f.gzOnce.Do(func() {
		if len(f.body) < gzipMin || !compressible(f.ctype) {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(f.body)
		zw.Close()
		if buf.Len() < len(f.body)*9/10 {
			f.gz = buf.Bytes()
		}
	})
	return f.gz
}

// reserved reports whether path belongs to the hub rather than to the
// app's client-side routes: such paths never fall back to index.html.
func reserved(p string) bool {
	for _, prefix := range []string{"/v1/", "/api/", "/assets/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	switch p {
	case "/v1", "/api", "/assets", "/healthz", "/readyz", "/__blocklet__.js":
		return true
	}
	return false
}

// acceptsHTML reports whether the client asks for a page.
func acceptsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// lookup returns the file r asks for: one of the app's files, index.html
// for "/" and for a client-side route, or nil.
func (a *App) lookup(r *http.Request) *file {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil
	}
	p := r.URL.Path
	if p == "/" || p == "/index.html" {
		return a.index
	}
	if f, ok := a.files[p]; ok {
		return f
	}
	if !reserved(p) && acceptsHTML(r) {
		return a.index
	}
	return nil
}

// Match reports whether the App serves r: a GET or HEAD of "/", of one of
// the app's files, or of a client-side route (a path not reserved for the
// hub, asked for as text/html).
func (a *App) Match(r *http.Request) bool { return a.lookup(r) != nil }

// ServeHTTP serves the file r asks for, or a plain 404 when there is none
// (the hub's server answers those itself, with [App.Match]).
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := a.lookup(r)
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", f.cache)
	h.Set("Content-Type", f.ctype)
	h.Set("Vary", "Accept-Encoding")
	if strings.HasPrefix(f.ctype, "text/html") {
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
	}
	body, etag := f.body, f.etag
	if gz := f.gzipped(); gz != nil && acceptsGzip(r) {
		body, etag = gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the client accepts gzip (and did not refuse
// it with q=0).
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
