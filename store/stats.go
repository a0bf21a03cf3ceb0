package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// Rollup bucket sizes: the Bucket of a [StatsFilter].
const (
	StatsHour = "hour"
	StatsDay  = "day"
)

// Stats dimensions: the GroupBy of a [StatsFilter].
const (
	GroupByAccount  = "account"
	GroupByKey      = "key"
	GroupByProvider = "provider"
	GroupByModel    = "model"
	GroupByTime     = "time"
)

// The latency histograms of the rollups have log-spaced buckets, four per
// doubling: bucket 0 holds [0, 100µs), bucket i in 1…92 holds
// [100µs·2^((i-1)/4), 100µs·2^(i/4)), and bucket 93 holds everything from
// 100µs·2^23 (about 14 minutes) up. A percentile read from a histogram
// lies in the same bucket as the exact one, so it is off by less than a
// bucket's width: 19% of the value (less than 100µs below 100µs), and
// about half that in practice, as it is interpolated within the bucket.
// Above 14 minutes, it is only known to be above.
const (
	histMinUS     = 100 // the upper bound of bucket 0, in µs
	histPerOctave = 4
	histOctaves   = 23
	histBuckets   = 2 + histPerOctave*histOctaves
)

// A histogram counts latencies in the buckets described above.
type histogram [histBuckets]uint64

func histIndex(us int64) int {
	if us < histMinUS {
		return 0
	}
	i := 1 + int(math.Floor(math.Log2(float64(us)/histMinUS)*histPerOctave))
	return min(i, histBuckets-1)
}

// histBounds returns bucket i's bounds in µs: [lo, hi).
func histBounds(i int) (lo, hi float64) {
	switch i {
	case 0:
		return 0, histMinUS
	case histBuckets - 1:
		return histMinUS * math.Exp2(histOctaves), math.Inf(1)
	}
	return histMinUS * math.Exp2(float64(i-1)/histPerOctave), histMinUS * math.Exp2(float64(i)/histPerOctave)
}

func (h *histogram) add(d time.Duration) { h[histIndex(d.Microseconds())]++ }

func (h *histogram) merge(o *histogram) {
	for i := range h {
		h[i] += o[i]
	}
}

// quantile returns the q-quantile (0 < q <= 1) of the counted values: the
// ceil(q·n)-th smallest, located in its bucket by interpolating
// geometrically between the bucket's bounds. It returns 0 if h is empty.
func (h *histogram) quantile(q float64) time.Duration {
	var n uint64
	for _, c := range h {
		n += c
	}
	if n == 0 {
		return 0
	}
	target := max(uint64(math.Ceil(q*float64(n))), 1)
	var cum uint64
	for i, c := range h {
		if cum+c < target {
			cum += c
			continue
		}
		// The target is the k-th of the c values here; place the values
		// at the middles of c equal slices of the bucket.
		f := (float64(target-cum) - 0.5) / float64(c)
		lo, hi := histBounds(i)
		var us float64
		switch i {
		case 0:
			us = f * hi
		case histBuckets - 1:
			us = lo
		default:
			us = lo * math.Pow(hi/lo, f)
		}
		return time.Duration(math.Round(us)) * time.Microsecond
	}
	return 0 // unreachable: target <= n
}

// encode returns h as stored: for each non-empty bucket in order, the
// uvarint of its index and the uvarint of its count; nothing when empty.
func (h *histogram) encode() []byte {
	var b []byte
	for i, c := range h {
		if c != 0 {
			b = binary.AppendUvarint(b, uint64(i))
			b = binary.AppendUvarint(b, c)
		}
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// decodeHistogram parses what encode returns.
func decodeHistogram(b []byte) (histogram, error) {
	var h histogram
	last := -1
	for len(b) > 0 {
		i, n := binary.Uvarint(b)
		if n <= 0 {
			return histogram{}, errors.New("corrupt histogram")
		}
		b = b[n:]
		c, n := binary.Uvarint(b)
		if n <= 0 || i >= histBuckets || int(i) <= last {
			return histogram{}, errors.New("corrupt histogram")
		}
		b = b[n:]
		h[i], last = c, int(i)
	}
	return h, nil
}

// A statsKey identifies a rollup row.
type statsKey struct {
	bucket           string
	start            int64 // Unix ms
	accountID, keyID int64
	provider, model  string
}

// statsAgg is the content of a rollup row.
type statsAgg struct {
	calls, errors, aborted                 int64
	prompt, completion, cached, cacheWrite int64
	reasoning, images, credits             int64
	ttfb, duration                         histogram
}

func (a *statsAgg) addCall(c *Call) {
	a.calls++
	switch c.Status {
	case CallError:
		a.errors++
	case CallAborted:
		a.aborted++
	}
	a.prompt += c.PromptTokens
	a.completion += c.CompletionTokens
	a.cached += c.CachedTokens
	a.cacheWrite += c.CacheWriteTokens
	a.reasoning += c.ReasoningTokens
	a.images += c.Images
	a.credits += c.Credits
	if c.TTFB > 0 {
		a.ttfb.add(c.TTFB)
	}
	a.duration.add(max(c.Duration, 0))
}

func (a *statsAgg) merge(o *statsAgg) {
	a.calls += o.calls
	a.errors += o.errors
	a.aborted += o.aborted
	a.prompt += o.prompt
	a.completion += o.completion
	a.cached += o.cached
	a.cacheWrite += o.cacheWrite
	a.reasoning += o.reasoning
	a.images += o.images
	a.credits += o.credits
	a.ttfb.merge(&o.ttfb)
	a.duration.merge(&o.duration)
}

// Rollup bucket widths in ms. Buckets start at multiples of them since the
// Unix epoch: UTC hours and days.
const (
	hourMS = int64(time.Hour / time.Millisecond)
	dayMS  = 24 * hourMS
)

func bucketStart(ms, width int64) int64 {
	r := ms % width
	if r < 0 {
		r += width
	}
	return ms - r
}

// Statements of the rollup upsert, read once: the recorder prepares them
// on every batch.
var (
	statsHistGetSQL = mustReadQuery("stats_hist_get.sql")
	statsUpsertSQL  = mustReadQuery("stats_upsert.sql")
)

// upsertStats adds calls to the hourly and daily rollups, one upsert per
// rollup row, in the caller's transaction.
func upsertStats(conn *sqlite.Conn, calls []Call) error {
	groups := make(map[statsKey]*statsAgg)
	for i := range calls {
		c := &calls[i]
		ms := c.CreatedAt.UnixMilli()
		for _, b := range [...]struct {
			name  string
			width int64
		}{{StatsHour, hourMS}, {StatsDay, dayMS}} {
			k := statsKey{b.name, bucketStart(ms, b.width), c.AccountID, c.KeyID, c.Provider, c.Model}
			a := groups[k]
			if a == nil {
				a = new(statsAgg)
				groups[k] = a
			}
			a.addCall(c)
		}
	}
	get, err := conn.Prepare(statsHistGetSQL)
	if err != nil {
		return err
	}
	upsert, err := conn.Prepare(statsUpsertSQL)
	if err != nil {
		return err
	}
	for k, a := range groups {
		for _, stmt := range []*sqlite.Stmt{get, upsert} {
			stmt.SetText(":bucket", k.bucket)
			stmt.SetInt64(":start", k.start)
			stmt.SetInt64(":account_id", k.accountID)
			stmt.SetInt64(":key_id", k.keyID)
			stmt.SetText(":provider", k.provider)
			stmt.SetText(":model", k.model)
		}
		row, err := get.Step()
		if err == nil && row {
			// A histogram that does not decode is replaced by the batch's:
			// failing here would stall the recorder on every retry.
			if old, derr := decodeHistogram(columnBytes(get, "ttfb_hist")); derr == nil {
				a.ttfb.merge(&old)
			}
			if old, derr := decodeHistogram(columnBytes(get, "duration_hist")); derr == nil {
				a.duration.merge(&old)
			}
		}
		if rerr := get.Reset(); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("read rollup: %w", err)
		}
		upsert.SetInt64(":calls", a.calls)
		upsert.SetInt64(":errors", a.errors)
		upsert.SetInt64(":aborted", a.aborted)
		upsert.SetInt64(":prompt_tokens", a.prompt)
		upsert.SetInt64(":completion_tokens", a.completion)
		upsert.SetInt64(":cached_tokens", a.cached)
		upsert.SetInt64(":cache_write_tokens", a.cacheWrite)
		upsert.SetInt64(":reasoning_tokens", a.reasoning)
		upsert.SetInt64(":images", a.images)
		upsert.SetInt64(":credits", a.credits)
		upsert.SetBytes(":ttfb_hist", a.ttfb.encode())
		upsert.SetBytes(":duration_hist", a.duration.encode())
		upsert.SetInt64(":ttfb_p50_us", a.ttfb.quantile(0.50).Microseconds())
		upsert.SetInt64(":ttfb_p95_us", a.ttfb.quantile(0.95).Microseconds())
		upsert.SetInt64(":duration_p50_us", a.duration.quantile(0.50).Microseconds())
		upsert.SetInt64(":duration_p95_us", a.duration.quantile(0.95).Microseconds())
		_, err = upsert.Step()
		if rerr := upsert.Reset(); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("update rollup: %w", err)
		}
	}
	return nil
}

func columnBytes(stmt *sqlite.Stmt, col string) []byte {
	b := make([]byte, stmt.GetLen(col))
	stmt.GetBytes(col, b)
	return b
}

// A StatsFilter selects and groups usage statistics for [Store.Stats].
// Zero fields match everything.
type StatsFilter struct {
	// Bucket is the rollup read: StatsHour or StatsDay (UTC days). Empty
	// means StatsHour.
	Bucket string
	// Since and Until select the buckets whose start is in [Since,
	// Until): a bucket is counted whole or not at all. Zero means
	// unbounded.
	Since, Until time.Time
	AccountID    int64
	KeyID        int64
	Provider     string
	Model        string
	// GroupBy lists the dimensions kept apart, any of GroupByAccount,
	// GroupByKey, GroupByProvider, GroupByModel and GroupByTime (one row
	// per bucket); the others are summed over. Empty means one row of
	// totals.
	GroupBy []string
}

// A StatsRow is the usage of one group. The fields of dimensions not
// grouped by are zero (Start, AccountID, KeyID) or empty.
type StatsRow struct {
	Start            time.Time // the bucket's start, in UTC
	AccountID        int64
	KeyID            int64
	Provider         string
	Model            string
	Calls            int64
	Errors           int64 // calls with status CallError
	Aborted          int64 // calls with status CallAborted
	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64
	CacheWriteTokens int64
	ReasoningTokens  int64
	Images           int64
	Credits          int64 // charged, micro-credits
	// The percentiles are read from histograms with four buckets per
	// doubling, which makes them precise to within a bucket: 19% of the
	// value. TTFB is over the calls that sent a first byte, duration over
	// all. Zero when there are none.
	TTFBp50, TTFBp95         time.Duration
	Durationp50, Durationp95 time.Duration
}

// statsGroups is a parsed GroupBy.
type statsGroups struct{ account, key, provider, model, time bool }

func parseGroupBy(dims []string) (statsGroups, error) {
	var g statsGroups
	for _, d := range dims {
		switch d {
		case GroupByAccount:
			g.account = true
		case GroupByKey:
			g.key = true
		case GroupByProvider:
			g.provider = true
		case GroupByModel:
			g.model = true
		case GroupByTime:
			g.time = true
		default:
			return statsGroups{}, fmt.Errorf("unknown group-by dimension %q", d)
		}
	}
	return g, nil
}

// Stats returns the usage matching f from the rollups, one row per group,
// ordered by start, account, key, provider and model. Groups merge their
// histograms, so their percentiles are those of all their calls.
func (s *Store) Stats(ctx context.Context, f StatsFilter) ([]StatsRow, error) {
	rows, err := s.stats(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	return rows, nil
}

func (s *Store) stats(ctx context.Context, f StatsFilter) ([]StatsRow, error) {
	switch f.Bucket {
	case "":
		f.Bucket = StatsHour
	case StatsHour, StatsDay:
	default:
		return nil, fmt.Errorf("unknown bucket %q", f.Bucket)
	}
	g, err := parseGroupBy(f.GroupBy)
	if err != nil {
		return nil, err
	}
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		since = f.Since.UnixMilli()
	}
	if !f.Until.IsZero() {
		until = f.Until.UnixMilli()
	}
	groups := make(map[statsKey]*statsAgg)
	err = s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "stats_list.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":bucket":     f.Bucket,
				":since":      since,
				":until":      until,
				":account_id": f.AccountID,
				":key_id":     f.KeyID,
				":provider":   f.Provider,
				":model":      f.Model,
			},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				var k statsKey
				if g.time {
					k.start = stmt.GetInt64("start")
				}
				if g.account {
					k.accountID = stmt.GetInt64("account_id")
				}
				if g.key {
					k.keyID = stmt.GetInt64("key_id")
				}
				if g.provider {
					k.provider = stmt.GetText("provider")
				}
				if g.model {
					k.model = stmt.GetText("model")
				}
				row := statsAgg{
					calls:      stmt.GetInt64("calls"),
					errors:     stmt.GetInt64("errors"),
					aborted:    stmt.GetInt64("aborted"),
					prompt:     stmt.GetInt64("prompt_tokens"),
					completion: stmt.GetInt64("completion_tokens"),
					cached:     stmt.GetInt64("cached_tokens"),
					cacheWrite: stmt.GetInt64("cache_write_tokens"),
					reasoning:  stmt.GetInt64("reasoning_tokens"),
					images:     stmt.GetInt64("images"),
					credits:    stmt.GetInt64("credits"),
				}
				var err error
				if row.ttfb, err = decodeHistogram(columnBytes(stmt, "ttfb_hist")); err != nil {
					return fmt.Errorf("rollup at %d: ttfb: %w", stmt.GetInt64("start"), err)
				}
				if row.duration, err = decodeHistogram(columnBytes(stmt, "duration_hist")); err != nil {
					return fmt.Errorf("rollup at %d: duration: %w", stmt.GetInt64("start"), err)
				}
				a := groups[k]
				if a == nil {
					a = new(statsAgg)
					groups[k] = a
				}
				a.merge(&row)
				return nil
			},
		})
	})
	if err != nil {
		return nil, err
	}
	out := make([]StatsRow, 0, len(groups))
	for k, a := range groups {
		r := StatsRow{
			AccountID:        k.accountID,
			KeyID:            k.keyID,
			Provider:         k.provider,
			Model:            k.model,
			Calls:            a.calls,
			Errors:           a.errors,
			Aborted:          a.aborted,
			PromptTokens:     a.prompt,
			CompletionTokens: a.completion,
			CachedTokens:     a.cached,
			CacheWriteTokens: a.cacheWrite,
			ReasoningTokens:  a.reasoning,
			Images:           a.images,
			Credits:          a.credits,
			TTFBp50:          a.ttfb.quantile(0.50),
			TTFBp95:          a.ttfb.quantile(0.95),
			Durationp50:      a.duration.quantile(0.50),
			Durationp95:      a.duration.quantile(0.95),
		}
		if g.time {
			r.Start = time.UnixMilli(k.start).UTC()
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b StatsRow) int {
		return cmp.Or(
			a.Start.Compare(b.Start),
			cmp.Compare(a.AccountID, b.AccountID),
			cmp.Compare(a.KeyID, b.KeyID),
			cmp.Compare(a.Provider, b.Provider),
			cmp.Compare(a.Model, b.Model),
		)
	})
	return out, nil
}

// csvTime is how times appear in CSV exports: RFC 3339 in UTC, to the
// millisecond.
const csvTime = "2006-01-02T15:04:05.000Z07:00"

// csvText neutralizes a text field that a spreadsheet would run as a
// formula (it starts with =, +, -, @, a tab or a carriage return) by
// prefixing it with a quote, as OWASP recommends: request IDs, model
// names and error messages come from clients and upstreams.
func csvText(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// callsCSVPage is how many calls WriteCallsCSV reads at a time; each page
// is its own read, so that a slow writer does not pin a database snapshot.
const callsCSVPage = 1000

// WriteCallsCSV writes the calls matching f to w as CSV, newest first,
// with a header row. Times are RFC 3339 in UTC, durations in µs, credits
// in micro-credits. A zero or negative f.Limit writes every matching call.
// Text fields that would start a spreadsheet formula are prefixed with a
// quote (').
func (s *Store) WriteCallsCSV(ctx context.Context, w io.Writer, f CallFilter) error {
	cw := csv.NewWriter(w)
	err := cw.Write([]string{
		"id", "request_id", "created_at", "api", "account_id", "key_id", "provider",
		"credential_id", "model", "upstream_model", "stream", "status", "http_status",
		"error_type", "error_message", "prompt_tokens", "completion_tokens",
		"cached_tokens", "cache_write_tokens", "reasoning_tokens", "images",
		"usage_estimated", "ttfb_us", "duration_us", "attempts", "credits",
	})
	if err != nil {
		return fmt.Errorf("write calls csv: %w", err)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	left := f.Limit
	cur := newCallCursor(f)
	for f.Limit <= 0 || left > 0 {
		page := callsCSVPage
		if f.Limit > 0 {
			page = min(page, left)
		}
		n := 0
		err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
			cur, err = callsPage(conn, f, cur, page, func(c *Call) error {
				n++
				return cw.Write([]string{
					i64(c.ID), csvText(c.RequestID), c.CreatedAt.UTC().Format(csvTime), csvText(c.API),
					i64(c.AccountID), i64(c.KeyID), csvText(c.Provider), i64(c.CredentialID),
					csvText(c.Model), csvText(c.UpstreamModel), strconv.FormatBool(c.Stream), c.Status,
					strconv.Itoa(c.HTTPStatus), csvText(c.ErrorType), csvText(c.ErrorMessage),
					i64(c.PromptTokens), i64(c.CompletionTokens), i64(c.CachedTokens),
					i64(c.CacheWriteTokens), i64(c.ReasoningTokens), i64(c.Images),
					strconv.FormatBool(c.UsageEstimated), i64(c.TTFB.Microseconds()),
					i64(c.Duration.Microseconds()), strconv.Itoa(c.Attempts), i64(c.Credits),
				})
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("write calls csv: %w", err)
		}
		// Flush each page, so that w sees progress and errors surface.
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("write calls csv: %w", err)
		}
		left -= n
		if n < page {
			break
		}
	}
	return nil
}

// WriteStatsCSV writes [Store.Stats] of f to w as CSV, with a header row.
// Columns of dimensions not grouped by are empty; start is RFC 3339 in
// UTC; percentiles are in µs, credits in micro-credits.
func (s *Store) WriteStatsCSV(ctx context.Context, w io.Writer, f StatsFilter) error {
	rows, err := s.stats(ctx, f)
	if err != nil {
		return fmt.Errorf("write stats csv: %w", err)
	}
	g, _ := parseGroupBy(f.GroupBy) // stats validated it
	bucket := cmp.Or(f.Bucket, StatsHour)
	cw := csv.NewWriter(w)
	err = cw.Write([]string{
		"start", "bucket", "account_id", "key_id", "provider", "model", "calls", "errors",
		"aborted", "prompt_tokens", "completion_tokens", "cached_tokens",
		"cache_write_tokens", "reasoning_tokens", "images", "credits",
		"ttfb_p50_us", "ttfb_p95_us", "duration_p50_us", "duration_p95_us",
	})
	if err != nil {
		return fmt.Errorf("write stats csv: %w", err)
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	opt := func(keep bool, v string) string {
		if keep {
			return v
		}
		return ""
	}
	for _, r := range rows {
		err := cw.Write([]string{
			opt(g.time, r.Start.UTC().Format(csvTime)), opt(g.time, bucket),
			opt(g.account, i64(r.AccountID)), opt(g.key, i64(r.KeyID)),
			opt(g.provider, csvText(r.Provider)), opt(g.model, csvText(r.Model)),
			i64(r.Calls), i64(r.Errors), i64(r.Aborted), i64(r.PromptTokens),
			i64(r.CompletionTokens), i64(r.CachedTokens), i64(r.CacheWriteTokens),
			i64(r.ReasoningTokens), i64(r.Images), i64(r.Credits),
			i64(r.TTFBp50.Microseconds()), i64(r.TTFBp95.Microseconds()),
			i64(r.Durationp50.Microseconds()), i64(r.Durationp95.Microseconds()),
		})
		if err != nil {
			return fmt.Errorf("write stats csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write stats csv: %w", err)
	}
	return nil
}
