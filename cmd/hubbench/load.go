package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// requestTimeout bounds one request, body included, so a hung path shows up
// as errors instead of stalling the run.
const requestTimeout = 30 * time.Second

// maxInFlight caps the open loop's concurrent requests. When a path falls
// that far behind, the schedule waits for a slot; latency still runs from
// the scheduled start, so the wait is counted.
const maxInFlight = 2048

// errorLimit is the error rate above which a path fails the benchmark.
const errorLimit = 0.01

// spec is one kind of request against one path.
type spec struct {
	url    string // the chat completions endpoint
	key    string // the bearer token
	body   []byte
	stream bool
}

// bodyBuf is the reusable read buffer of one request.
type bodyBuf struct {
	scratch [16 << 10]byte
	body    bytes.Buffer
}

var bufPool = sync.Pool{New: func() any { return new(bodyBuf) }}

// do sends one request and reads its body to the end. It returns when the
// first body byte arrived (zero if none did) and when the body ended. A
// response is an error unless it is 200 and complete: a stream must end
// with "data: [DONE]" and carry no error event, a plain answer must carry
// "choices".
func (s spec) do(ctx context.Context, c *http.Client) (first, end time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return first, time.Now(), err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := c.Do(req)
	if err != nil {
		return first, time.Now(), err
	}
	defer resp.Body.Close()

	b := bufPool.Get().(*bodyBuf)
	defer bufPool.Put(b)
	b.body.Reset()
	for {
		n, rerr := resp.Body.Read(b.scratch[:])
		if n > 0 {
			if first.IsZero() {
				first = time.Now()
			}
			b.body.Write(b.scratch[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return first, time.Now(), fmt.Errorf("status %d: read body after %d bytes: %w", resp.StatusCode, b.body.Len(), rerr)
		}
	}
	end = time.Now()
	return first, end, checkResponse(resp.StatusCode, s.stream, b.body.Bytes())
}

var (
	doneEvent  = []byte("data: [DONE]")
	errorEvent = []byte(`data: {"error"`)
	choices    = []byte(`"choices"`)
)

// checkResponse tells whether a response read to its end is a success.
func checkResponse(status int, stream bool, body []byte) error {
	switch {
	case status != http.StatusOK:
		return fmt.Errorf("status %d: %s", status, snippet(body, 512))
	case stream && bytes.Contains(body, errorEvent):
		return fmt.Errorf("stream carries an error event: %s", snippet(body[bytes.Index(body, errorEvent):], 512))
	case stream && !bytes.HasSuffix(bytes.TrimRight(body, "\r\n "), doneEvent):
		return fmt.Errorf("stream does not end with %q (%d bytes), tail: %q", doneEvent, len(body), tail(body, 200))
	case !stream && !bytes.Contains(body, choices):
		return fmt.Errorf("answer has no choices: %s", snippet(body, 512))
	}
	return nil
}

func snippet(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// newClient returns a keep-alive client that holds up to idle connections
// and ignores any proxy settings of the environment.
func newClient(idle int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

func closeClient(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

// closedResult is the outcome of a closed-loop run.
type closedResult struct {
	OK, Errors int
	RPS        float64 // successful completions per second
	FirstError string  // a sample failure, empty without errors
}

// closedLoop runs conns workers, each sending its next request as soon as
// the previous one's body has been read, for warmup+duration. Only the
// requests that complete inside the measured window count.
func closedLoop(ctx context.Context, s spec, conns int, warmup, duration time.Duration) closedResult {
	c := newClient(max(conns, 16))
	defer closeClient(c)
	return closedLoopOn(ctx, c, s, conns, warmup, duration)
}

// closedLoopOn is closedLoop on the client c, whose connections it leaves
// open.
func closedLoopOn(ctx context.Context, c *http.Client, s spec, conns int, warmup, duration time.Duration) closedResult {
	from := time.Now().Add(warmup)
	to := from.Add(duration)
	var (
		mu  sync.Mutex
		res closedResult
		wg  sync.WaitGroup
	)
	for range conns {
		wg.Go(func() {
			var ok, errs int
			var firstErr string
			for ctx.Err() == nil && time.Now().Before(to) {
				_, end, err := s.do(ctx, c)
				if end.Before(from) || end.After(to) || ctx.Err() != nil {
					continue
				}
				if err != nil {
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				ok++
			}
			mu.Lock()
			defer mu.Unlock()
			res.OK += ok
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
		})
	}
	wg.Wait()
	res.RPS = float64(res.OK) / duration.Seconds()
	return res
}

// openResult is the outcome of an open-loop run. Latencies run from each
// request's scheduled start and cover successful requests only.
type openResult struct {
	Sent, OK, Errors int
	Achieved         float64 // requests sent per second in the measured window
	P50, P99         time.Duration
	TTFB50           time.Duration // first body byte; streams only
	// SendLagP99 is how late the sends were against the schedule: more
	// than a fraction of the interval means the load generator itself
	// could not keep up and the latencies include its own delay.
	SendLagP99 time.Duration
	FirstError string
}

// openLoop schedules a request every 1/rate seconds for warmup+duration,
// each on its own goroutine whatever the earlier ones are doing, and
// measures the requests scheduled after the warm-up.
func openLoop(ctx context.Context, s spec, rate float64, warmup, duration time.Duration) openResult {
	c := newClient(maxInFlight)
	defer closeClient(c)
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = 1
	}
	skip := int(warmup / interval)
	n := skip + int(duration/interval)
	type outcome struct {
		sent, first, end time.Time
		err              error
	}
	out := make([]outcome, n)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now().Add(interval)
	sent := 0
schedule:
	for i := range n {
		sched := start.Add(time.Duration(i) * interval)
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break schedule
		}
		out[i].sent = time.Now()
		sent++
		wg.Go(func() {
			defer func() { <-sem }()
			out[i].first, out[i].end, out[i].err = s.do(ctx, c)
		})
	}
	wg.Wait()

	var res openResult
	var lat, ttfb, lag []time.Duration
	for i := skip; i < sent; i++ {
		o := out[i]
		sched := start.Add(time.Duration(i) * interval)
		lag = append(lag, o.sent.Sub(sched))
		res.Sent++
		if o.err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = o.err.Error()
			}
			continue
		}
		res.OK++
		lat = append(lat, o.end.Sub(sched))
		if s.stream && !o.first.IsZero() {
			ttfb = append(ttfb, o.first.Sub(sched))
		}
	}
	// The achieved rate is over the window from the first measured
	// request's scheduled start to the last one's actual send (plus one
	// interval): on schedule that is the rate, behind schedule less.
	if res.Sent > 0 {
		window := out[sent-1].sent.Add(interval).Sub(start.Add(time.Duration(skip) * interval))
		res.Achieved = float64(res.Sent) / window.Seconds()
	}
	slices.Sort(lat)
	slices.Sort(ttfb)
	slices.Sort(lag)
	res.SendLagP99 = percentile(lag, 99)
	res.P50 = percentile(lat, 50)
	res.P99 = percentile(lat, 99)
	res.TTFB50 = percentile(ttfb, 50)
	return res
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of
// sorted, or 0 when it is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9% of 1000 = 999.0000000000001)
	// from bumping the rank.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// errorRate returns errors/(ok+errors), or 1 when nothing completed.
func errorRate(ok, errs int) float64 {
	if ok+errs == 0 {
		return 1
	}
	return float64(errs) / float64(ok+errs)
}

// errTooManyErrors marks a path whose error rate is over errorLimit.
var errTooManyErrors = errors.New("error rate over 1%")

// pairedResult is an interleaved closed-loop comparison of two paths (see
// pairedLoop).
type pairedResult struct {
	AOK, BOK, AErrors, BErrors int
	Slices                     int
	FirstError                 string
}

// pairedSlice is the length of one slice of pairedLoop.
const pairedSlice = time.Second

// pairedLoop measures the closed-loop throughput of a against b by
// alternating between them in slices of about pairedSlice, in the order
// A B B A A B B A …, for duration on each (at least two slices each). A
// machine whose speed drifts (as shared machines do, by ±15% over tens of
// seconds) slows both alike, where two separate runs seconds apart would
// see different machines. Each path keeps its own keep-alive connections
// from slice to slice; each slice starts with warmup unmeasured.
func pairedLoop(ctx context.Context, a, b spec, conns int, warmup, duration time.Duration) pairedResult {
	ca, cb := newClient(max(conns, 16)), newClient(max(conns, 16))
	defer closeClient(ca)
	defer closeClient(cb)
	n := max(2, int((duration+pairedSlice/2)/pairedSlice))
	slice := duration / time.Duration(n)
	res := pairedResult{Slices: n}
	run := func(first bool) {
		c, s := ca, a
		if !first {
			c, s = cb, b
		}
		r := closedLoopOn(ctx, c, s, conns, warmup, slice)
		if first {
			res.AOK += r.OK
			res.AErrors += r.Errors
		} else {
			res.BOK += r.OK
			res.BErrors += r.Errors
		}
		if res.FirstError == "" {
			res.FirstError = r.FirstError
		}
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		aFirst := i%2 == 0
		run(aFirst)
		run(!aFirst)
	}
	return res
}
