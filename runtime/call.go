package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/aignehub/hub/sdk/abi"
)

// appender encodes an input record (the abi *In types).
type appender interface{ Append(dst []byte) []byte }

// parser decodes a success record (the abi *Out types).
type parser interface{ Parse(rec []byte) error }

var (
	_ appender = (*abi.RequestIn)(nil)
	_ appender = (*abi.ResponseIn)(nil)
	_ appender = (*abi.StreamIn)(nil)
	_ appender = (*abi.QuoteIn)(nil)
	_ appender = (*abi.SettleIn)(nil)
	_ parser   = (*abi.RequestOut)(nil)
	_ parser   = (*abi.ResponseOut)(nil)
	_ parser   = (*abi.StreamOut)(nil)
	_ parser   = (*abi.QuoteOut)(nil)
	_ parser   = (*abi.SettleOut)(nil)
	_ parser   = (*manifestRecord)(nil)
)

// Request calls hub_request: canonical request to upstream request. A
// plugin-reported failure is returned as *abi.Error; a misbehaving plugin as
// *CallError. The result's byte slices are the caller's own (copied out of
// the guest).
func (p *Plugin) Request(ctx context.Context, in *abi.RequestIn) (abi.RequestOut, error) {
	var out abi.RequestOut
	_, err := p.do(ctx, abi.ExportRequest, in, nil, &out, false)
	return out, err
}

// Response calls hub_response: upstream response to canonical response (or
// an *abi.Error for an upstream error). Errors are as for Request.
func (p *Plugin) Response(ctx context.Context, in *abi.ResponseIn) (abi.ResponseOut, error) {
	var out abi.ResponseOut
	_, err := p.do(ctx, abi.ExportResponse, in, nil, &out, false)
	return out, err
}

// StreamEvent calls hub_stream_event: one whole upstream event to zero or
// more canonical chunks. Errors are as for Request.
func (p *Plugin) StreamEvent(ctx context.Context, in *abi.StreamIn) (abi.StreamOut, error) {
	var out abi.StreamOut
	_, err := p.do(ctx, abi.ExportStreamEvent, in, nil, &out, false)
	return out, err
}

// Quote calls hub_quote on a billing plugin: may the call run, and what
// to hold for it. A refusal is an ordinary QuoteOut with Allow false; an
// *abi.Error is the policy failing. Errors are as for Request.
func (p *Plugin) Quote(ctx context.Context, in *abi.QuoteIn) (abi.QuoteOut, error) {
	var out abi.QuoteOut
	_, err := p.do(ctx, abi.ExportQuote, in, nil, &out, true)
	return out, err
}

// Settle calls hub_settle on a billing plugin: the price of a finished
// call, as an amount and line items. Errors are as for Request.
func (p *Plugin) Settle(ctx context.Context, in *abi.SettleIn) (abi.SettleOut, error) {
	var out abi.SettleOut
	_, err := p.do(ctx, abi.ExportSettle, in, nil, &out, true)
	return out, err
}

// Call calls any export of signature (ptr i32, len i32) -> (packed i64) with
// input as its input record, and returns the success record (without the
// status byte), copied out of the guest. Request, Response, StreamEvent,
// Quote and Settle are Call plus their records' codecs. Errors are as for
// Request; an export that does not exist with that signature is a plain
// error.
func (p *Plugin) Call(ctx context.Context, export string, input []byte) ([]byte, error) {
	return p.do(ctx, export, nil, input, nil, false)
}

// do runs one call on a pooled instance: the input is in's record, or raw
// when in is nil; out, when not nil, decodes the success record. With
// inPlace, out keeps nothing of the record (it copies what it decodes, as
// the billing records do): the result is then read into the instance's
// reused buffer instead of a new one, and do returns no record.
func (p *Plugin) do(ctx context.Context, export string, in appender, raw []byte, out parser, inPlace bool) ([]byte, error) {
	if d, ok := p.exports[export]; !ok || !sigCall.matches(d) {
		return nil, fmt.Errorf("plugin %q: no export %q %s", p.s.name, export, sigCall)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("plugin %q: %s: %w", p.s.name, export, err)
	}
	inst, err := p.acquire(ctx, export)
	if err != nil {
		return nil, err
	}
	p.calls.Add(1)
	var dst *[]byte
	if inPlace {
		dst = &inst.result
	}
	res, cerr := p.invoke(ctx, inst, export, inst.function(export), in, raw, true, p.s.deadline, dst)
	var rec []byte
	var aerr error
	if cerr == nil {
		rec, aerr, cerr = p.decode(export, res, out)
	}
	if inPlace {
		rec = nil // aliases inst.result, the next call's
	}
	if cerr != nil {
		cerr.Stderr = inst.out.String()
		p.discard(inst, cerr)
		return nil, cerr
	}
	p.release(inst)
	if aerr != nil {
		p.plugErrs.Add(1)
		return nil, aerr
	}
	return rec, nil
}

// invoke runs export on inst and returns its result (status byte and
// record) copied out of guest memory. With input, the input record is
// encoded into inst.scratch (or taken from raw when in is nil), written into
// memory obtained from hub_alloc, and passed as (ptr, len). The call's
// deadline is the earlier of ctx's and now+budget; untrusted runtimes are
// interrupted at it, trusted ones only checked afterwards. Canceling ctx does
// not interrupt the call. A *CallError means the instance must be discarded.
func (p *Plugin) invoke(ctx context.Context, inst *instance, export string, fn api.Function, in appender, raw []byte, withInput bool, budget time.Duration, dst *[]byte) ([]byte, *CallError) {
	start := time.Now()
	deadline := start.Add(budget)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// The guest sees ctx's values but not its cancellation: a call takes
	// microseconds, and interrupting one costs the instance (milliseconds to
	// replace) and would count a client's disconnect as a plugin failure.
	// The deadline still bounds it. Trusted runtimes ignore contexts.
	callCtx := ctx
	if !p.s.trusted {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
	}
	fail := func(kind ErrorKind, err error) *CallError {
		return &CallError{Plugin: p.s.name, Export: export, Kind: kind, Err: err}
	}

	stack := inst.stack
	if withInput {
		input := raw
		if in != nil {
			inst.scratch = in.Append(inst.scratch[:0])
			input = inst.scratch
		}
		if len(input) > math.MaxUint32 {
			return nil, fail(Malformed, fmt.Errorf("input of %d bytes is too large", len(input)))
		}
		ptr := inst.inPtr
		if uint32(len(input)) > inst.inCap || ptr == 0 {
			stack[0] = uint64(len(input))
			if err := inst.alloc.CallWithStack(callCtx, stack); err != nil {
				return nil, p.callFailure(export, abi.ExportAlloc, err, start, deadline)
			}
			ptr = uint32(stack[0])
			if ptr == 0 && len(input) > 0 {
				return nil, fail(Malformed, fmt.Errorf("%s(%d) returned 0: out of memory", abi.ExportAlloc, len(input)))
			}
			inst.inPtr, inst.inCap = ptr, uint32(len(input))
		}
		if !inst.mem.Write(ptr, input) {
			return nil, fail(Malformed, fmt.Errorf("%s(%d) returned %#x, outside memory (%d bytes)", abi.ExportAlloc, len(input), ptr, inst.mem.Size()))
		}
		stack[0], stack[1] = uint64(ptr), uint64(len(input))
	}
	if err := fn.CallWithStack(callCtx, stack); err != nil {
		return nil, p.callFailure(export, export, err, start, deadline)
	}
	if p.s.trusted {
		if now := time.Now(); now.After(deadline) {
			return nil, fail(Timeout, fmt.Errorf("took %v, past its deadline of %v: %w",
				now.Sub(start).Round(time.Microsecond), deadline.Sub(start).Round(time.Microsecond), context.DeadlineExceeded))
		}
	}

	ptr, n := abi.UnpackResult(stack[0])
	if uint64(n) > uint64(p.s.maxOutput) {
		return nil, fail(OutputTooLarge, fmt.Errorf("result of %d bytes exceeds the limit of %d", n, p.s.maxOutput))
	}
	view, ok := inst.mem.Read(ptr, n)
	if !ok {
		return nil, fail(Malformed, fmt.Errorf("result [%#x, +%d) is outside memory (%d bytes)", ptr, n, inst.mem.Size()))
	}
	// Copy at once: the guest may reuse the bytes, and its memory may move
	// when it grows. Everything returned to callers aliases this copy,
	// which is *dst's array (kept for the next call) when dst is set.
	if dst != nil {
		res := append((*dst)[:0], view...)
		if cap(res) <= maxScratch {
			*dst = res
		}
		return res, nil
	}
	res := make([]byte, n)
	copy(res, view)
	return res, nil
}

// callFailure turns an error from a guest function into a *CallError.
func (p *Plugin) callFailure(export, fn string, err error, start, deadline time.Time) *CallError {
	kind, cause := classify(err)
	if kind == Timeout && errors.Is(cause, context.DeadlineExceeded) {
		cause = fmt.Errorf("stopped at its deadline of %v: %w", deadline.Sub(start).Round(time.Microsecond), context.DeadlineExceeded)
	}
	if fn != export {
		cause = fmt.Errorf("%s: %w", fn, cause)
	}
	return &CallError{Plugin: p.s.name, Export: export, Kind: kind, Err: cause}
}

// classify maps an error from wazero to an ErrorKind and a cause. A module
// closed because its context ended reports the context's error; another
// exit (proc_exit, which Go uses after a panic or fatal error) is Exit; the
// rest are traps.
func classify(err error) (ErrorKind, error) {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return Timeout, context.DeadlineExceeded
		case sys.ExitCodeContextCanceled:
			return Timeout, context.Canceled
		}
		return Exit, err
	}
	return Trap, err
}

// decode splits a copied-out result. On StatusOK it decodes the success
// record into out (when not nil) and returns the record; on StatusError it
// returns the plugin's *abi.Error as aerr. Anything malformed is a
// *CallError: the guest broke the ABI, so its instance is not trusted again.
func (p *Plugin) decode(export string, res []byte, out parser) (rec []byte, aerr error, cerr *CallError) {
	fail := func(err error) (_ []byte, _ error, _ *CallError) {
		return nil, nil, &CallError{Plugin: p.s.name, Export: export, Kind: Malformed, Err: err}
	}
	status, rec, err := abi.SplitResult(res)
	if err != nil {
		return fail(errors.New("empty result"))
	}
	switch status {
	case abi.StatusOK:
		if out != nil {
			if err := out.Parse(rec); err != nil {
				return fail(fmt.Errorf("decode result record: %w", err))
			}
		}
		return rec, nil, nil
	case abi.StatusError:
		var f [1][]byte
		if _, err := abi.Fields(rec, f[:]); err != nil {
			return fail(fmt.Errorf("decode error record: %w", err))
		}
		ae := new(abi.Error)
		if err := json.Unmarshal(f[0], ae); err != nil {
			return fail(fmt.Errorf("decode error JSON: %w", err))
		}
		return nil, ae, nil
	}
	return fail(fmt.Errorf("unknown result status %d", status))
}
