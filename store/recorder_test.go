package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// quietLogger discards log output; logBuffer keeps it for inspection.
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func closeRecorder(t testing.TB, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// testCall returns a call whose token counts are derived from n.
func testCall(requestID string, n int64) Call {
	return Call{
		RequestID:        requestID,
		API:              "chat.completions",
		KeyID:            1 + n%4,
		AccountID:        1,
		Provider:         "openai",
		Model:            "gpt-4o-mini",
		UpstreamModel:    "gpt-4o-mini-2024-07-18",
		Status:           CallOK,
		HTTPStatus:       200,
		PromptTokens:     n,
		CompletionTokens: 2 * n,
		Attempts:         1,
	}
}

// callTotals counts the model_calls rows and sums their tokens.
func callTotals(t testing.TB, s *Store) (rows, distinct, prompt, completion int64) {
	t.Helper()
	return queryInt(t, s, "SELECT count(*) FROM model_calls;"),
		queryInt(t, s, "SELECT count(DISTINCT request_id) FROM model_calls;"),
		queryInt(t, s, "SELECT coalesce(sum(prompt_tokens), 0) FROM model_calls;"),
		queryInt(t, s, "SELECT coalesce(sum(completion_tokens), 0) FROM model_calls;")
}

func TestRecorderConcurrent(t *testing.T) {
	const (
		goroutines = 16
		perG       = 625 // 10,000 calls
		total      = goroutines * perG
	)
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				n := int64(g*perG + i + 1)
				if err := r.Record(testCall(fmt.Sprintf("req-%d-%d", g, i), n)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	closeRecorder(t, r)

	rows, distinct, prompt, completion := callTotals(t, s)
	wantPrompt := int64(total * (total + 1) / 2)
	if rows != total || distinct != total {
		t.Errorf("%d rows, %d distinct request IDs; want %d of each", rows, distinct, total)
	}
	if prompt != wantPrompt || completion != 2*wantPrompt {
		t.Errorf("tokens = %d prompt, %d completion; want %d, %d", prompt, completion, wantPrompt, 2*wantPrompt)
	}
	st := r.Stats()
	if st.Recorded != total || st.Failed != 0 || st.Dropped != 0 || st.Queued != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if st.Batches >= total {
		t.Errorf("%d batches for %d calls: no grouping", st.Batches, total)
	}
	t.Logf("%d calls in %d batches", total, st.Batches)
}

// TestRecorderGroupsCalls holds the write lock while calls queue up, so the
// writer must find them all waiting when it gets the lock.
func TestRecorderGroupsCalls(t *testing.T) {
	const calls = 1000
	s, path := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{MaxBatch: 256, Logger: quietLogger()})
	defer closeRecorder(t, r)

	release := holdWriteLock(t, path)
	for i := range calls {
		if err := r.Record(testCall(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond) // let the writer block on the lock
	release()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	// At most the batch that took the first calls before blocking, then
	// full batches of 256: 1 + ceil(1000/256) = 5.
	if st.Recorded != calls || st.Batches > 5 {
		t.Errorf("Stats = %+v, want %d calls in at most 5 batches", st, calls)
	}
}

func TestRecorderCloseWritesEverything(t *testing.T) {
	const (
		queued  = 1000 // in the queue when Close is called
		blocked = 100  // blocked in Record on the full queue
	)
	s, path := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{QueueSize: queued, Logger: quietLogger()})

	release := holdWriteLock(t, path)
	for i := range queued {
		if err := r.Record(testCall(fmt.Sprint("q-", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range blocked {
		wg.Go(func() {
			if err := r.Record(testCall(fmt.Sprint("b-", i), 1)); err != nil {
				t.Error(err)
			}
		})
	}
	// Wait until every Record has been accepted (some are blocked).
	for r.accepted.Load() < queued+blocked {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		closed <- r.Close(ctx)
	}()
	time.Sleep(20 * time.Millisecond)
	release()
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if rows, distinct, _, _ := callTotals(t, s); rows != queued+blocked || distinct != rows {
		t.Errorf("%d rows (%d distinct) after Close, want %d", rows, distinct, queued+blocked)
	}
	if err := r.Record(testCall("late", 1)); !errors.Is(err, ErrRecorderClosed) {
		t.Errorf("Record after Close = %v, want ErrRecorderClosed", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close = %v", err)
	}
}

// TestRecorderRejectsPoisonCall makes the database refuse one call (with a
// trigger, as a future constraint might) and checks that the rest of its
// batch lands and the refused call is logged, not retried forever.
func TestRecorderRejectsPoisonCall(t *testing.T) {
	s, path := openTest(t, Options{})
	withConn(t, s, func(conn *sqlite.Conn) {
		err := sqlitex.ExecuteTransient(conn, `CREATE TRIGGER poison BEFORE INSERT ON model_calls
			WHEN NEW.request_id = 'poison'
			BEGIN SELECT RAISE(ABORT, 'poisoned call'); END;`, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
	var logs logBuffer
	r := NewRecorder(s, RecorderOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer closeRecorder(t, r)

	// Queue everything behind the lock so the poison shares a batch.
	release := holdWriteLock(t, path)
	for _, id := range []string{"a1", "a2", "a3", "poison", "b1", "b2", "b3"} {
		if err := r.Record(testCall(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rows, _, _, _ := callTotals(t, s); rows != 6 {
		t.Errorf("%d rows, want the 6 good calls", rows)
	}
	if st := r.Stats(); st.Rejected != 1 || st.Recorded != 6 || st.Dropped != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if l := logs.String(); !strings.Contains(l, "rejected") || !strings.Contains(l, "RequestID:poison") {
		t.Errorf("rejected call not logged in full:\n%s", l)
	}
}

func TestRecorderFlush(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)

	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush with nothing recorded: %v", err)
	}
	for i := range 3 {
		id := fmt.Sprint("flush-", i)
		if err := r.Record(testCall(id, 1)); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		calls, err := s.Calls(ctx, CallFilter{RequestID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) != 1 {
			t.Fatalf("after Flush, %d calls with request ID %s", len(calls), id)
		}
	}

	// A Flush that cannot finish respects its context.
	release := holdWriteLock(t, path)
	if err := r.Record(testCall("blocked", 1)); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := r.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush while blocked = %v, want DeadlineExceeded", err)
	}
	release()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestRecorderRetries makes commits fail with SQLITE_BUSY for a while and
// checks that the failed batches are logged, retried and land exactly once.
func TestRecorderRetries(t *testing.T) {
	const calls = 300
	s, path := openTest(t, Options{BusyTimeout: 5 * time.Millisecond})
	var logs logBuffer
	r := NewRecorder(s, RecorderOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer closeRecorder(t, r)

	release := holdWriteLock(t, path)
	for i := range calls {
		if err := r.Record(testCall(fmt.Sprint(i), int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	release()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Failed == 0 {
		t.Error("no failed commits while the database was locked")
	}
	if st.Recorded != calls || st.Dropped != 0 {
		t.Errorf("Stats = %+v", st)
	}
	rows, distinct, prompt, _ := callTotals(t, s)
	if rows != calls || distinct != calls || prompt != calls*(calls-1)/2 {
		t.Errorf("%d rows, %d distinct, %d prompt tokens after retries", rows, distinct, prompt)
	}
	if !strings.Contains(logs.String(), "commit failed") {
		t.Errorf("failures not logged:\n%s", logs.String())
	}
}

// TestRecorderCloseTimeout checks the one way calls can be lost: Close's
// context ends first. The loss must be reported, not silent.
func TestRecorderCloseTimeout(t *testing.T) {
	s, path := openTest(t, Options{BusyTimeout: 20 * time.Millisecond})
	var logs logBuffer
	r := NewRecorder(s, RecorderOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})

	release := holdWriteLock(t, path)
	for i := range 10 {
		if err := r.Record(testCall(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := r.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 calls not recorded") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want 10 calls not recorded", err)
	}
	if st := r.Stats(); st.Dropped != 10 || st.Recorded != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "dropped=10") {
		t.Errorf("loss not logged:\n%s", logs.String())
	}
	release()
	if rows, _, _, _ := callTotals(t, s); rows != 0 {
		t.Errorf("%d rows written after giving up", rows)
	}
}

func TestRecordRejectsInvalidStatus(t *testing.T) {
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)
	c := testCall("bad", 1)
	c.Status = "weird"
	if err := r.Record(c); err == nil {
		t.Fatal("Record accepted an invalid status")
	}
	c.Status = ""
	if err := r.Record(c); err == nil {
		t.Fatal("Record accepted an empty status")
	}
	// The recorder still works afterwards.
	if err := r.Record(testCall("good", 1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Recorded != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestHammer reads while the recorder and admin writes run, as a busy hub
// does, and checks that nobody fails or sees a torn state.
func TestHammer(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{PoolSize: 6})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	seed, err := s.CreateAPIKey(ctx, newKey(acct.ID, "seed-key", "seed"))
	if err != nil {
		t.Fatal(err)
	}

	const (
		writers   = 4
		perWriter = 300
		readers   = 3
	)
	stop := make(chan struct{})
	var readersWG, writersWG sync.WaitGroup
	for g := range writers {
		writersWG.Go(func() {
			for i := range perWriter {
				if err := r.Record(testCall(fmt.Sprintf("h-%d-%d", g, i), 1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// An admin creating and revoking keys competes for the write lock.
	writersWG.Go(func() {
		for i := range 20 {
			k, err := s.CreateAPIKey(ctx, newKey(acct.ID, fmt.Sprint("admin-", i), "admin"))
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for g := range readers {
		readersWG.Go(func() {
			last := 0
			for {
				select {
				case <-stop:
					return
				default:
				}
				calls, err := s.Calls(ctx, CallFilter{KeyID: int64(1 + g%4), Limit: 50})
				if err != nil {
					t.Error(err)
					return
				}
				for i := 1; i < len(calls); i++ {
					if calls[i].CreatedAt.After(calls[i-1].CreatedAt) {
						t.Error("Calls not newest first")
						return
					}
				}
				if _, err := s.APIKeyByHash(ctx, seed.Hash); err != nil {
					t.Error(err)
					return
				}
				keys, err := s.ListAPIKeys(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if len(keys) < last {
					t.Errorf("key count went from %d to %d", last, len(keys))
					return
				}
				last = len(keys)
			}
		})
	}
	writersWG.Wait()
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	readersWG.Wait()
	closeRecorder(t, r)

	if rows, distinct, _, _ := callTotals(t, s); rows != writers*perWriter || distinct != rows {
		t.Errorf("%d rows, %d distinct; want %d", rows, distinct, writers*perWriter)
	}
	if keys, err := s.ListAPIKeys(ctx); err != nil || len(keys) != 21 {
		t.Errorf("ListAPIKeys = %d keys, %v; want 21", len(keys), err)
	}
}

func BenchmarkRecorder(b *testing.B) {
	s, _ := openTest(b, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	c := testCall("bench", 100)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Record(c); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := r.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	st := r.Stats()
	b.ReportMetric(float64(st.Recorded)/float64(max(st.Batches, 1)), "calls/batch")
	closeRecorder(b, r)
}

func TestRecordRejectsInvalidAttempts(t *testing.T) {
	s, _ := openTest(t, Options{})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)
	for name, log := range map[string][]Attempt{
		"bad status":       {{Attempt: 1, Status: "weird"}},
		"empty status":     {{Attempt: 1}},
		"zero number":      {{Attempt: 0, Status: CallOK}},
		"negative number":  {{Attempt: -1, Status: CallOK}},
		"duplicate number": {{Attempt: 1, Status: CallError}, {Attempt: 1, Status: CallOK}},
	} {
		c := testCall("bad-"+name, 1)
		c.AttemptLog = log
		if err := r.Record(c); err == nil {
			t.Errorf("%s: Record accepted the call", name)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rows, _, _, _ := callTotals(t, s); rows != 0 {
		t.Errorf("%d calls recorded", rows)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM call_attempts;"); n != 0 {
		t.Errorf("%d attempts recorded", n)
	}
}

// TestRecorderRejectsPoisonAttempt makes the database refuse one attempt:
// its call is rejected whole (no model_calls row, none of its attempts),
// and the rest of the batch lands with its attempts.
func TestRecorderRejectsPoisonAttempt(t *testing.T) {
	s, path := openTest(t, Options{})
	withConn(t, s, func(conn *sqlite.Conn) {
		err := sqlitex.ExecuteTransient(conn, `CREATE TRIGGER poison BEFORE INSERT ON call_attempts
			WHEN NEW.provider = 'poison'
			BEGIN SELECT RAISE(ABORT, 'poisoned attempt'); END;`, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
	r := NewRecorder(s, RecorderOptions{Logger: quietLogger()})
	defer closeRecorder(t, r)
	release := holdWriteLock(t, path)
	for _, id := range []string{"a1", "a2", "poison", "b1"} {
		c := testCall(id, 1)
		c.AttemptLog = []Attempt{{Attempt: 1, Provider: "ok", Status: CallError}, {Attempt: 2, Provider: "ok", Status: CallOK}}
		if id == "poison" {
			c.AttemptLog[1].Provider = "poison"
		}
		if err := r.Record(c); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rows, _, _, _ := callTotals(t, s); rows != 3 {
		t.Errorf("%d calls, want the 3 good ones", rows)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM call_attempts;"); n != 6 {
		t.Errorf("%d attempts, want the good calls' 6", n)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM model_calls WHERE request_id = 'poison';"); n != 0 {
		t.Error("the poisoned call was recorded without its attempts")
	}
	if st := r.Stats(); st.Rejected != 1 || st.Recorded != 3 {
		t.Errorf("Stats = %+v", st)
	}
}
