package apierr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

func TestFrom(t *testing.T) {
	secret := errors.New("dial tcp: secret-host-detail")
	for _, tt := range []struct {
		name   string
		err    error
		status int
		typ    string
	}{
		{"passthrough", fmt.Errorf("wrapped: %w", BadRequest("model", "x")), 400, TypeInvalidRequest},
		{"plugin error", &abi.Error{Status: 429, Type: "rate_limit_error", Message: "slow down", RetryAfterMS: 1500, Retryable: true}, 429, "rate_limit_error"},
		{"plugin error without status", &abi.Error{Message: "bad"}, 502, TypeUpstream},
		{"max bytes", &http.MaxBytesError{Limit: 10}, 413, TypeInvalidRequest},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), 504, TypeTimeout},
		{"other", secret, 502, TypeUpstream},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := From(tt.err)
			if e.Status != tt.status || e.Type != tt.typ {
				t.Fatalf("got %d %s", e.Status, e.Type)
			}
			if strings.Contains(e.Message, "secret-host-detail") {
				t.Fatal("a cause leaked into the client message")
			}
		})
	}
}

func TestWriteOpenAI(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteOpenAI(rec, &Error{Status: 429, Type: TypeRateLimit, Code: "rate_limit_exceeded", Message: "slow", RetryAfter: 1500e6})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "2" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	var body map[string]map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	e := body["error"]
	if e["message"] != "slow" || e["type"] != TypeRateLimit || e["code"] != "rate_limit_exceeded" {
		t.Fatalf("body %v", e)
	}
	if v, ok := e["param"]; !ok || v != nil {
		t.Fatalf("param must be present and null: %v", e)
	}
}
