package runtime

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrClosed is the cause of a call made after [Plugin.Close] began.
var ErrClosed = errors.New("plugin closed")

// ErrorKind classifies a [CallError].
type ErrorKind uint8

// Kinds of call failure. Every kind except Closed means the instance that
// served the call was discarded.
const (
	// Trap: the guest trapped (out-of-bounds access, unreachable, stack
	// overflow, a host function rejecting its arguments, ...). A Go guest
	// that panics or runs out of memory prints the reason to stderr and
	// aborts with an unreachable trap, so see Stderr.
	Trap ErrorKind = iota + 1
	// Timeout: the call ran past its deadline (the earlier of its context's
	// and Options.Deadline). Err matches context.DeadlineExceeded.
	Timeout
	// Exit: the guest called proc_exit (os.Exit in Go).
	Exit
	// OutputTooLarge: the result was longer than Options.MaxOutput.
	OutputTooLarge
	// Malformed: the guest broke the ABI: hub_alloc failed, a result outside
	// memory, an unknown status byte, or a record or error JSON that does not
	// decode.
	Malformed
	// Closed: the plugin was closed; no instance ran the call.
	Closed
)

func (k ErrorKind) String() string {
	switch k {
	case Trap:
		return "trap"
	case Timeout:
		return "timeout"
	case Exit:
		return "exit"
	case OutputTooLarge:
		return "output too large"
	case Malformed:
		return "malformed result"
	case Closed:
		return "closed"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// CallError is a failed plugin call: the plugin misbehaved (or was closed),
// as opposed to an [abi.Error] the plugin returned on purpose. Callers map it
// to a 502 (or 504 for Timeout) and never show Err or Stderr to clients.
//
// [abi.Error]: https://pkg.go.dev/github.com/aignehub/hub/sdk/abi#Error
type CallError struct {
	// Plugin is the plugin's name (Options.Name).
	Plugin string
	// Export is the export that failed, e.g. "hub_request".
	Export string
	// Kind says what went wrong.
	Kind ErrorKind
	// Err is the underlying cause.
	Err error
	// Stderr is the tail of what the instance wrote to stdout and stderr
	// (a Go panic's message and traceback land here); empty when nothing.
	Stderr string
}

func (e *CallError) Error() string {
	return "plugin " + strconv.Quote(e.Plugin) + ": " + e.detail()
}

// detail is the message without the plugin's name.
func (e *CallError) detail() string {
	var b strings.Builder
	b.WriteString(e.Export)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if line := stderrHeadline(e.Stderr); line != "" {
		b.WriteString(" (stderr: ")
		b.WriteString(strconv.Quote(line))
		b.WriteString(")")
	}
	return b.String()
}

func (e *CallError) Unwrap() error { return e.Err }

// stderrHeadline picks the most telling line of a stderr tail for an error
// message: Go's "panic:" or "fatal error:" line when present, else the first
// non-empty line, cut to 200 bytes.
func stderrHeadline(s string) string {
	first := ""
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "panic:") || strings.HasPrefix(line, "fatal error:") {
			first = line
			break
		}
		if first == "" {
			first = line
		}
	}
	if len(first) > 200 {
		first = first[:200] + "…"
	}
	return first
}

// problems collects validation failures so that one error reports them all.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

// loadError is a Load failure: its message names the plugin once, and it
// wraps the cause (often a *CallError) for errors.As.
type loadError struct {
	msg string
	err error
}

func (e *loadError) Error() string { return e.msg }
func (e *loadError) Unwrap() error { return e.err }

func newLoadError(name string, err error) error {
	var ce *CallError
	if errors.As(err, &ce) && ce.Plugin == name {
		// Say "instantiate: _initialize: trap: ..." rather than repeating
		// the plugin's name inside the message.
		msg := err.Error()
		full := ce.Error()
		if i := strings.LastIndex(msg, full); i >= 0 {
			msg = msg[:i] + ce.detail() + msg[i+len(full):]
		}
		return &loadError{msg: fmt.Sprintf("load plugin %q: %s", name, msg), err: err}
	}
	return fmt.Errorf("load plugin %q: %w", name, err)
}
