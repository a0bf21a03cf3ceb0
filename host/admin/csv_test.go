package admin

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/julienschmidt/httprouter"
)

// TestCSVStreaming checks the three ends of a CSV export: a failure before
// any output is an ordinary JSON error, a failure midway aborts the
// response (no 200 that looks complete), and an empty export still gets
// its headers.
func TestCSVStreaming(t *testing.T) {
	x := newHub(t, hubOpts{})
	logs := &syncBuffer{}
	c := newCore(Options{Auth: x.auth, Manage: x.svc, Logger: slog.New(slog.NewTextHandler(logs, nil))}, "test")
	export := func(fn func(w io.Writer) error) func(*http.Request, httprouter.Params) (result, error) {
		return func(*http.Request, httprouter.Params) (result, error) {
			return result{csv: fn, filename: "x.csv"}, nil
		}
	}
	c.route([]route{
		{"GET", "/early", export(func(io.Writer) error { return errors.New("database is locked") })},
		{"GET", "/midway", export(func(w io.Writer) error {
			if _, err := io.WriteString(w, "a,b\n"+strings.Repeat("1,2\n", 10000)); err != nil {
				return err
			}
			return errors.New("disk I/O error")
		})},
		{"GET", "/empty", export(func(io.Writer) error { return nil })},
	})
	srv := httptest.NewServer(c.router)
	defer srv.Close()

	r := x.doOn(srv, "GET", "/early", "", nil)
	r.fails(t, 500, "server_error", "", "")
	if strings.Contains(string(r.body), "database is locked") {
		t.Errorf("the cause reached the client: %s", r.body)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("the cause was not logged: %s", logs.String())
	}

	res, err := srv.Client().Get(srv.URL + "/midway")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err == nil {
		t.Error("a CSV export that failed midway ended like a complete one")
	}
	if !strings.Contains(logs.String(), "disk I/O error") {
		t.Errorf("the midway failure was not logged: %s", logs.String())
	}

	r = x.doOn(srv, "GET", "/empty", "", nil)
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.header.Get("Content-Disposition") != `attachment; filename="x.csv"` {
		t.Errorf("empty export: %d %q %v", r.status, r.body, r.header)
	}
}
