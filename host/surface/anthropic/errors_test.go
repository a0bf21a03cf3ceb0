package anthropic

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/apierr"
)

func TestErrorStatus(t *testing.T) {
	for _, tt := range []struct {
		name   string
		err    *apierr.Error
		status int
		typ    string
	}{
		{"bad request", apierr.BadRequest("x", "bad"), 400, TypeInvalidRequest},
		{"unsupported model", apierr.Unsupported("p", "m", "embeddings"), 400, TypeInvalidRequest},
		{"bad key", apierr.Unauthorized("no"), 401, TypeAuthentication},
		{"no credit", &apierr.Error{Status: 402, Type: "insufficient_quota"}, 402, TypeBilling},
		{"forbidden", apierr.Forbidden("no"), 403, TypePermission},
		{"unknown model", apierr.ModelNotFound("m"), 404, TypeNotFound},
		{"conflict", &apierr.Error{Status: 409, Type: "invalid_request_error"}, 409, TypeInvalidRequest},
		{"too large", apierr.TooLarge(10), 413, TypeRequestTooLarge},
		{"rate limited", &apierr.Error{Status: 429, Type: "tokens", Code: "rate_limit_exceeded"}, 429, TypeRateLimit},
		{"internal", apierr.Internal(errors.New("x")), 500, TypeAPI},
		{"upstream failed", &apierr.Error{Status: 502, Type: "upstream_error"}, 500, TypeAPI},
		{"plugin failed", &apierr.Error{Status: 502, Type: "plugin_error"}, 500, TypeAPI},
		{"upstream overloaded", &apierr.Error{Status: 503, Type: "upstream_overloaded"}, 529, TypeOverloaded},
		{"draining", apierr.Unavailable("bye"), 529, TypeOverloaded},
		{"timeout", &apierr.Error{Status: 504, Type: "upstream_timeout"}, 504, TypeTimeout},
		{"overloaded type", &apierr.Error{Status: 502, Type: "overloaded_error"}, 529, TypeOverloaded},
		{"no status", &apierr.Error{}, 500, TypeAPI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, typ := ErrorStatus(tt.err)
			if status != tt.status || typ != tt.typ {
				t.Fatalf("got %d %s, want %d %s", status, typ, tt.status, tt.typ)
			}
		})
	}
}

// Each of Anthropic's error fixtures has the status and type this package
// gives a hub error of that status, in the same body shape.
func TestErrorFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/fixtures/anthropic/error-*.response.json")
	if len(files) != 7 {
		t.Fatalf("%d error fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			status, _ := strconv.Atoi(strings.Split(filepath.Base(f), "-")[1])
			b, _ := os.ReadFile(f)
			var want map[string]any
			json.Unmarshal(b, &want)
			e := want["error"].(map[string]any)
			herr := &apierr.Error{Status: status, Message: e["message"].(string)}
			gotStatus, _ := ErrorStatus(herr)
			if gotStatus != status {
				t.Fatalf("status %d → %d", status, gotStatus)
			}
			var got map[string]any
			json.Unmarshal(AppendErrorJSON(nil, herr, want["request_id"].(string)), &got)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteError(w, &apierr.Error{Status: 429, Type: "rate_limit_error", Message: "slow \"down\"", RetryAfter: 1500 * time.Millisecond}, "req_1")
	if w.Code != 429 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	want := `{"type":"error","error":{"type":"rate_limit_error","message":"slow \"down\""},"request_id":"req_1"}` + "\n"
	if w.Body.String() != want {
		t.Fatalf("body %s", w.Body)
	}
	w = httptest.NewRecorder()
	WriteError(w, apierr.BadRequest("", "x"), "")
	if w.Code != 400 || w.Header().Get("Retry-After") != "" || w.Body.String() != `{"type":"error","error":{"type":"invalid_request_error","message":"x"}}`+"\n" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

func TestAppendErrorEvent(t *testing.T) {
	for _, tt := range []struct {
		err  *apierr.Error
		want string
	}{
		{&apierr.Error{Status: 502, Type: "upstream_error", Message: "the provider's stream ended before it was complete"},
			`{"type":"error","error":{"type":"api_error","message":"the provider's stream ended before it was complete"},"request_id":"req_1"}`},
		{&apierr.Error{Status: 502, Type: "overloaded_error", Message: "Overloaded"},
			`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`},
		{&apierr.Error{Status: 502, Type: "rate_limit_error", Message: "slow"},
			`{"type":"error","error":{"type":"rate_limit_error","message":"slow"},"request_id":"req_1"}`},
		{&apierr.Error{Status: 504, Type: "upstream_timeout", Message: "late"},
			`{"type":"error","error":{"type":"timeout_error","message":"late"},"request_id":"req_1"}`},
	} {
		got := string(AppendErrorEvent(nil, tt.err, "req_1"))
		if want := "event: error\ndata: " + tt.want + "\n\n"; got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
}
