package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/aignehub/hub/host/framing"
	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// caller is what a case runs on: a loaded plugin ([*runtime.Plugin]).
type caller interface {
	Call(ctx context.Context, export string, input []byte) ([]byte, error)
}

var _ caller = (*runtime.Plugin)(nil)

// errFailed is a call that failed in a way no answer may record: the
// plugin misbehaved (a *runtime.CallError) rather than returning an error.
type errFailed struct{ err error }

func (e *errFailed) Error() string { return e.err.Error() }
func (e *errFailed) Unwrap() error { return e.err }

// transcript records the raw results of a run's calls, for comparing runs
// byte for byte.
type transcript struct{ b bytes.Buffer }

func (t *transcript) add(export string, rec []byte, err error) {
	if t == nil {
		return
	}
	fmt.Fprintf(&t.b, "%s %d:", export, len(rec))
	t.b.Write(rec)
	if err != nil {
		fmt.Fprintf(&t.b, " error %v", err)
	}
	t.b.WriteByte('\n')
}

// call runs one export and splits its outcome: the success record, the
// plugin's *abi.Error, or a failure (*errFailed).
func call(ctx context.Context, c caller, tr *transcript, export string, input []byte) ([]byte, *abi.Error, error) {
	rec, err := c.Call(ctx, export, input)
	tr.add(export, rec, err)
	if err == nil {
		return rec, nil, nil
	}
	var ae *abi.Error
	if errors.As(err, &ae) {
		return nil, ae, nil
	}
	return nil, nil, &errFailed{err}
}

// batching says how many events each hub_stream_event call gets.
type batching func() int

func oneEach() int   { return 1 }
func allAtOnce() int { return 1 << 30 }

// runCase runs a fixture on c with the stream read through r (nil: the
// whole body at once) and batched by batch (nil: one event per call), and
// returns the answers. An error means a call failed (the plugin
// misbehaved) or an answer broke the ABI's rules.
func runCase(ctx context.Context, c caller, f *fixture, tr *transcript, r io.Reader, batch batching) (*answers, error) {
	if f.quote != nil || f.settle != nil {
		return runBilling(ctx, c, f, tr)
	}
	a := &answers{}
	rec, ae, err := call(ctx, c, tr, abi.ExportRequest, f.req.Append(nil))
	if err != nil {
		return nil, fmt.Errorf("hub_request: %w", err)
	}
	if ae != nil {
		a.Request = &requestAnswer{Error: ae}
		return a, nil
	}
	var out abi.RequestOut
	if err := out.Parse(rec); err != nil {
		return nil, fmt.Errorf("hub_request: result record: %w", err)
	}
	ra := &requestAnswer{Method: out.Method, Path: out.Path}
	ra.Body, ra.BodyText = bodyAnswer(out.Body)
	for _, h := range out.Headers {
		ra.Headers = append(ra.Headers, h.Name+": "+h.Value)
	}
	a.Request = ra
	if !f.hasUpstream {
		return a, nil
	}
	state := bytes.Clone(out.State)
	if !f.stream {
		in := abi.ResponseIn{State: state, Status: f.upStatus, Headers: f.upHeaders, Body: f.upstream}
		rec, ae, err := call(ctx, c, tr, abi.ExportResponse, in.Append(nil))
		if err != nil {
			return nil, fmt.Errorf("hub_response: %w", err)
		}
		if ae != nil {
			a.Response = &responseAnswer{Error: ae}
			return a, nil
		}
		var ro abi.ResponseOut
		if err := ro.Parse(rec); err != nil {
			return nil, fmt.Errorf("hub_response: result record: %w", err)
		}
		resp := &responseAnswer{Usage: ro.Usage}
		resp.Body, resp.BodyText = bodyAnswer(ro.Body)
		if resp.BodyText != nil {
			return nil, fmt.Errorf("hub_response: the canonical body is not JSON: %s", clip(*resp.BodyText, 120))
		}
		a.Response = resp
		return a, nil
	}
	if r == nil {
		r = bytes.NewReader(f.upstream)
	}
	if batch == nil {
		batch = oneEach
	}
	s, err := runStream(ctx, c, tr, f.upFraming, state, r, batch)
	if err != nil {
		return nil, err
	}
	a.Stream = s
	return a, nil
}

// runStream frames a stream body as the host does and hands the plugin its
// events in batches, until the plugin ends the stream or the body ends.
func runStream(ctx context.Context, c caller, tr *transcript, fr string, state []byte, r io.Reader, batch batching) (*streamAnswer, error) {
	rd, err := framing.New(fr, r, 0)
	if err != nil {
		return nil, err
	}
	s := &streamAnswer{Chunks: []json.RawMessage{}}
	var pending []abi.Event
	ended := false
	flush := func() error {
		if len(pending) == 0 || ended {
			return nil
		}
		in := abi.StreamIn{State: state, Events: pending}
		pending = nil
		rec, ae, err := call(ctx, c, tr, abi.ExportStreamEvent, in.Append(nil))
		if err != nil {
			return fmt.Errorf("hub_stream_event: %w", err)
		}
		if ae != nil {
			s.Error, ended = ae, true
			return nil
		}
		var out abi.StreamOut
		if err := out.Parse(rec); err != nil {
			return fmt.Errorf("hub_stream_event: result record: %w", err)
		}
		state = bytes.Clone(out.State)
		for _, ch := range out.Chunks {
			if !json.Valid(ch) {
				return fmt.Errorf("hub_stream_event: a chunk is not JSON: %s", clip(string(ch), 120))
			}
			s.Chunks = append(s.Chunks, json.RawMessage(bytes.Clone(ch)))
		}
		if out.Usage != nil {
			u := *out.Usage
			s.Usage = &u
		}
		if out.Error != nil {
			s.Error, ended = out.Error, true
		}
		if out.Flags&abi.StreamDone != 0 {
			s.Done, ended = true, true
		}
		return nil
	}
	want := batch()
	for !ended {
		ev, err := rd.Next()
		if err != nil {
			if ferr := flush(); ferr != nil {
				return nil, ferr
			}
			if !ended && !errors.Is(err, io.EOF) {
				s.FramingError = err.Error()
			}
			break
		}
		pending = append(pending, abi.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data)})
		if len(pending) >= want {
			if err := flush(); err != nil {
				return nil, err
			}
			want = batch()
		}
	}
	return s, nil
}

// runBilling runs a billing case: the quote, then the settlement (held
// defaults to the quote's hold).
func runBilling(ctx context.Context, c caller, f *fixture, tr *transcript) (*answers, error) {
	a := &answers{}
	var hold int64
	if f.quote != nil {
		rec, ae, err := call(ctx, c, tr, abi.ExportQuote, f.quote.Append(nil))
		if err != nil {
			return nil, fmt.Errorf("hub_quote: %w", err)
		}
		if ae != nil {
			a.Quote = &quoteAnswer{Error: ae}
		} else {
			var out abi.QuoteOut
			if err := out.Parse(rec); err != nil {
				return nil, fmt.Errorf("hub_quote: result record: %w", err)
			}
			if out.Hold < 0 {
				return nil, fmt.Errorf("hub_quote: negative hold %d", out.Hold)
			}
			hold = out.Hold
			a.Quote = &quoteAnswer{Allow: out.Allow, Reason: out.Reason, Hold: out.Hold, Code: out.Code}
		}
	}
	if f.settle != nil {
		in := *f.settle
		if !f.held {
			in.Held = hold
		}
		rec, ae, err := call(ctx, c, tr, abi.ExportSettle, in.Append(nil))
		if err != nil {
			return nil, fmt.Errorf("hub_settle: %w", err)
		}
		if ae != nil {
			a.Settle = &settleAnswer{Error: ae}
			return a, nil
		}
		var out abi.SettleOut
		if err := out.Parse(rec); err != nil {
			return nil, fmt.Errorf("hub_settle: result record: %w", err)
		}
		if out.Amount < 0 {
			return nil, fmt.Errorf("hub_settle: negative amount %d", out.Amount)
		}
		sa := &settleAnswer{Amount: out.Amount, Items: []itemJSON{}}
		var sum int64
		for _, it := range out.Items {
			sa.Items = append(sa.Items, itemJSON{Name: it.Name, Quantity: it.Quantity, Amount: it.Amount})
			sum += it.Amount
		}
		if len(out.Items) > 0 && sum != out.Amount {
			return nil, fmt.Errorf("hub_settle: the items add up to %d, not the amount %d", sum, out.Amount)
		}
		a.Settle = sa
	}
	return a, nil
}

// calls lists the raw (export, input) pairs of a fixture's calls in the
// order a host makes them, for repeating them many times (the memory
// check): the request, and the response or the whole stream as one batch
// (with the state the request returned), or the quote and the settlement.
func calls(ctx context.Context, c caller, f *fixture) ([]rawCall, error) {
	if f.quote != nil || f.settle != nil {
		var out []rawCall
		if f.quote != nil {
			out = append(out, rawCall{abi.ExportQuote, f.quote.Append(nil)})
		}
		if f.settle != nil {
			out = append(out, rawCall{abi.ExportSettle, f.settle.Append(nil)})
		}
		return out, nil
	}
	req := f.req.Append(nil)
	out := []rawCall{{abi.ExportRequest, req}}
	if !f.hasUpstream {
		return out, nil
	}
	rec, ae, err := call(ctx, c, nil, abi.ExportRequest, req)
	if err != nil || ae != nil {
		return out, err
	}
	var ro abi.RequestOut
	if err := ro.Parse(rec); err != nil {
		return nil, err
	}
	if !f.stream {
		in := abi.ResponseIn{State: ro.State, Status: f.upStatus, Headers: f.upHeaders, Body: f.upstream}
		return append(out, rawCall{abi.ExportResponse, in.Append(nil)}), nil
	}
	rd, err := framing.New(f.upFraming, bytes.NewReader(f.upstream), 0)
	if err != nil {
		return nil, err
	}
	in := abi.StreamIn{State: ro.State}
	for {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		in.Events = append(in.Events, abi.Event{Name: bytes.Clone(ev.Name), Data: bytes.Clone(ev.Data)})
	}
	if len(in.Events) > 0 {
		out = append(out, rawCall{abi.ExportStreamEvent, in.Append(nil)})
	}
	return out, nil
}

type rawCall struct {
	export string
	input  []byte
}
