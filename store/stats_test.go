package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// queryRows runs a query and renders each row as its columns joined by
// spaces.
func queryRows(t testing.TB, s *Store, query string) []string {
	t.Helper()
	var rows []string
	withConn(t, s, func(conn *sqlite.Conn) {
		err := sqlitex.ExecuteTransient(conn, query, &sqlitex.ExecOptions{
			ResultFunc: func(stmt *sqlite.Stmt) error {
				cols := make([]string, stmt.ColumnCount())
				for i := range cols {
					cols[i] = stmt.ColumnText(i)
				}
				rows = append(rows, strings.Join(cols, " "))
				return nil
			},
		})
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	})
	return rows
}

// statsBase is 2023-11-14T22:13:20Z, inside a UTC hour and day.
var statsBase = time.UnixMilli(1_700_000_000_000)

// randomCalls returns n calls spread over three days, two accounts, three
// keys, two providers and three models, with random usage.
func randomCalls(rng *rand.Rand, n int) []Call {
	statuses := []string{CallOK, CallOK, CallOK, CallError, CallAborted}
	providers := []string{"openai", "anthropic"}
	models := []string{"gpt-4o", "gpt-4o-mini", "claude"}
	calls := make([]Call, n)
	for i := range calls {
		calls[i] = Call{
			RequestID:        fmt.Sprint("req-", i),
			CreatedAt:        statsBase.Add(time.Duration(rng.Int64N(int64(72 * time.Hour)))),
			AccountID:        1 + rng.Int64N(2),
			KeyID:            10 + rng.Int64N(3),
			Provider:         providers[rng.IntN(len(providers))],
			Model:            models[rng.IntN(len(models))],
			Status:           statuses[rng.IntN(len(statuses))],
			PromptTokens:     rng.Int64N(5000),
			CompletionTokens: rng.Int64N(1000),
			CachedTokens:     rng.Int64N(100),
			CacheWriteTokens: rng.Int64N(100),
			ReasoningTokens:  rng.Int64N(100),
			Images:           rng.Int64N(3),
			Credits:          rng.Int64N(1_000_000),
			TTFB:             time.Duration(rng.Int64N(2000)) * time.Millisecond,
			Duration:         time.Duration(rng.Int64N(60_000)) * time.Millisecond,
		}
	}
	return calls
}

// recordAll records calls through a Recorder with small batches, so that
// rollup rows are updated many times.
func recordAll(t testing.TB, s *Store, calls []Call) {
	t.Helper()
	r := NewRecorder(s, RecorderOptions{MaxBatch: 7, Linger: -1, Logger: quietLogger()})
	defer closeRecorder(t, r)
	for i, c := range calls {
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

const sumColumns = `count(*), sum(status = 'error'), sum(status = 'aborted'), sum(prompt_tokens),
	sum(completion_tokens), sum(cached_tokens), sum(cache_write_tokens), sum(reasoning_tokens),
	sum(images), sum(credits)`

const statColumns = `calls, errors, aborted, prompt_tokens, completion_tokens, cached_tokens,
	cache_write_tokens, reasoning_tokens, images, credits`

func TestRollupsMatchCalls(t *testing.T) {
	s, _ := openTest(t, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	recordAll(t, s, randomCalls(rng, 2000))

	for _, b := range []struct {
		bucket string
		width  int64
	}{{StatsHour, hourMS}, {StatsDay, dayMS}} {
		t.Run(b.bucket, func(t *testing.T) {
			want := queryRows(t, s, fmt.Sprintf(`SELECT created_at - created_at %% %d, account_id, key_id, provider, model, %s
				FROM model_calls GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5;`, b.width, sumColumns))
			got := queryRows(t, s, fmt.Sprintf(`SELECT start, account_id, key_id, provider, model, %s
				FROM model_call_stats WHERE bucket = '%s' ORDER BY 1, 2, 3, 4, 5;`, statColumns, b.bucket))
			if len(want) < 10 {
				t.Fatalf("only %d groups", len(want))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rollups differ from model_calls:\n got %d rows, first %q\nwant %d rows, first %q", len(got), got[0], len(want), want[0])
			}

			// Stats over everything, ungrouped, is the sum of model_calls.
			rows, err := s.Stats(context.Background(), StatsFilter{Bucket: b.bucket})
			if err != nil {
				t.Fatal(err)
			}
			total := queryRows(t, s, "SELECT "+sumColumns+" FROM model_calls;")
			if len(rows) != 1 {
				t.Fatalf("%d rows of totals", len(rows))
			}
			r := rows[0]
			if g := fmt.Sprint(r.Calls, r.Errors, r.Aborted, r.PromptTokens, r.CompletionTokens, r.CachedTokens,
				r.CacheWriteTokens, r.ReasoningTokens, r.Images, r.Credits); g != total[0] {
				t.Errorf("totals %s, want %s", g, total[0])
			}
		})
	}
}

// exactQuantile is the ceil(q·n)-th smallest of ds.
func exactQuantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(math.Ceil(q*float64(len(s))))-1]
}

// withinBucket reports whether got is within a histogram bucket's width of
// want.
func withinBucket(got, want time.Duration) bool {
	tolerance := float64(want) * (math.Exp2(1.0/histPerOctave) - 1)
	return math.Abs(float64(got-want)) <= max(tolerance, float64(histMinUS*time.Microsecond))
}

func TestStatsPercentiles(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	rng := rand.New(rand.NewPCG(3, 4))
	// Durations 1ms…1000ms, TTFB a quarter of them for the even calls and
	// none for the odd ones; half in one hour, half in the next.
	var calls []Call
	var durations, ttfbs, firstHour []time.Duration
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Millisecond
		c := Call{RequestID: fmt.Sprint(i), Status: CallOK, AccountID: 1, KeyID: 1, Provider: "p", Model: "m",
			CreatedAt: statsBase.Add(time.Duration(i%2) * time.Hour), Duration: d}
		if i%2 == 0 {
			c.TTFB = d / 4
			ttfbs = append(ttfbs, c.TTFB)
			firstHour = append(firstHour, d)
		}
		durations = append(durations, d)
		calls = append(calls, c)
	}
	rng.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	recordAll(t, s, calls)

	rows, err := s.Stats(ctx, StatsFilter{Bucket: StatsDay})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Calls != 1000 {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"duration p50", r.Durationp50, exactQuantile(durations, 0.50)},
		{"duration p95", r.Durationp95, exactQuantile(durations, 0.95)},
		{"ttfb p50", r.TTFBp50, exactQuantile(ttfbs, 0.50)},
		{"ttfb p95", r.TTFBp95, exactQuantile(ttfbs, 0.95)},
	} {
		if !withinBucket(c.got, c.want) {
			t.Errorf("%s = %v, want %v within a bucket", c.name, c.got, c.want)
		}
	}

	// Grouped by hour: each hour's own percentiles; merged over the two
	// hours they are those of all the calls.
	rows, err = s.Stats(ctx, StatsFilter{GroupBy: []string{GroupByTime}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d hourly rows", len(rows))
	}
	hour := statsBase.Truncate(time.Hour).UTC()
	if !rows[0].Start.Equal(hour) || !rows[1].Start.Equal(hour.Add(time.Hour)) || rows[0].Start.Location() != time.UTC {
		t.Errorf("starts %v, %v", rows[0].Start, rows[1].Start)
	}
	if want := exactQuantile(firstHour, 0.95); !withinBucket(rows[0].Durationp95, want) {
		t.Errorf("first hour's p95 = %v, want %v", rows[0].Durationp95, want)
	}
	if rows[1].TTFBp50 != 0 || rows[1].Calls != 500 {
		t.Errorf("second hour: %+v (no TTFB)", rows[1])
	}
	merged, err := s.Stats(ctx, StatsFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if merged[0].Durationp95 != r.Durationp95 || merged[0].TTFBp50 != r.TTFBp50 {
		t.Errorf("hourly rows merged: %+v; daily row: %+v", merged[0], r)
	}
	// The stored percentile columns agree.
	stored := queryInt(t, s, "SELECT duration_p95_us FROM model_call_stats WHERE bucket = 'day';")
	if stored != r.Durationp95.Microseconds() {
		t.Errorf("stored duration_p95_us %d, computed %d", stored, r.Durationp95.Microseconds())
	}
}

func TestHistogram(t *testing.T) {
	for _, tt := range []struct {
		us   int64
		want int
	}{
		{0, 0}, {99, 0}, {100, 1}, {118, 1}, {119, 2}, {199, 4}, {200, 5}, {400, 9},
		{100 << 23, histBuckets - 1}, {math.MaxInt64 / 1000, histBuckets - 1}, {-5, 0},
	} {
		if got := histIndex(tt.us); got != tt.want {
			t.Errorf("histIndex(%d) = %d, want %d", tt.us, got, tt.want)
		}
	}
	// Every value lands in the bucket whose bounds contain it.
	for us := int64(1); us < 1e12; us = us*3/2 + 1 {
		lo, hi := histBounds(histIndex(us))
		if float64(us) < lo || float64(us) >= hi {
			t.Errorf("%dµs in bucket [%v, %v)", us, lo, hi)
		}
	}

	var h histogram
	if h.quantile(0.5) != 0 || len(h.encode()) != 0 {
		t.Error("empty histogram")
	}
	for _, d := range []time.Duration{time.Millisecond, time.Millisecond, time.Second, time.Hour, 10 * time.Microsecond} {
		h.add(d)
	}
	if got := h.quantile(1); got != histMinUS*time.Microsecond<<histOctaves {
		t.Errorf("max = %v, want the overflow bucket's lower bound", got)
	}
	if got := h.quantile(0.5); !withinBucket(got, time.Millisecond) {
		t.Errorf("median = %v", got)
	}
	dec, err := decodeHistogram(h.encode())
	if err != nil || dec != h {
		t.Errorf("round trip: %v, %v", dec, err)
	}
	for _, b := range [][]byte{
		{0x80},           // truncated index
		{1},              // missing count
		{5, 1, 5, 1},     // repeated index
		{5, 1, 3, 1},     // decreasing index
		{histBuckets, 1}, // index out of range
		{1, 0x80, 0x80},  // truncated count
	} {
		if _, err := decodeHistogram(b); err == nil {
			t.Errorf("decodeHistogram(%v) succeeded", b)
		}
	}
}

func FuzzDecodeHistogram(f *testing.F) {
	var h histogram
	h.add(time.Millisecond)
	h.add(time.Minute)
	f.Add(h.encode())
	f.Add([]byte{})
	f.Add([]byte{0, 1, 93, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHistogram(b)
		if err != nil {
			return
		}
		h.quantile(0.5)
		again, err := decodeHistogram(h.encode())
		if err != nil || again != h {
			t.Fatalf("re-encoding %v: %v, %v", b, again, err)
		}
	})
}

func TestStatsGroupByAndFilter(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	rng := rand.New(rand.NewPCG(5, 6))
	calls := randomCalls(rng, 500)
	recordAll(t, s, calls)

	hour := func(t time.Time) time.Time { return t.Truncate(time.Hour).UTC() }
	day := func(t time.Time) time.Time { return time.UnixMilli(bucketStart(t.UnixMilli(), dayMS)).UTC() }
	since, until := hour(statsBase.Add(10*time.Hour)), hour(statsBase.Add(30*time.Hour))
	for _, tt := range []struct {
		name   string
		filter StatsFilter
		match  func(c Call) bool
		key    func(c Call) StatsRow // the dimensions of c's group
	}{
		{"totals", StatsFilter{}, nil, func(c Call) StatsRow { return StatsRow{} }},
		{"account", StatsFilter{GroupBy: []string{GroupByAccount}}, nil,
			func(c Call) StatsRow { return StatsRow{AccountID: c.AccountID} }},
		{"provider and model", StatsFilter{GroupBy: []string{GroupByProvider, GroupByModel}}, nil,
			func(c Call) StatsRow { return StatsRow{Provider: c.Provider, Model: c.Model} }},
		{"key per day", StatsFilter{Bucket: StatsDay, GroupBy: []string{GroupByTime, GroupByKey}}, nil,
			func(c Call) StatsRow { return StatsRow{Start: day(c.CreatedAt), KeyID: c.KeyID} }},
		{"every dimension", StatsFilter{GroupBy: []string{GroupByTime, GroupByAccount, GroupByKey, GroupByProvider, GroupByModel}}, nil,
			func(c Call) StatsRow {
				return StatsRow{Start: hour(c.CreatedAt), AccountID: c.AccountID, KeyID: c.KeyID, Provider: c.Provider, Model: c.Model}
			}},
		{"one account's models", StatsFilter{AccountID: 2, GroupBy: []string{GroupByModel}},
			func(c Call) bool { return c.AccountID == 2 },
			func(c Call) StatsRow { return StatsRow{Model: c.Model} }},
		{"key, provider and model filters", StatsFilter{KeyID: 11, Provider: "openai", Model: "gpt-4o"},
			func(c Call) bool { return c.KeyID == 11 && c.Provider == "openai" && c.Model == "gpt-4o" },
			func(c Call) StatsRow { return StatsRow{} }},
		{"time range", StatsFilter{Since: since, Until: until, GroupBy: []string{GroupByTime}},
			func(c Call) bool { return !c.CreatedAt.Before(since) && c.CreatedAt.Before(until) },
			func(c Call) StatsRow { return StatsRow{Start: hour(c.CreatedAt)} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := make(map[StatsRow]StatsRow)
			for _, c := range calls {
				if tt.match != nil && !tt.match(c) {
					continue
				}
				k := tt.key(c)
				r := want[k]
				r.Calls++
				r.PromptTokens += c.PromptTokens
				r.Credits += c.Credits
				if c.Status == CallError {
					r.Errors++
				}
				want[k] = r
			}
			rows, err := s.Stats(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(rows), len(want))
			}
			for i, r := range rows {
				k := StatsRow{Start: r.Start, AccountID: r.AccountID, KeyID: r.KeyID, Provider: r.Provider, Model: r.Model}
				w, ok := want[k]
				if !ok {
					t.Errorf("unexpected group %+v", k)
					continue
				}
				if r.Calls != w.Calls || r.PromptTokens != w.PromptTokens || r.Credits != w.Credits || r.Errors != w.Errors {
					t.Errorf("group %+v: %+v, want %+v", k, r, w)
				}
				if i > 0 && rows[i-1].Start.After(r.Start) {
					t.Errorf("rows out of order")
				}
			}
		})
	}

	for _, f := range []StatsFilter{{Bucket: "week"}, {GroupBy: []string{"region"}}} {
		if _, err := s.Stats(ctx, f); err == nil {
			t.Errorf("Stats(%+v) succeeded", f)
		}
	}
}

func TestWriteCallsCSV(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	odd := Call{
		RequestID: "=HYPERLINK(\"http://evil\")", CreatedAt: statsBase, API: "chat.completions", AccountID: 3,
		KeyID: 4, Provider: "openai", CredentialID: 5, Model: "gpt-4o", UpstreamModel: "gpt-4o-2024",
		Stream: true, Status: CallError, HTTPStatus: 502, ErrorType: "upstream_error",
		ErrorMessage: "bad, \"very\" bad\nsecond line", PromptTokens: 10, CompletionTokens: 20, CachedTokens: 1,
		CacheWriteTokens: 2, ReasoningTokens: 3, Images: 4, UsageEstimated: true,
		TTFB: 1500 * time.Microsecond, Duration: 2 * time.Second, Attempts: 2, Credits: 1234,
	}
	calls := []Call{odd}
	for i := range 2499 {
		c := testCall(fmt.Sprint("req-", i), int64(i))
		c.CreatedAt = statsBase.Add(time.Duration(i+1) * time.Second)
		calls = append(calls, c)
	}
	recordAll(t, s, calls)

	read := func(f CallFilter) [][]string {
		t.Helper()
		var buf bytes.Buffer
		if err := s.WriteCallsCSV(ctx, &buf, f); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	all := read(CallFilter{})
	header := "id,request_id,created_at,api,account_id,key_id,provider,credential_id,model,upstream_model,stream,status,http_status,error_type,error_message,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,reasoning_tokens,images,usage_estimated,ttfb_us,duration_us,attempts,credits"
	if got := strings.Join(all[0], ","); got != header {
		t.Errorf("header %s", got)
	}
	if len(all) != 1+2500 {
		t.Fatalf("%d records, want 2501", len(all))
	}
	// Newest first, each call once, across pages.
	seen := make(map[string]bool)
	for i, rec := range all[1:] {
		if seen[rec[0]] {
			t.Fatalf("call %s written twice", rec[0])
		}
		seen[rec[0]] = true
		if i > 0 && rec[2] > all[i][2] {
			t.Fatalf("record %d (%s) newer than the one before (%s)", i, rec[2], all[i][2])
		}
	}
	last := strings.Join(all[len(all)-1][1:], "|")
	want := `'=HYPERLINK("http://evil")|2023-11-14T22:13:20.000Z|chat.completions|3|4|openai|5|gpt-4o|gpt-4o-2024|true|error|502|upstream_error|bad, "very" bad` +
		"\n" + `second line|10|20|1|2|3|4|true|1500|2000000|2|1234`
	if last != want {
		t.Errorf("odd call:\n got %s\nwant %s", last, want)
	}
	if _, err := time.Parse(time.RFC3339, all[1][2]); err != nil {
		t.Errorf("created_at %q is not RFC 3339: %v", all[1][2], err)
	}

	for _, tt := range []struct {
		name   string
		filter CallFilter
		want   int
	}{
		{"limit across pages", CallFilter{Limit: 1500}, 1500},
		{"small limit", CallFilter{Limit: 3}, 3},
		{"status", CallFilter{Status: CallError}, 1},
		{"since", CallFilter{Since: statsBase.Add(2000 * time.Second)}, 500},
		{"until", CallFilter{Until: statsBase.Add(10 * time.Second)}, 10},
		{"account", CallFilter{AccountID: 3}, 1},
		{"nothing", CallFilter{Model: "nope"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if recs := read(tt.filter); len(recs)-1 != tt.want {
				t.Errorf("%d calls, want %d", len(recs)-1, tt.want)
			}
		})
	}
}

func TestWriteStatsCSV(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	var calls []Call
	for i, p := range []string{"openai", "openai", "=cmd"} {
		calls = append(calls, Call{
			RequestID: fmt.Sprint(i), CreatedAt: statsBase, AccountID: 1, KeyID: int64(i), Provider: p, Model: "m",
			Status: CallOK, PromptTokens: 10, CompletionTokens: 1, Credits: 7, TTFB: 100 * time.Millisecond,
			Duration: 100 * time.Millisecond,
		})
	}
	recordAll(t, s, calls)
	var buf bytes.Buffer
	err := s.WriteStatsCSV(ctx, &buf, StatsFilter{GroupBy: []string{GroupByTime, GroupByProvider}})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("records:\n%s", buf.String())
	}
	header := "start,bucket,account_id,key_id,provider,model,calls,errors,aborted,prompt_tokens,completion_tokens,cached_tokens,cache_write_tokens,reasoning_tokens,images,credits,ttfb_p50_us,ttfb_p95_us,duration_p50_us,duration_p95_us"
	if got := strings.Join(recs[0], ","); got != header {
		t.Errorf("header %s", got)
	}
	// Rows are ordered by provider: "=cmd" (neutralized) before "openai".
	for i, want := range []string{
		"2023-11-14T22:00:00.000Z,hour,,,'=cmd,,1,0,0,10,1,0,0,0,0,7",
		"2023-11-14T22:00:00.000Z,hour,,,openai,,2,0,0,20,2,0,0,0,0,14",
	} {
		rec := recs[i+1]
		if got := strings.Join(rec[:16], ","); got != want {
			t.Errorf("row %d:\n got %s\nwant %s", i, got, want)
		}
		for _, p := range rec[16:] {
			us, err := strconv.ParseInt(p, 10, 64)
			if err != nil || !withinBucket(time.Duration(us)*time.Microsecond, 100*time.Millisecond) {
				t.Errorf("row %d: percentile %q, want about 100000", i, p)
			}
		}
	}
	if err := s.WriteStatsCSV(ctx, &buf, StatsFilter{Bucket: "year"}); err == nil {
		t.Error("WriteStatsCSV with a bad bucket succeeded")
	}
}

// TestMigrationRollsUpOldCalls checks that migrating a database that has
// calls recorded before the rollups existed fills them in.
func TestMigrationRollsUpOldCalls(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/hub.db"
	conn := openAtVersion(t, path, 2)
	err := sqlitex.ExecuteScript(conn, `
		INSERT INTO accounts (name, created_at) VALUES ('acme', 0);
		INSERT INTO model_calls (created_at, account_id, key_id, provider, model, status, prompt_tokens)
		VALUES (1700000000000, 1, 2, 'openai', 'gpt-4o', 'ok', 10),
		       (1700000001000, 1, 2, 'openai', 'gpt-4o', 'error', 5),
		       (1700003600000, 1, 2, 'openai', 'gpt-4o', 'aborted', 1);`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := queryRows(t, s, "SELECT bucket, start, calls, errors, aborted, prompt_tokens FROM model_call_stats ORDER BY bucket, start;")
	want := []string{
		"day 1699920000000 3 1 1 16",
		"hour 1699999200000 2 1 0 15",
		"hour 1700002800000 1 0 1 1",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rollups %q, want %q", got, want)
	}
	// The account kept ID 1, and new ones follow it.
	a, err := s.EnsureAccount(ctx, "globex")
	if err != nil || a.ID != 2 {
		t.Errorf("new account = %+v, %v; want ID 2", a, err)
	}
	// New calls merge into the old rows.
	recordAll(t, s, []Call{{CreatedAt: time.UnixMilli(1700000002000), AccountID: 1, KeyID: 2, Provider: "openai",
		Model: "gpt-4o", Status: CallOK, PromptTokens: 100, Duration: time.Second}})
	rows, err := s.Stats(ctx, StatsFilter{Bucket: StatsDay})
	if err != nil || len(rows) != 1 || rows[0].Calls != 4 || rows[0].PromptTokens != 116 || !withinBucket(rows[0].Durationp50, time.Second) {
		t.Errorf("Stats after migration = %+v, %v", rows, err)
	}
}

// BenchmarkRecorderRollups records calls spread over 64 rollup groups, so
// that every batch updates many rollup rows.
func BenchmarkRecorderRollups(b *testing.B) {
	s, _ := openTest(b, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	calls := make([]Call, 64)
	for i := range calls {
		calls[i] = testCall("bench", int64(i))
		calls[i].AccountID = int64(i % 8)
		calls[i].Model = fmt.Sprint("model-", i/8)
		calls[i].Duration = time.Duration(i) * time.Millisecond
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := r.Record(calls[i%len(calls)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	closeRecorder(b, r)
}
