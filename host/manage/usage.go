package manage

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

// Call listing bounds.
const (
	// DefaultCallsLimit is how many calls a listing returns by default.
	DefaultCallsLimit = 100
	// MaxCallsLimit is the most calls one listing returns.
	MaxCallsLimit = 1000
)

// GroupByDimensions are the dimensions usage can be grouped by, the
// values of [store.StatsFilter].GroupBy.
var GroupByDimensions = []string{store.GroupByModel, store.GroupByProvider, store.GroupByAccount, store.GroupByKey, store.GroupByTime}

// ms shows a duration in milliseconds, for display.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// A StatsView is the usage of one group as the admin API and the CLI show
// it. The dimensions not grouped by are absent (Start, AccountID, KeyID,
// Provider, Model). Durations are given in µs (exact, as stored) and in
// ms; amounts in micro-credits and as decimal credits.
type StatsView struct {
	// Start is the start of the hour or (UTC) day, when grouped by time.
	Start *time.Time `json:"start,omitempty"`
	// Bucket is "hour" or "day": the rollup the row was read from.
	Bucket    string `json:"bucket"`
	AccountID int64  `json:"account_id,omitempty"`
	KeyID     int64  `json:"key_id,omitempty"`
	Provider  string `json:"provider,omitempty"`
	Model     string `json:"model,omitempty"`

	Calls            int64 `json:"calls"`
	Errors           int64 `json:"errors"`
	Aborted          int64 `json:"aborted"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
	Images           int64 `json:"images"`
	// Charged is what the calls were charged, in micro-credits.
	Charged        int64  `json:"charged"`
	ChargedCredits string `json:"charged_credits"`

	// Percentiles, read from histograms: precise to within 19%. TTFB is
	// over the calls that sent a first byte; zero when there are none.
	TTFBp50US     int64   `json:"ttfb_p50_us"`
	TTFBp50MS     float64 `json:"ttfb_p50_ms"`
	TTFBp95US     int64   `json:"ttfb_p95_us"`
	TTFBp95MS     float64 `json:"ttfb_p95_ms"`
	Durationp50US int64   `json:"duration_p50_us"`
	Durationp50MS float64 `json:"duration_p50_ms"`
	Durationp95US int64   `json:"duration_p95_us"`
	Durationp95MS float64 `json:"duration_p95_ms"`
}

// NewStatsView returns r's view; bucket is the rollup it was read from.
func NewStatsView(r store.StatsRow, bucket string) StatsView {
	v := StatsView{
		Bucket: bucket, AccountID: r.AccountID, KeyID: r.KeyID, Provider: r.Provider, Model: r.Model,
		Calls: r.Calls, Errors: r.Errors, Aborted: r.Aborted,
		PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, CachedTokens: r.CachedTokens,
		CacheWriteTokens: r.CacheWriteTokens, ReasoningTokens: r.ReasoningTokens, Images: r.Images,
		Charged: r.Credits, ChargedCredits: config.FormatCredits(r.Credits),
		TTFBp50US: r.TTFBp50.Microseconds(), TTFBp50MS: ms(r.TTFBp50),
		TTFBp95US: r.TTFBp95.Microseconds(), TTFBp95MS: ms(r.TTFBp95),
		Durationp50US: r.Durationp50.Microseconds(), Durationp50MS: ms(r.Durationp50),
		Durationp95US: r.Durationp95.Microseconds(), Durationp95MS: ms(r.Durationp95),
	}
	if !r.Start.IsZero() {
		start := r.Start
		v.Start = &start
	}
	return v
}

// checkStatsFilter validates f and returns it with its bucket set.
func checkStatsFilter(f store.StatsFilter) (store.StatsFilter, error) {
	switch f.Bucket {
	case "":
		f.Bucket = store.StatsHour
	case store.StatsHour, store.StatsDay:
	default:
		return f, invalid("bucket", "must be %q or %q; got %q", store.StatsHour, store.StatsDay, f.Bucket)
	}
	for i, d := range f.GroupBy {
		if !slices.Contains(GroupByDimensions, d) {
			return f, invalid("group_by", "unknown dimension %q (at %d): want some of %s", d, i, strings.Join(GroupByDimensions, ", "))
		}
	}
	if err := checkRange(f.Since, f.Until); err != nil {
		return f, err
	}
	if f.AccountID < 0 {
		return f, invalid("account_id", "must be positive")
	}
	if f.KeyID < 0 {
		return f, invalid("key_id", "must be positive")
	}
	return f, nil
}

func checkRange(since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return invalid("until", "must be after since")
	}
	return nil
}

// Usage returns the usage statistics f selects, one row per group (see
// [store.Store.Stats]): from the hourly rollups unless f.Bucket is "day".
// A bucket is counted whole when its start is in [f.Since, f.Until). It
// returns a *ValidationError for a bad bucket or dimension.
func (s *Service) Usage(ctx context.Context, f store.StatsFilter) ([]StatsView, error) {
	f, err := checkStatsFilter(f)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.Stats(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]StatsView, 0, len(rows))
	for _, r := range rows {
		out = append(out, NewStatsView(r, f.Bucket))
	}
	return out, nil
}

// WriteUsageCSV writes the usage statistics f selects to w as CSV
// ([store.Store.WriteStatsCSV]: durations in µs, amounts in
// micro-credits). It returns a *ValidationError, before writing anything,
// for a bad filter.
func (s *Service) WriteUsageCSV(ctx context.Context, w io.Writer, f store.StatsFilter) error {
	f, err := checkStatsFilter(f)
	if err != nil {
		return err
	}
	return s.st.WriteStatsCSV(ctx, w, f)
}

// An AttemptView is one upstream attempt of a call.
type AttemptView struct {
	Attempt   int       `json:"attempt"`
	StartedAt time.Time `json:"started_at"`
	Provider  string    `json:"provider"`
	// CredentialID is the credential used; absent for none.
	CredentialID  int64   `json:"credential_id,omitempty"`
	UpstreamModel string  `json:"upstream_model"`
	Status        string  `json:"status"`
	HTTPStatus    int     `json:"http_status"`
	ErrorType     string  `json:"error_type,omitempty"`
	ErrorMessage  string  `json:"error_message,omitempty"`
	DurationUS    int64   `json:"duration_us"`
	DurationMS    float64 `json:"duration_ms"`
}

// A CallView is a recorded model call as the admin API and the CLI show
// it. Durations are given in µs (exact, as stored) and in ms; the charge
// in micro-credits and as decimal credits.
type CallView struct {
	ID        int64     `json:"id"`
	RequestID string    `json:"request_id"`
	CreatedAt time.Time `json:"created_at"`
	API       string    `json:"api"`
	AccountID int64     `json:"account_id"`
	KeyID     int64     `json:"key_id"`
	Provider  string    `json:"provider"`
	// CredentialID is the credential of the last attempt; absent for
	// none.
	CredentialID  int64  `json:"credential_id,omitempty"`
	Model         string `json:"model"`
	UpstreamModel string `json:"upstream_model"`
	Stream        bool   `json:"stream"`
	// Status is "ok", "error" or "aborted".
	Status       string `json:"status"`
	HTTPStatus   int    `json:"http_status"`
	ErrorType    string `json:"error_type,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`

	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
	Images           int64 `json:"images"`
	// UsageEstimated is set when the token counts are the hub's estimate.
	UsageEstimated bool `json:"usage_estimated"`

	TTFBUS     int64   `json:"ttfb_us"`
	TTFBMS     float64 `json:"ttfb_ms"`
	DurationUS int64   `json:"duration_us"`
	DurationMS float64 `json:"duration_ms"`
	// AttemptCount is the number of upstream attempts, failovers
	// included.
	AttemptCount int `json:"attempt_count"`
	// Charged is what the call was charged, in micro-credits.
	Charged        int64  `json:"charged"`
	ChargedCredits string `json:"charged_credits"`

	// Attempts are the upstream attempts, shown for one call
	// ([Service.Call]) only.
	Attempts []AttemptView `json:"attempts,omitempty"`
}

// NewCallView returns c's view, without its attempts.
func NewCallView(c store.Call) CallView {
	return CallView{
		ID: c.ID, RequestID: c.RequestID, CreatedAt: c.CreatedAt, API: c.API,
		AccountID: c.AccountID, KeyID: c.KeyID, Provider: c.Provider, CredentialID: c.CredentialID,
		Model: c.Model, UpstreamModel: c.UpstreamModel, Stream: c.Stream, Status: c.Status,
		HTTPStatus: c.HTTPStatus, ErrorType: c.ErrorType, ErrorMessage: c.ErrorMessage,
		PromptTokens: c.PromptTokens, CompletionTokens: c.CompletionTokens, CachedTokens: c.CachedTokens,
		CacheWriteTokens: c.CacheWriteTokens, ReasoningTokens: c.ReasoningTokens, Images: c.Images,
		UsageEstimated: c.UsageEstimated,
		TTFBUS:         c.TTFB.Microseconds(), TTFBMS: ms(c.TTFB),
		DurationUS: c.Duration.Microseconds(), DurationMS: ms(c.Duration),
		AttemptCount: c.Attempts,
		Charged:      c.Credits, ChargedCredits: config.FormatCredits(c.Credits),
	}
}

// NewAttemptView returns a's view.
func NewAttemptView(a store.Attempt) AttemptView {
	return AttemptView{
		Attempt: a.Attempt, StartedAt: a.StartedAt, Provider: a.Provider, CredentialID: a.CredentialID,
		UpstreamModel: a.UpstreamModel, Status: a.Status, HTTPStatus: a.HTTPStatus,
		ErrorType: a.ErrorType, ErrorMessage: a.ErrorMessage,
		DurationUS: a.Duration.Microseconds(), DurationMS: ms(a.Duration),
	}
}

// checkCallFilter validates f.
func checkCallFilter(f store.CallFilter) error {
	switch f.Status {
	case "", store.CallOK, store.CallError, store.CallAborted:
	default:
		return invalid("status", "must be %q, %q or %q; got %q", store.CallOK, store.CallError, store.CallAborted, f.Status)
	}
	if f.AccountID < 0 {
		return invalid("account_id", "must be positive")
	}
	if f.KeyID < 0 {
		return invalid("key_id", "must be positive")
	}
	if f.Limit < 0 {
		return invalid("limit", "must be positive")
	}
	return checkRange(f.Since, f.Until)
}

// Calls returns the recorded calls f selects, newest first: at most
// f.Limit, 100 by default and at most 1000. It returns a
// *ValidationError for a bad filter.
func (s *Service) Calls(ctx context.Context, f store.CallFilter) ([]CallView, error) {
	page, err := s.CallsPage(ctx, f, CallCursor{})
	return page.Data, err
}

// A CallCursor is where a listing of calls resumes: at the calls listed
// after the one with this time and ID. The zero CallCursor is the start.
type CallCursor struct {
	At time.Time
	ID int64
}

// String returns the cursor as [ParseCallCursor] reads it: the call's
// time in Unix milliseconds and its ID, joined by "_".
func (c CallCursor) String() string {
	if c.ID == 0 {
		return ""
	}
	return strconv.FormatInt(c.At.UnixMilli(), 10) + "_" + strconv.FormatInt(c.ID, 10)
}

// ParseCallCursor reads what [CallCursor.String] returns; "" is the
// start. It returns a *ValidationError on field "before".
func ParseCallCursor(s string) (CallCursor, error) {
	if s == "" {
		return CallCursor{}, nil
	}
	at, id, ok := strings.Cut(s, "_")
	msec, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return CallCursor{}, invalid("before", "must be the next_before of a previous page, like 1736500000123_42; got %q", s)
	}
	return CallCursor{At: time.UnixMilli(msec), ID: n}, nil
}

// A CallPage is one page of a listing of calls.
type CallPage struct {
	Data []CallView `json:"data"`
	// NextBefore, when set, is the cursor of the next (older) page: absent
	// when this page is the last.
	NextBefore string `json:"next_before,omitempty"`
}

// CallsPage returns the page of the calls f selects that comes after the
// call at before (the zero cursor: the first page), newest first, with
// the cursor of the next page when this one is full. f.Limit is the page
// size: 100 by default, at most 1000.
func (s *Service) CallsPage(ctx context.Context, f store.CallFilter, before CallCursor) (CallPage, error) {
	if err := checkCallFilter(f); err != nil {
		return CallPage{}, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultCallsLimit
	case limit > MaxCallsLimit:
		limit = MaxCallsLimit
	}
	calls, err := s.callsBefore(ctx, f, before, limit)
	if err != nil {
		return CallPage{}, err
	}
	page := CallPage{Data: make([]CallView, 0, len(calls))}
	for _, c := range calls {
		page.Data = append(page.Data, NewCallView(c))
	}
	if len(calls) == limit {
		last := calls[len(calls)-1]
		page.NextBefore = CallCursor{At: last.CreatedAt, ID: last.ID}.String()
	}
	return page, nil
}

// callsBefore returns up to limit calls of f listed after the cursor. The
// store pages by time (Until) only, so the calls of the cursor's
// millisecond listed before it (the cursor's own included) are read and
// skipped: they come first, and there are few.
func (s *Service) callsBefore(ctx context.Context, f store.CallFilter, before CallCursor, limit int) ([]store.Call, error) {
	if before.ID == 0 {
		f.Limit = limit
		return s.st.Calls(ctx, f)
	}
	at := before.At.UnixMilli()
	if until := time.UnixMilli(at + 1); f.Until.IsZero() || until.Before(f.Until) {
		f.Until = until
	}
	extra := 8
	for {
		f.Limit = limit + extra
		calls, err := s.st.Calls(ctx, f)
		if err != nil {
			return nil, err
		}
		skip := 0
		for skip < len(calls) && calls[skip].CreatedAt.UnixMilli() == at && calls[skip].ID >= before.ID {
			skip++
		}
		if len(calls) < f.Limit || len(calls)-skip >= limit {
			calls = calls[skip:]
			return calls[:min(limit, len(calls))], nil
		}
		extra = 2 * (skip + 8)
	}
}

// Call returns the call with the given request ID with its upstream
// attempts, or an error wrapping [store.ErrNotFound].
func (s *Service) Call(ctx context.Context, requestID string) (CallView, error) {
	if requestID == "" {
		return CallView{}, invalid("request_id", "must not be empty")
	}
	calls, err := s.st.Calls(ctx, store.CallFilter{RequestID: requestID, Limit: 1})
	if err != nil {
		return CallView{}, err
	}
	if len(calls) == 0 {
		return CallView{}, fmt.Errorf("call %q: %w", requestID, store.ErrNotFound)
	}
	v := NewCallView(calls[0])
	attempts, err := s.st.AttemptsByRequest(ctx, requestID)
	if err != nil {
		return CallView{}, err
	}
	v.Attempts = make([]AttemptView, 0, len(attempts))
	for _, a := range attempts {
		v.Attempts = append(v.Attempts, NewAttemptView(a))
	}
	return v, nil
}

// WriteCallsCSV writes the calls f selects to w as CSV, newest first
// ([store.Store.WriteCallsCSV]: durations in µs, amounts in
// micro-credits); a zero f.Limit writes them all. It returns a
// *ValidationError, before writing anything, for a bad filter.
func (s *Service) WriteCallsCSV(ctx context.Context, w io.Writer, f store.CallFilter) error {
	if err := checkCallFilter(f); err != nil {
		return err
	}
	return s.st.WriteCallsCSV(ctx, w, f)
}
