package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// Call statuses.
const (
	CallOK      = "ok"      // the upstream answered and the answer was delivered
	CallError   = "error"   // the call failed (upstream, routing, plugin, …)
	CallAborted = "aborted" // the client went away before the end
)

// maxErrorMessage bounds Call.ErrorMessage as stored, so that one huge
// upstream error body cannot bloat the log.
const maxErrorMessage = 4096

// A Call is one row of model_calls: the record of one model call.
type Call struct {
	ID        int64 // set by the database
	RequestID string
	CreatedAt time.Time // zero means when it is passed to Recorder.Record
	API       string    // inbound API, like "chat.completions"
	KeyID     int64
	AccountID int64
	Provider  string
	// CredentialID is the credential the (last) upstream attempt used;
	// zero means none (stored as NULL).
	CredentialID  int64
	Model         string // as requested by the client
	UpstreamModel string // as sent to the provider
	Stream        bool
	Status        string // CallOK, CallError or CallAborted
	HTTPStatus    int    // status sent to the client; zero if none was
	ErrorType     string
	// ErrorMessage is stored truncated to 4 KiB.
	ErrorMessage string

	PromptTokens     int64
	CompletionTokens int64
	CachedTokens     int64 // prompt tokens read from the provider's cache
	CacheWriteTokens int64 // prompt tokens written to the provider's cache
	ReasoningTokens  int64
	Images           int64
	// UsageEstimated is set when the token counts are the hub's estimate
	// rather than the provider's report.
	UsageEstimated bool

	TTFB     time.Duration // to the first byte sent to the client; stored in µs
	Duration time.Duration // to the end of the call; stored in µs
	Attempts int           // upstream attempts, failovers included

	// Credits is the amount charged for the call, in micro-credits: what
	// its request's ledger capture took. Never negative.
	Credits int64

	// AttemptLog has one entry per upstream attempt, retries and failovers
	// included, written to call_attempts (under the call's RequestID) in
	// the same transaction as the call. Empty means none are recorded.
	// Calls does not read it back; see [Store.AttemptsByRequest].
	AttemptLog []Attempt

	// Ledger, when set, is ledger operations (the call's charge) that the
	// [Recorder] applies in the same transaction as the call: the call
	// record and its charge are committed together or not at all, and a
	// batch of calls costs one commit, not two. Not stored as a column.
	Ledger *LedgerAttachment
}

// A LedgerAttachment carries ledger operations with a call record (see
// Call.Ledger). The Recorder calls Done exactly once: after the commit
// with each operation's result (an operation the ledger refused has its
// LedgerResult.Err set; the others are committed), or with
// [ErrNotRecorded] and no results when the call is not going to be
// written (refused by Record, rejected by the database, or dropped at
// Close), in which case the owner must write the operations itself.
// Done runs on the Recorder's goroutine and must not block.
//
// Prepare, when set, settles the call late: the Recorder calls it once, on
// its goroutine, before the call is written or reported not recorded, and
// it sets Ops and Done and returns the call's credits (which replace
// Call.Credits). A batch's calls are prepared one after the other, before
// its transaction: billing settles them there, off the request's path and
// back to back.
type LedgerAttachment struct {
	Ops     []LedgerOp
	Done    func(res []LedgerResult, err error)
	Prepare func() (credits int64)
}

// prepare runs the attachment's Prepare, once, and keeps its credits in c.
func (c *Call) prepare() {
	if a := c.Ledger; a != nil && a.Prepare != nil {
		p := a.Prepare
		a.Prepare = nil
		c.Credits = p()
	}
}

// Abandon reports the attachment's operations as not applied, for a call
// that is not given to a Recorder: Prepare (if set) runs first, then Done
// with [ErrNotRecorded].
func (a *LedgerAttachment) Abandon() {
	c := Call{Ledger: a}
	c.notRecorded()
}

// ErrNotRecorded is passed to LedgerAttachment.Done when the call carrying
// the operations is not written: the operations were not applied.
var ErrNotRecorded = errors.New("store: the call carrying the ledger operations was not recorded")

// notRecorded reports c's ledger operations as not applied (settling them
// first if they are settled late).
func (c *Call) notRecorded() {
	c.prepare()
	if c.Ledger != nil && c.Ledger.Done != nil {
		c.Ledger.Done(nil, ErrNotRecorded)
	}
}

// An Attempt is one row of call_attempts: one upstream attempt of a call.
type Attempt struct {
	Attempt int // 1-based, unique within the call
	// StartedAt is when the attempt began; zero means the call's CreatedAt.
	StartedAt time.Time
	Provider  string
	// CredentialID is the credential the attempt used; zero means none
	// (stored as NULL).
	CredentialID  int64
	UpstreamModel string
	Status        string // CallOK, CallError or CallAborted
	HTTPStatus    int    // the upstream's status; zero if none came
	ErrorType     string
	// ErrorMessage is stored truncated to 4 KiB.
	ErrorMessage string
	Duration     time.Duration // stored in µs
}

// validate checks what the schema would otherwise reject, so that one bad
// call can never make a whole batch fail.
func (c *Call) validate() error {
	switch c.Status {
	case CallOK, CallError, CallAborted:
	default:
		return fmt.Errorf("invalid status %q", c.Status)
	}
	if c.Credits < 0 {
		return fmt.Errorf("negative credits %d", c.Credits)
	}
	seen := make(map[int]bool, len(c.AttemptLog))
	for i, a := range c.AttemptLog {
		switch a.Status {
		case CallOK, CallError, CallAborted:
		default:
			return fmt.Errorf("attempt %d: invalid status %q", i, a.Status)
		}
		if a.Attempt < 1 {
			return fmt.Errorf("attempt %d: invalid attempt number %d", i, a.Attempt)
		}
		if seen[a.Attempt] {
			return fmt.Errorf("attempt %d: duplicate attempt number %d", i, a.Attempt)
		}
		seen[a.Attempt] = true
	}
	return nil
}

// A CallFilter selects calls for [Store.Calls] and [Store.WriteCallsCSV].
// Zero fields match all.
type CallFilter struct {
	RequestID string
	KeyID     int64
	AccountID int64
	Provider  string
	Model     string // as requested by the client
	Status    string // CallOK, CallError or CallAborted
	// Since and Until bound CreatedAt: Since <= CreatedAt < Until. Zero
	// means unbounded.
	Since, Until time.Time
	// Limit is the most calls returned. Zero or negative means 100 for
	// Calls, and every call for WriteCallsCSV.
	Limit int
}

// Calls returns the recorded calls matching f, newest first.
func (s *Store) Calls(ctx context.Context, f CallFilter) ([]Call, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var calls []Call
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		_, err := callsPage(conn, f, newCallCursor(f), f.Limit, func(c *Call) error {
			calls = append(calls, *c)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("calls: %w", err)
	}
	return calls, nil
}

// A callCursor is where a listing of calls, newest first, resumes: at the
// calls strictly before (at, id).
type callCursor struct{ at, id int64 }

// newCallCursor is the start of the listing of f: just before f.Until.
func newCallCursor(f CallFilter) callCursor {
	c := callCursor{at: math.MaxInt64, id: math.MaxInt64}
	if !f.Until.IsZero() {
		c.at = f.Until.UnixMilli() - 1
	}
	return c
}

// callsPage calls fn with up to limit calls matching f from cursor on,
// newest first, and returns the cursor after the last one (unchanged if
// there were none).
func callsPage(conn *sqlite.Conn, f CallFilter, cur callCursor, limit int, fn func(*Call) error) (callCursor, error) {
	// One query per filter shape, each served by its own index.
	query := "calls_recent.sql"
	switch {
	case f.RequestID != "":
		query = "calls_by_request.sql"
	case f.KeyID != 0:
		query = "calls_by_key.sql"
	case f.AccountID != 0:
		query = "calls_by_account.sql"
	}
	var since int64 = math.MinInt64
	if !f.Since.IsZero() {
		since = f.Since.UnixMilli()
	}
	args := map[string]any{
		":key_id":     f.KeyID,
		":account_id": f.AccountID,
		":provider":   f.Provider,
		":model":      f.Model,
		":status":     f.Status,
		":since":      since,
		":cursor_at":  cur.at,
		":cursor_id":  cur.id,
		":limit":      limit,
	}
	if f.RequestID != "" {
		args[":request_id"] = f.RequestID
	}
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: args,
		ResultFunc: func(stmt *sqlite.Stmt) error {
			c := scanCall(stmt)
			cur = callCursor{at: c.CreatedAt.UnixMilli(), id: c.ID}
			return fn(&c)
		},
	})
	return cur, err
}

func scanCall(stmt *sqlite.Stmt) Call {
	return Call{
		ID:               stmt.GetInt64("id"),
		RequestID:        stmt.GetText("request_id"),
		CreatedAt:        timeCol(stmt, "created_at"),
		API:              stmt.GetText("api"),
		KeyID:            stmt.GetInt64("key_id"),
		AccountID:        stmt.GetInt64("account_id"),
		Provider:         stmt.GetText("provider"),
		CredentialID:     stmt.GetInt64("credential_id"), // NULL reads as 0
		Model:            stmt.GetText("model"),
		UpstreamModel:    stmt.GetText("upstream_model"),
		Stream:           stmt.GetBool("stream"),
		Status:           stmt.GetText("status"),
		HTTPStatus:       int(stmt.GetInt64("http_status")),
		ErrorType:        stmt.GetText("error_type"),
		ErrorMessage:     stmt.GetText("error_message"),
		PromptTokens:     stmt.GetInt64("prompt_tokens"),
		CompletionTokens: stmt.GetInt64("completion_tokens"),
		CachedTokens:     stmt.GetInt64("cached_tokens"),
		CacheWriteTokens: stmt.GetInt64("cache_write_tokens"),
		ReasoningTokens:  stmt.GetInt64("reasoning_tokens"),
		Images:           stmt.GetInt64("images"),
		UsageEstimated:   stmt.GetBool("usage_estimated"),
		TTFB:             time.Duration(stmt.GetInt64("ttfb_us")) * time.Microsecond,
		Duration:         time.Duration(stmt.GetInt64("duration_us")) * time.Microsecond,
		Attempts:         int(stmt.GetInt64("attempts")),
		Credits:          stmt.GetInt64("credits"),
	}
}

// insertCallSQL and insertAttemptSQL are call_insert.sql and
// attempt_insert.sql, read once: the recorder prepares them on every batch.
var (
	insertCallSQL    = mustReadQuery("call_insert.sql")
	insertAttemptSQL = mustReadQuery("attempt_insert.sql")
)

func mustReadQuery(name string) string {
	b, err := queryFiles.ReadFile("queries/" + name)
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

// insertCalls inserts calls, and their attempts, with the cached
// statements for call_insert.sql and attempt_insert.sql. The caller owns
// the transaction.
func insertCalls(conn *sqlite.Conn, calls []Call) (err error) {
	stmt, err := conn.Prepare(insertCallSQL)
	if err != nil {
		return err
	}
	var attemptStmt *sqlite.Stmt
	for i := range calls {
		c := &calls[i]
		stmt.SetText(":request_id", c.RequestID)
		stmt.SetInt64(":created_at", c.CreatedAt.UnixMilli())
		stmt.SetText(":api", c.API)
		stmt.SetInt64(":key_id", c.KeyID)
		stmt.SetInt64(":account_id", c.AccountID)
		stmt.SetText(":provider", c.Provider)
		if c.CredentialID == 0 {
			stmt.SetNull(":credential_id")
		} else {
			stmt.SetInt64(":credential_id", c.CredentialID)
		}
		stmt.SetText(":model", c.Model)
		stmt.SetText(":upstream_model", c.UpstreamModel)
		stmt.SetBool(":stream", c.Stream)
		stmt.SetText(":status", c.Status)
		stmt.SetInt64(":http_status", int64(c.HTTPStatus))
		stmt.SetText(":error_type", c.ErrorType)
		stmt.SetText(":error_message", truncateUTF8(c.ErrorMessage, maxErrorMessage))
		stmt.SetInt64(":prompt_tokens", c.PromptTokens)
		stmt.SetInt64(":completion_tokens", c.CompletionTokens)
		stmt.SetInt64(":cached_tokens", c.CachedTokens)
		stmt.SetInt64(":cache_write_tokens", c.CacheWriteTokens)
		stmt.SetInt64(":reasoning_tokens", c.ReasoningTokens)
		stmt.SetInt64(":images", c.Images)
		stmt.SetBool(":usage_estimated", c.UsageEstimated)
		stmt.SetInt64(":ttfb_us", c.TTFB.Microseconds())
		stmt.SetInt64(":duration_us", c.Duration.Microseconds())
		stmt.SetInt64(":attempts", int64(c.Attempts))
		stmt.SetInt64(":credits", c.Credits)
		_, err := stmt.Step()
		if rerr := stmt.Reset(); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("insert call %q: %w", c.RequestID, err)
		}
		if len(c.AttemptLog) == 0 {
			continue
		}
		if attemptStmt == nil {
			if attemptStmt, err = conn.Prepare(insertAttemptSQL); err != nil {
				return err
			}
		}
		if err := insertAttempts(attemptStmt, c); err != nil {
			return fmt.Errorf("insert call %q: %w", c.RequestID, err)
		}
	}
	return nil
}

// insertAttempts inserts c's attempts with stmt, attempt_insert.sql.
func insertAttempts(stmt *sqlite.Stmt, c *Call) error {
	for i := range c.AttemptLog {
		a := &c.AttemptLog[i]
		started := a.StartedAt
		if started.IsZero() {
			started = c.CreatedAt
		}
		stmt.SetText(":request_id", c.RequestID)
		stmt.SetInt64(":attempt", int64(a.Attempt))
		stmt.SetInt64(":started_at", started.UnixMilli())
		stmt.SetText(":provider", a.Provider)
		if a.CredentialID == 0 {
			stmt.SetNull(":credential_id")
		} else {
			stmt.SetInt64(":credential_id", a.CredentialID)
		}
		stmt.SetText(":upstream_model", a.UpstreamModel)
		stmt.SetText(":status", a.Status)
		stmt.SetInt64(":http_status", int64(a.HTTPStatus))
		stmt.SetText(":error_type", a.ErrorType)
		stmt.SetText(":error_message", truncateUTF8(a.ErrorMessage, maxErrorMessage))
		stmt.SetInt64(":duration_us", a.Duration.Microseconds())
		_, err := stmt.Step()
		if rerr := stmt.Reset(); err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("attempt %d: %w", a.Attempt, err)
		}
	}
	return nil
}

// maxAttempts bounds what AttemptsByRequest reads for one request ID.
const maxAttempts = 1000

// AttemptsByRequest returns the upstream attempts recorded for the call(s)
// with the given request ID, by attempt number (at most 1000). It returns
// none, not an error, for an unknown request ID.
func (s *Store) AttemptsByRequest(ctx context.Context, requestID string) ([]Attempt, error) {
	if requestID == "" {
		return nil, errors.New("attempts by request: empty request id")
	}
	var out []Attempt
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "attempts_by_request.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":request_id": requestID, ":limit": maxAttempts},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out = append(out, Attempt{
					Attempt:       int(stmt.GetInt64("attempt")),
					StartedAt:     timeCol(stmt, "started_at"),
					Provider:      stmt.GetText("provider"),
					CredentialID:  stmt.GetInt64("credential_id"), // NULL reads as 0
					UpstreamModel: stmt.GetText("upstream_model"),
					Status:        stmt.GetText("status"),
					HTTPStatus:    int(stmt.GetInt64("http_status")),
					ErrorType:     stmt.GetText("error_type"),
					ErrorMessage:  stmt.GetText("error_message"),
					Duration:      time.Duration(stmt.GetInt64("duration_us")) * time.Microsecond,
				})
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("attempts of request %q: %w", requestID, err)
	}
	return out, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
