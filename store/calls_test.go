package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCallRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{})
	defer closeRecorder(t, r)

	full := Call{
		RequestID:        "req-full",
		CreatedAt:        time.UnixMilli(1_700_000_000_123),
		API:              "messages",
		KeyID:            7,
		AccountID:        3,
		Provider:         "anthropic",
		CredentialID:     42,
		Model:            "claude-sonnet",
		UpstreamModel:    "claude-sonnet-4-20250514",
		Stream:           true,
		Status:           CallError,
		HTTPStatus:       529,
		ErrorType:        "overloaded_error",
		ErrorMessage:     "Overloaded",
		PromptTokens:     1000,
		CompletionTokens: 200,
		CachedTokens:     800,
		CacheWriteTokens: 100,
		ReasoningTokens:  50,
		Images:           2,
		UsageEstimated:   true,
		TTFB:             1234 * time.Microsecond,
		Duration:         5*time.Second + 678*time.Microsecond,
		Attempts:         3,
		Credits:          12_345,
	}
	minimal := Call{RequestID: "req-min", Status: CallAborted}
	long := Call{RequestID: "req-long", Status: CallError, ErrorMessage: strings.Repeat("é", 3000)}
	before := time.Now().Add(-time.Millisecond)
	for _, c := range []Call{full, minimal, long} {
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	got := func(id string) Call {
		t.Helper()
		calls, err := s.Calls(ctx, CallFilter{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 {
			t.Fatalf("%d calls for %s", len(calls), id)
		}
		return calls[0]
	}

	g := got("req-full")
	if g.ID == 0 {
		t.Error("ID not set")
	}
	g.ID = 0
	if !reflect.DeepEqual(g, full) {
		t.Errorf("round trip:\n got %+v\nwant %+v", g, full)
	}

	m := got("req-min")
	if m.CreatedAt.Before(before) || m.CreatedAt.After(time.Now()) {
		t.Errorf("zero CreatedAt became %v", m.CreatedAt)
	}
	if m.CredentialID != 0 || m.Stream || m.TTFB != 0 {
		t.Errorf("minimal call = %+v", m)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM model_calls WHERE request_id = 'req-min' AND credential_id IS NULL;"); n != 1 {
		t.Error("zero CredentialID not stored as NULL")
	}

	l := got("req-long")
	if len(l.ErrorMessage) > maxErrorMessage || !strings.HasPrefix(long.ErrorMessage, l.ErrorMessage) || len(l.ErrorMessage) < maxErrorMessage-1 {
		t.Errorf("long error message stored as %d bytes", len(l.ErrorMessage))
	}
}

func TestCallsFilter(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)

	base := time.UnixMilli(1_700_000_000_000)
	// Calls 0..9: key 1 for even, key 2 for odd; request IDs repeat in pairs
	// (a client may resend its own X-Request-ID).
	for i := range 10 {
		c := testCall("req-"+string(rune('a'+i/2)), int64(i))
		c.KeyID = int64(1 + i%2)
		c.AccountID = int64(1 + i%3)
		if i%2 == 1 {
			c.Provider = "anthropic"
		}
		if i >= 7 {
			c.Status = CallError
		}
		c.CreatedAt = base.Add(time.Duration(i) * time.Second)
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		filter CallFilter
		want   []int64 // PromptTokens, which is i, newest first
	}{
		{"all", CallFilter{}, []int64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"limit", CallFilter{Limit: 3}, []int64{9, 8, 7}},
		{"key", CallFilter{KeyID: 2}, []int64{9, 7, 5, 3, 1}},
		{"key and limit", CallFilter{KeyID: 1, Limit: 2}, []int64{8, 6}},
		{"request", CallFilter{RequestID: "req-b"}, []int64{3, 2}},
		{"request and key", CallFilter{RequestID: "req-b", KeyID: 1}, []int64{2}},
		{"unknown request", CallFilter{RequestID: "nope"}, nil},
		{"unknown key", CallFilter{KeyID: 99}, nil},
		{"account", CallFilter{AccountID: 1}, []int64{9, 6, 3, 0}},
		{"account and key", CallFilter{AccountID: 2, KeyID: 2}, []int64{7, 1}},
		{"account and limit", CallFilter{AccountID: 3, Limit: 2}, []int64{8, 5}},
		{"status", CallFilter{Status: CallError}, []int64{9, 8, 7}},
		{"provider", CallFilter{Provider: "anthropic"}, []int64{9, 7, 5, 3, 1}},
		{"model", CallFilter{Model: "gpt-4o-mini"}, []int64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"unknown model", CallFilter{Model: "nope"}, nil},
		{"since", CallFilter{Since: base.Add(5 * time.Second)}, []int64{9, 8, 7, 6, 5}},
		{"until", CallFilter{Until: base.Add(3 * time.Second)}, []int64{2, 1, 0}},
		{"key in a time range", CallFilter{KeyID: 1, Since: base.Add(2 * time.Second), Until: base.Add(7 * time.Second)}, []int64{6, 4, 2}},
		{"request and status", CallFilter{RequestID: "req-e", Status: CallError}, []int64{9, 8}},
		{"request and account", CallFilter{RequestID: "req-a", AccountID: 2}, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, err := s.Calls(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, c := range calls {
				got = append(got, c.PromptTokens)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestAttemptsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)

	created := time.UnixMilli(1_700_000_000_000)
	attempts := []Attempt{
		{
			Attempt: 2, StartedAt: created.Add(300 * time.Millisecond), Provider: "azure", CredentialID: 9,
			UpstreamModel: "gpt-4o-2024-08-06", Status: CallOK, HTTPStatus: 200, Duration: 1500 * time.Microsecond,
		},
		{
			Attempt: 1, StartedAt: created, Provider: "openai", CredentialID: 4, UpstreamModel: "gpt-4o",
			Status: CallError, HTTPStatus: 429, ErrorType: "rate_limit_exceeded",
			ErrorMessage: strings.Repeat("x", maxErrorMessage+100), Duration: 250 * time.Millisecond,
		},
	}
	c := Call{RequestID: "req-failover", CreatedAt: created, Status: CallOK, Attempts: 2, AttemptLog: attempts}
	if err := r.Record(c); err != nil {
		t.Fatal(err)
	}
	// The caller may reuse its slice once Record returns.
	attempts[0].Provider = "changed"
	minimal := Call{RequestID: "req-min", CreatedAt: created, Status: CallAborted,
		AttemptLog: []Attempt{{Attempt: 1, Status: CallAborted}}}
	if err := r.Record(minimal); err != nil {
		t.Fatal(err)
	}
	if err := r.Record(Call{RequestID: "req-none", Status: CallOK}); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := s.AttemptsByRequest(ctx, "req-failover")
	if err != nil {
		t.Fatal(err)
	}
	want := []Attempt{attempts[1], attempts[0]}
	want[0].ErrorMessage = want[0].ErrorMessage[:maxErrorMessage]
	want[1].Provider = "azure"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AttemptsByRequest:\n got %+v\nwant %+v", got, want)
	}

	got, err = s.AttemptsByRequest(ctx, "req-min")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].StartedAt.Equal(created) || got[0].CredentialID != 0 {
		t.Errorf("minimal attempt = %+v", got)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM call_attempts WHERE request_id = 'req-min' AND credential_id IS NULL;"); n != 1 {
		t.Error("zero CredentialID not stored as NULL")
	}
	for _, id := range []string{"req-none", "unknown"} {
		if got, err := s.AttemptsByRequest(ctx, id); err != nil || len(got) != 0 {
			t.Errorf("AttemptsByRequest(%s) = %+v, %v", id, got, err)
		}
	}
	if _, err := s.AttemptsByRequest(ctx, ""); err == nil {
		t.Error("AttemptsByRequest(\"\") succeeded")
	}
	// Calls does not read attempts back.
	if calls, err := s.Calls(ctx, CallFilter{RequestID: "req-failover"}); err != nil || len(calls) != 1 || calls[0].AttemptLog != nil || calls[0].Attempts != 2 {
		t.Errorf("Calls = %+v, %v", calls, err)
	}
}
