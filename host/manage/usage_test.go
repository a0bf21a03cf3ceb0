package manage_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// recordCalls writes calls through a real recorder (which also updates
// the rollups) and waits for them.
func recordCalls(t *testing.T, st *store.Store, calls ...store.Call) {
	t.Helper()
	rec := store.NewRecorder(st, store.RecorderOptions{})
	for _, c := range calls {
		if err := rec.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := rec.Stats(); s.Recorded != uint64(len(calls)) {
		t.Fatalf("recorder stats %+v", s)
	}
}

// base is an hour start, so that rollup buckets are predictable.
var base = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func sampleCalls() []store.Call {
	return []store.Call{
		{RequestID: "req_1", CreatedAt: base.Add(time.Minute), API: "chat.completions", AccountID: 1, KeyID: 11, Provider: "oa", Model: "gpt-4o",
			Status: store.CallOK, HTTPStatus: 200, PromptTokens: 100, CompletionTokens: 20, TTFB: 150 * time.Millisecond, Duration: 900 * time.Millisecond,
			Attempts: 2, Credits: 1_250_000, CredentialID: 5,
			AttemptLog: []store.Attempt{
				{Attempt: 1, Provider: "oa", CredentialID: 4, Status: store.CallError, HTTPStatus: 429, ErrorType: "rate_limit_error", ErrorMessage: "slow down", Duration: 20 * time.Millisecond},
				{Attempt: 2, Provider: "oa", CredentialID: 5, Status: store.CallOK, HTTPStatus: 200, Duration: 880 * time.Millisecond},
			}},
		{RequestID: "req_2", CreatedAt: base.Add(2 * time.Minute), API: "chat.completions", AccountID: 1, KeyID: 11, Provider: "an", Model: "claude",
			Status: store.CallError, HTTPStatus: 502, ErrorType: "upstream_error", Duration: 300 * time.Millisecond, Attempts: 1},
		{RequestID: "req_3", CreatedAt: base.Add(time.Hour + time.Minute), API: "chat.completions", AccountID: 2, KeyID: 21, Provider: "oa", Model: "gpt-4o",
			Status: store.CallOK, HTTPStatus: 200, PromptTokens: 10, CompletionTokens: 5, TTFB: 80 * time.Millisecond, Duration: 200 * time.Millisecond,
			Attempts: 1, Credits: 1},
	}
}

func TestUsage(t *testing.T) {
	e := newEnv(t, envOpts{})
	recordCalls(t, e.st, sampleCalls()...)
	ctx := context.Background()

	all, err := e.svc.Usage(ctx, store.StatsFilter{})
	if err != nil || len(all) != 1 {
		t.Fatalf("totals = %+v, %v", all, err)
	}
	tot := all[0]
	if tot.Calls != 3 || tot.Errors != 1 || tot.PromptTokens != 110 || tot.Charged != 1_250_001 || tot.ChargedCredits != "1.250001" ||
		tot.Bucket != "hour" || tot.Start != nil || tot.AccountID != 0 || tot.Model != "" {
		t.Errorf("totals = %+v", tot)
	}
	if tot.Durationp50US <= 0 || tot.Durationp50MS != float64(tot.Durationp50US)/1000 || tot.TTFBp95US <= 0 {
		t.Errorf("percentiles = %+v", tot)
	}
	b, _ := json.Marshal(tot)
	for _, f := range []string{`"calls":3`, `"charged":1250001`, `"charged_credits":"1.250001"`, `"ttfb_p50_us":`, `"ttfb_p50_ms":`, `"duration_p95_us":`, `"bucket":"hour"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("JSON lacks %s: %s", f, b)
		}
	}
	for _, f := range []string{`"start"`, `"account_id"`, `"model"`} {
		if strings.Contains(string(b), f) {
			t.Errorf("JSON has %s, not grouped by: %s", f, b)
		}
	}

	byModel, err := e.svc.Usage(ctx, store.StatsFilter{GroupBy: []string{"model", "time"}, Bucket: "hour"})
	if err != nil || len(byModel) != 3 {
		t.Fatalf("by model and hour = %+v, %v", byModel, err)
	}
	if byModel[0].Start == nil || !byModel[0].Start.Equal(base) || byModel[2].Start == nil || !byModel[2].Start.Equal(base.Add(time.Hour)) {
		t.Errorf("hours = %+v", byModel)
	}
	day, err := e.svc.Usage(ctx, store.StatsFilter{Bucket: "day", GroupBy: []string{"account"}, AccountID: 2})
	if err != nil || len(day) != 1 || day[0].AccountID != 2 || day[0].Calls != 1 || day[0].Bucket != "day" {
		t.Errorf("day, account 2 = %+v, %v", day, err)
	}
	since, err := e.svc.Usage(ctx, store.StatsFilter{Since: base.Add(time.Hour)})
	if err != nil || len(since) != 1 || since[0].Calls != 1 {
		t.Errorf("since = %+v, %v", since, err)
	}

	for _, tt := range []struct {
		f     store.StatsFilter
		field string
	}{
		{store.StatsFilter{Bucket: "week"}, "bucket"},
		{store.StatsFilter{GroupBy: []string{"model", "colour"}}, "group_by"},
		{store.StatsFilter{Since: base, Until: base}, "until"},
		{store.StatsFilter{AccountID: -1}, "account_id"},
		{store.StatsFilter{KeyID: -1}, "key_id"},
	} {
		_, err := e.svc.Usage(ctx, tt.f)
		wantField(t, err, tt.field)
		var buf bytes.Buffer
		wantField(t, e.svc.WriteUsageCSV(ctx, &buf, tt.f), tt.field)
		if buf.Len() != 0 {
			t.Errorf("a refused CSV export wrote %q", buf.String())
		}
	}

	var buf bytes.Buffer
	if err := e.svc.WriteUsageCSV(ctx, &buf, store.StatsFilter{GroupBy: []string{"provider"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "start" || rows[1][4] != "an" || rows[2][4] != "oa" {
		t.Errorf("usage CSV = %q, %v", rows, err)
	}
}

func TestCalls(t *testing.T) {
	e := newEnv(t, envOpts{})
	recordCalls(t, e.st, sampleCalls()...)
	ctx := context.Background()

	calls, err := e.svc.Calls(ctx, store.CallFilter{})
	if err != nil || len(calls) != 3 || calls[0].RequestID != "req_3" || calls[2].RequestID != "req_1" {
		t.Fatalf("Calls = %+v, %v", calls, err)
	}
	c := calls[2]
	if c.Charged != 1_250_000 || c.ChargedCredits != "1.25" || c.TTFBUS != 150_000 || c.TTFBMS != 150 || c.DurationMS != 900 ||
		c.AttemptCount != 2 || c.CredentialID != 5 || c.Attempts != nil {
		t.Errorf("call = %+v", c)
	}
	if got, _ := e.svc.Calls(ctx, store.CallFilter{AccountID: 1, Status: "error"}); len(got) != 1 || got[0].RequestID != "req_2" {
		t.Errorf("account 1 errors = %+v", got)
	}
	for _, tt := range []struct {
		f     store.CallFilter
		field string
	}{
		{store.CallFilter{Status: "weird"}, "status"},
		{store.CallFilter{AccountID: -3}, "account_id"},
		{store.CallFilter{KeyID: -3}, "key_id"},
		{store.CallFilter{Limit: -1}, "limit"},
		{store.CallFilter{Since: base.Add(time.Hour), Until: base}, "until"},
	} {
		_, err := e.svc.Calls(ctx, tt.f)
		wantField(t, err, tt.field)
		var buf bytes.Buffer
		wantField(t, e.svc.WriteCallsCSV(ctx, &buf, tt.f), tt.field)
	}

	one, err := e.svc.Call(ctx, "req_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Attempts) != 2 || one.Attempts[0].Status != "error" || one.Attempts[0].HTTPStatus != 429 || one.Attempts[0].CredentialID != 4 ||
		one.Attempts[1].DurationUS != 880_000 || one.Attempts[1].DurationMS != 880 || !one.Attempts[0].StartedAt.Equal(base.Add(time.Minute)) {
		t.Errorf("attempts = %+v", one.Attempts)
	}
	b, _ := json.Marshal(one)
	for _, f := range []string{`"attempts":[{`, `"attempt_count":2`, `"request_id":"req_1"`, `"charged_credits":"1.25"`, `"ttfb_us":150000`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("call JSON lacks %s: %s", f, b)
		}
	}
	_, err = e.svc.Call(ctx, "req_nope")
	wantIs(t, err, store.ErrNotFound)
	_, err = e.svc.Call(ctx, "")
	wantField(t, err, "request_id")

	var buf bytes.Buffer
	if err := e.svc.WriteCallsCSV(ctx, &buf, store.CallFilter{AccountID: 1}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][1] != "request_id" || rows[1][1] != "req_2" {
		t.Errorf("calls CSV = %q, %v", rows, err)
	}
}

// TestCallsPaging pages through calls many of which share a millisecond:
// every call comes exactly once, in order.
func TestCallsPaging(t *testing.T) {
	e := newEnv(t, envOpts{})
	var calls []store.Call
	for i := range 57 {
		at := base.Add(time.Duration(i/20) * time.Millisecond) // 20 calls per ms
		calls = append(calls, store.Call{RequestID: fmt.Sprintf("req_%02d", i), CreatedAt: at, AccountID: 1, KeyID: 1,
			Provider: "oa", Model: "m", Status: store.CallOK})
	}
	recordCalls(t, e.st, calls...)
	ctx := context.Background()
	for _, size := range []int{1, 3, 7, 19, 20, 21, 56, 57, 100} {
		seen := map[string]bool{}
		var order []manage.CallView
		cur := manage.CallCursor{}
		for pages := 0; ; pages++ {
			if pages > 60 {
				t.Fatalf("size %d: too many pages", size)
			}
			page, err := e.svc.CallsPage(ctx, store.CallFilter{Limit: size}, cur)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Data {
				if seen[c.RequestID] {
					t.Fatalf("size %d: %s twice", size, c.RequestID)
				}
				seen[c.RequestID] = true
				order = append(order, c)
			}
			if page.NextBefore == "" {
				break
			}
			if len(page.Data) != size {
				t.Fatalf("size %d: a page of %d with a next page", size, len(page.Data))
			}
			if cur, err = manage.ParseCallCursor(page.NextBefore); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 57 {
			t.Errorf("size %d: saw %d calls", size, len(seen))
		}
		for i := 1; i < len(order); i++ {
			a, b := order[i-1], order[i]
			if a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID {
				t.Fatalf("size %d: out of order at %d", size, i)
			}
		}
	}
	// The cursor pages within until, too.
	page, err := e.svc.CallsPage(ctx, store.CallFilter{Limit: 5, Until: base.Add(time.Millisecond)}, manage.CallCursor{})
	if err != nil || len(page.Data) != 5 || page.Data[0].CreatedAt.After(base) {
		t.Fatalf("until page = %+v, %v", page, err)
	}
	cur, _ := manage.ParseCallCursor(page.NextBefore)
	page, err = e.svc.CallsPage(ctx, store.CallFilter{Limit: 100, Until: base.Add(time.Millisecond)}, cur)
	if err != nil || len(page.Data) != 15 || page.NextBefore != "" {
		t.Errorf("until, second page: %d calls, next %q, %v", len(page.Data), page.NextBefore, err)
	}

	for _, bad := range []string{"x", "12", "12_", "_3", "1_0", "1_-2", "a_b"} {
		_, err := manage.ParseCallCursor(bad)
		wantField(t, err, "before")
	}
	c := manage.CallCursor{At: base, ID: 42}
	if got, err := manage.ParseCallCursor(c.String()); err != nil || got.ID != 42 || !got.At.Equal(base) {
		t.Errorf("round trip %q = %+v, %v", c.String(), got, err)
	}
}

func FuzzParseCallCursor(f *testing.F) {
	for _, s := range []string{"", "1736500000123_42", "0_1", "-5_3", "1_0", "x_y", "1__2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := manage.ParseCallCursor(s)
		if err != nil {
			if !manage.IsValidation(err) {
				t.Fatalf("ParseCallCursor(%q): %v is not a ValidationError", s, err)
			}
			return
		}
		back, err := manage.ParseCallCursor(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseCallCursor(%q) = %+v; its String %q reads back as %+v, %v", s, c, c.String(), back, err)
		}
	})
}
