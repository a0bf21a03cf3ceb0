package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"zombiezen.com/go/sqlite"
)

// ErrRecorderClosed is returned by [Recorder.Record] after [Recorder.Close]
// has been called.
var ErrRecorderClosed = errors.New("recorder closed")

// Backoff between attempts to commit a failed batch.
const (
	minRetryBackoff = 10 * time.Millisecond
	maxRetryBackoff = 5 * time.Second
)

// RecorderOptions configure a [Recorder].
type RecorderOptions struct {
	// QueueSize is how many calls may wait to be written. When the queue is
	// full, Record blocks until the writer makes room.
	// If less than 1, it defaults to 4096.
	QueueSize int

	// MaxBatch is the most calls written in one transaction.
	// If less than 1, it defaults to 256.
	MaxBatch int

	// MaxDelay bounds the time the writer spends gathering one batch
	// before it commits. The writer never waits for calls to arrive to
	// fill a batch: it takes what is already queued, so a lone call is
	// committed at once and batches grow only while commits are slower
	// than arrivals.
	// If zero or negative, it defaults to 50ms.
	MaxDelay time.Duration

	// Linger is how long the writer waits, after the first call of a batch,
	// for more calls to arrive before it commits: group commit. Each
	// transaction costs about as much as tens of rows, so under load a short
	// linger multiplies throughput; recording is asynchronous, so clients
	// never wait for it. Flush and Close do not linger.
	// If zero, it defaults to 20ms; negative means no lingering.
	Linger time.Duration

	// Logger receives failed commits and calls given up on.
	// If nil, it defaults to slog.Default().
	Logger *slog.Logger
}

// RecorderStats are a [Recorder]'s counters since it was created.
type RecorderStats struct {
	Recorded uint64 // calls committed
	Batches  uint64 // transactions committed
	Failed   uint64 // commits that failed; each is retried or isolated
	Rejected uint64 // calls the database refused as invalid; logged, not stored
	Dropped  uint64 // calls given up on because Close's context ended first
	Queued   int    // calls waiting to be written now
}

// A Recorder writes [Call] rows to model_calls, each with its
// [Call].AttemptLog rows in call_attempts, from one goroutine, with
// group commit: every call queued while one transaction commits goes into
// the next one. The same transaction adds the batch to the hourly and
// daily usage rollups read by [Store.Stats], one upsert per rollup row.
// Its methods are safe for concurrent use.
//
// A Recorder never drops a call on its own. When the queue is full, Record
// blocks (backpressure reaches the request path rather than losing
// records); a batch that fails to commit is logged and retried with backoff
// until it succeeds. Calls are lost in only two ways, neither silent:
//   - a Close whose context ends before the queue is written: Close says
//     how many, and so does [RecorderStats].Dropped;
//   - a call the database refuses as invalid (a constraint it violates),
//     which no retry can fix: it is logged in full at error level and
//     counted in [RecorderStats].Rejected, and the rest of its batch is
//     still written. Record validates calls so that this should not happen.
//
// A call is durable once its batch commits (see [Recorder.Flush]); a crash
// loses the calls still queued.
type Recorder struct {
	s     *Store
	opts  RecorderOptions
	queue chan Call

	// mu orders Record against Close: Record registers with senders under
	// the read lock only while closed is false, so once Close has set it,
	// senders.Wait covers every Record that can still send.
	mu      sync.RWMutex
	closed  bool
	senders sync.WaitGroup

	accepted atomic.Uint64 // calls Record has taken on, counted before queueing

	progressMu sync.Mutex
	recorded   uint64        // calls committed
	handled    uint64        // calls committed or rejected
	progress   chan struct{} // closed and replaced whenever handled grows

	batches  atomic.Uint64
	failed   atomic.Uint64
	rejected atomic.Uint64
	dropped  atomic.Uint64

	flushReq  chan struct{} // a Flush is waiting: stop lingering (capacity 1)
	abort     chan struct{} // closed when Close's context ends
	abortOnce sync.Once
	ctx       context.Context // the writer's; canceled on abort
	cancel    context.CancelFunc
	done      chan struct{} // closed when the writer has exited
}

// NewRecorder starts a Recorder writing to s. Close it before closing s.
func NewRecorder(s *Store, opts RecorderOptions) *Recorder {
	if opts.QueueSize < 1 {
		opts.QueueSize = 4096
	}
	if opts.MaxBatch < 1 {
		opts.MaxBatch = 256
	}
	if opts.Linger == 0 {
		opts.Linger = 20 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 50 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{
		s:        s,
		opts:     opts,
		queue:    make(chan Call, opts.QueueSize),
		progress: make(chan struct{}),
		abort:    make(chan struct{}),
		flushReq: make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go r.run()
	return r
}

// Record queues c to be written and returns; it blocks only while the
// queue is full. A zero c.CreatedAt is set to the current time.
//
// Record returns an error, and does not record c, if c.Status is not one
// of the Call statuses, if an attempt in c.AttemptLog has an invalid status
// or a missing or repeated attempt number (a call is recorded whole or not
// at all), or if Close has been called ([ErrRecorderClosed]);
// calls must therefore be recorded before the Recorder is closed, which is
// the shutdown order anyway: stop serving, then close the Recorder.
func (r *Recorder) Record(c Call) error {
	if err := c.validate(); err != nil {
		c.notRecorded()
		return fmt.Errorf("record call %q: %w", c.RequestID, err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	// The caller keeps its slice; the writer reads this copy later.
	c.AttemptLog = slices.Clone(c.AttemptLog)
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		c.notRecorded()
		return fmt.Errorf("record call %q: %w", c.RequestID, ErrRecorderClosed)
	}
	r.senders.Add(1)
	r.accepted.Add(1)
	r.mu.RUnlock()
	defer r.senders.Done()

	select {
	case r.queue <- c:
		return nil
	case <-r.abort:
		r.dropped.Add(1)
		c.notRecorded()
		return fmt.Errorf("record call %q: %w before the call was queued", c.RequestID, ErrRecorderClosed)
	}
}

// Flush waits until every call whose Record returned before Flush was
// called has been committed (or rejected by the database, see
// [RecorderStats].Rejected), or until ctx ends. It returns an error if the
// Recorder stopped before writing them.
func (r *Recorder) Flush(ctx context.Context) error {
	// Calls are handled in queue order, and accepted counts every call
	// queued so far (plus some still being queued), so once handled
	// reaches it, every call queued before this point is handled.
	target := r.accepted.Load()
	select {
	case r.flushReq <- struct{}{}:
	default:
	}
	for {
		r.progressMu.Lock()
		handled, progress := r.handled, r.progress
		r.progressMu.Unlock()
		if handled >= target {
			return nil
		}
		select {
		case <-progress:
		case <-r.done:
			r.progressMu.Lock()
			handled = r.handled
			r.progressMu.Unlock()
			if handled >= target {
				return nil
			}
			return fmt.Errorf("flush recorder: %d calls not recorded: %w", target-handled, ErrRecorderClosed)
		case <-ctx.Done():
			return fmt.Errorf("flush recorder: %w", ctx.Err())
		}
	}
}

// Close stops accepting calls, writes every call already queued (and those
// blocked in Record), and stops the writer. If ctx ends first, Close gives
// up on the calls not yet committed, logs and returns how many there were,
// and still stops the writer before returning (if the writer is waiting for
// another process's lock, that can take up to the store's BusyTimeout).
// Calling Close again is safe.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	first := !r.closed
	r.closed = true
	r.mu.Unlock()
	if first {
		go func() {
			r.senders.Wait()
			close(r.queue)
		}()
	}

	var ctxErr error
	select {
	case <-r.done:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		r.abortOnce.Do(func() {
			close(r.abort)
			r.cancel()
		})
		<-r.done
	}
	r.cancel()
	if n := r.dropped.Load(); n > 0 {
		if ctxErr != nil {
			return fmt.Errorf("close recorder: %d calls not recorded: %w", n, ctxErr)
		}
		return fmt.Errorf("close recorder: %d calls not recorded", n)
	}
	return nil
}

// Stats returns the Recorder's counters.
func (r *Recorder) Stats() RecorderStats {
	r.progressMu.Lock()
	recorded := r.recorded
	r.progressMu.Unlock()
	return RecorderStats{
		Recorded: recorded,
		Batches:  r.batches.Load(),
		Failed:   r.failed.Load(),
		Rejected: r.rejected.Load(),
		Dropped:  r.dropped.Load(),
		Queued:   len(r.queue),
	}
}

// run is the writer goroutine.
func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Call, 0, r.opts.MaxBatch)
	for open := true; open; {
		c, ok := <-r.queue
		if !ok {
			break
		}
		batch = append(batch[:0], c)
		open = r.gather(&batch)
		r.write(batch)
	}
	if n := r.dropped.Load(); n > 0 {
		r.opts.Logger.Error("store: recorder stopped with calls not recorded", "dropped", n)
	}
}

// gather appends the calls already queued to batch, up to MaxBatch or
// MaxDelay. It reports false if the queue is closed and drained.
func (r *Recorder) gather(batch *[]Call) (open bool) {
	start := time.Now()
	var linger <-chan time.Time
	for len(*batch) < r.opts.MaxBatch {
		select {
		case c, ok := <-r.queue:
			if !ok {
				return false
			}
			*batch = append(*batch, c)
		default:
			if r.opts.Linger <= 0 {
				return true
			}
			if linger == nil {
				t := time.NewTimer(r.opts.Linger)
				defer t.Stop()
				linger = t.C
			}
			select {
			case c, ok := <-r.queue:
				if !ok {
					return false
				}
				*batch = append(*batch, c)
			case <-linger:
				return true
			case <-r.flushReq:
				return true
			}
		}
		if len(*batch)%64 == 0 && time.Since(start) >= r.opts.MaxDelay {
			return true
		}
	}
	return true
}

// write commits batch. A failure that can pass (a locked or full
// database, an I/O error) is retried with backoff until it does or Close
// gives up. A failure caused by a call's own data, which retrying cannot
// fix, is isolated by writing the calls one at a time; the calls the
// database refuses are logged in full and counted as rejected, so one bad
// call cannot stall the recorder and, through backpressure, the hub.
func (r *Recorder) write(batch []Call) {
	for i := range batch {
		batch[i].prepare()
	}
	err := r.writeRetrying(batch)
	if err == nil || !isRowError(err) {
		return
	}
	if len(batch) == 1 {
		r.reject(batch[0], err)
		return
	}
	for i := range batch {
		if err := r.writeRetrying(batch[i : i+1]); err != nil && isRowError(err) {
			r.reject(batch[i], err)
		}
	}
}

// writeRetrying commits batch, retrying failures other than row errors. It
// returns nil once batch is committed, a row error, or errAborted after
// counting batch as dropped.
func (r *Recorder) writeRetrying(batch []Call) error {
	backoff := minRetryBackoff
	for {
		select {
		case <-r.abort:
			r.dropped.Add(uint64(len(batch)))
			for i := range batch {
				batch[i].notRecorded()
			}
			return errAborted
		default:
		}
		res, err := r.commit(batch)
		if err == nil {
			ledgerDone(batch, res)
			r.batches.Add(1)
			r.progressMu.Lock()
			r.recorded += uint64(len(batch))
			r.advance(len(batch))
			r.progressMu.Unlock()
			return nil
		}
		r.failed.Add(1)
		if isRowError(err) {
			return err
		}
		r.opts.Logger.Error("store: recorder: commit failed, will retry",
			"calls", len(batch), "first_request_id", batch[0].RequestID,
			"retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-r.abort:
			t.Stop()
		}
		backoff = min(2*backoff, maxRetryBackoff)
	}
}

var errAborted = errors.New("recorder aborted")

// isRowError reports whether err is the database refusing a row's data.
func isRowError(err error) bool {
	switch sqlite.ErrCode(err).ToPrimary() {
	case sqlite.ResultConstraint, sqlite.ResultMismatch, sqlite.ResultTooBig:
		return true
	}
	return false
}

// reject logs a call the database refused, with every field, so that it
// can still be accounted for.
func (r *Recorder) reject(c Call, err error) {
	c.notRecorded()
	r.rejected.Add(1)
	r.progressMu.Lock()
	r.advance(1)
	r.progressMu.Unlock()
	r.opts.Logger.Error("store: recorder: call rejected by the database, not recorded",
		"err", err, "call", fmt.Sprintf("%+v", c))
}

// advance records that n more calls are finished with (committed or
// rejected) and wakes Flush. progressMu must be held.
func (r *Recorder) advance(n int) {
	r.handled += uint64(n)
	close(r.progress)
	r.progress = make(chan struct{})
}

// commit writes batch, calls and their attempts, adds it to the usage
// rollups and applies the calls' ledger operations, in one transaction:
// the rollups always agree with model_calls, and a charge is never
// without its call. It returns the ledger results, in the order of the
// calls' operations.
func (r *Recorder) commit(batch []Call) ([]LedgerResult, error) {
	var results []LedgerResult
	err := r.s.write(r.ctx, func(conn *sqlite.Conn) error {
		results = results[:0]
		if err := insertCalls(conn, batch); err != nil {
			return err
		}
		if err := upsertStats(conn, batch); err != nil {
			return err
		}
		var l *ledgerTx
		for i := range batch {
			a := batch[i].Ledger
			if a == nil {
				continue
			}
			if l == nil {
				var err error
				if l, err = newLedgerTx(conn); err != nil {
					return err
				}
				l.batchCharges = true
			}
			for _, op := range a.Ops {
				res, err := l.apply(op)
				if err != nil {
					var oe *opError
					if !errors.As(err, &oe) {
						return fmt.Errorf("call %q: ledger %s: %w", batch[i].RequestID, op.Kind, err)
					}
					res.Err = oe.err
				}
				results = append(results, res)
			}
		}
		if l != nil {
			return l.flush()
		}
		return nil
	})
	return results, err
}

// ledgerDone hands each call's ledger results to its attachment, after
// the commit.
func ledgerDone(batch []Call, results []LedgerResult) {
	for i := range batch {
		a := batch[i].Ledger
		if a == nil {
			continue
		}
		n := len(a.Ops)
		if a.Done != nil {
			a.Done(results[:n:n], nil)
		}
		results = results[n:]
	}
}
