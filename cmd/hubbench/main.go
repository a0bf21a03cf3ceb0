// Command hubbench measures what the hub adds on top of a plain reverse
// proxy. In one run it starts one OpenAI emulator (bin/emulator) and drives
// that same process over three paths:
//
//	direct  load generator → emulator
//	proxy   load generator → httputil.ReverseProxy → emulator
//	hub     load generator → bin/hub serve → emulator
//
// For each path it sends non-streaming and streaming chat completions and
// measures
//
//   - throughput: closed-loop requests/s with -conns (16) keep-alive
//     connections, each sending its next request as soon as the previous
//     body has been read to the end;
//   - latency: open-loop at a fixed -rate (500 req/s). Requests go out on a
//     fixed schedule whatever the completions, and each latency runs from the
//     request's scheduled start to the end of its body, so a stall counts
//     against every request it delays (no coordinated omission). Streams
//     also report the time to the first body byte.
//
// With billing, the hub is compared with itself: a second hub with billing
// on (every call quoted, held, settled and written to the ledger) runs
// beside the first. Besides their separate rows, each round measures the two
// interleaved — closed loop on one for about a second, then on the other,
// in the order A B B A A B B A …, for -duration on each — and reports
// billing on/off as the median over the rounds of the requests each
// completed in those slices. Shared machines drift by ±15% over tens of
// seconds; separate runs seconds apart compare two machines, interleaved
// slices compare the paths.
//
// It prints a Markdown table with the hub/proxy ratios. The proxy row is the
// floor any Go HTTP gateway pays (one more hop, a second parse, a second
// connection pool), so hub/proxy isolates what the hub itself costs: auth,
// routing, the plugin calls and metering.
//
// Why the proxy runs in its own process: the hub is a separate process with
// its own scheduler, garbage collector and GOMAXPROCS, reached over loopback
// TCP. A proxy inside the load generator would share the generator's
// runtime, so its CPU time and GC pauses would mix with the generator's and
// its numbers would not compare with the hub's. hubbench therefore re-executes
// itself in the hidden -serve-proxy mode, so the proxy and the hub are
// measured the same way. That proxy is httputil.NewSingleHostReverseProxy
// with 256 idle connections per host, FlushInterval -1 and HTTP/1 full
// duplex on (without it the standard library cuts a few percent of the
// streams under load; see fullDuplex).
//
// Every response must be a 200 and complete (a stream ends with
// "data: [DONE]"); a path with more than 1% errors stops the run with a
// sample, and hubbench exits 1. The emulator's -chunks flag, when it has
// one, sets the stream length for every path: the hub does not forward
// client headers upstream, so the X-Emulator-Chunks header cannot.
//
// Usage (what make bench runs):
//
//	go run ./cmd/hubbench -hub bin/hub -emulator bin/emulator
//
// Every process shares one machine: the numbers compare the paths with each
// other; they are not capacity figures for any of them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line settings of a benchmark run.
type options struct {
	hub, emulator    string
	duration, warmup time.Duration
	rate             float64
	conns            int
	rounds           int
	chunks           int
	keep             bool
	jsonFile         string
}

// hiddenFlags are the internal flags of the re-executed proxy process; the
// usage leaves them out.
var hiddenFlags = map[string]bool{"serve-proxy": true, "target": true}

// run parses args and either benchmarks or, with -serve-proxy, serves the
// reverse proxy. It returns the exit code: 0, 1 on failure, 2 on bad flags.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hubbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.hub, "hub", "bin/hub", "hub `binary`")
	fs.StringVar(&o.emulator, "emulator", "bin/emulator", "emulator `binary`")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of each closed-loop and open-loop run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each run")
	fs.Float64Var(&o.rate, "rate", 500, "open-loop request `rate` per second")
	fs.IntVar(&o.conns, "conns", 16, "closed-loop connections")
	fs.IntVar(&o.rounds, "rounds", 1, "repeat every measurement this many times and report the median")
	fs.IntVar(&o.chunks, "chunks", 20, "emulator stream chunks / answer words (when the emulator has -chunks)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (config, database, process logs)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to `file`")
	serveAddr := fs.String("serve-proxy", "", "internal: serve the reverse proxy on `addr`")
	target := fs.String("target", "", "internal: the reverse proxy's upstream `url`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hubbench [flags]\n\nBenchmarks direct, reverse-proxy and hub paths to one emulator.\n\nFlags:")
		visible := flag.NewFlagSet("", flag.ContinueOnError)
		visible.SetOutput(stderr)
		fs.VisitAll(func(f *flag.Flag) {
			if !hiddenFlags[f.Name] {
				visible.Var(f.Value, f.Name, f.Usage)
			}
		})
		visible.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hubbench: unexpected arguments %q\n", fs.Args())
		return 2
	}

	if *serveAddr != "" {
		if err := serveProxy(ctx, *serveAddr, *target, stderr); err != nil {
			fmt.Fprintln(stderr, "hubbench proxy:", err)
			return 1
		}
		return 0
	}

	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, "hubbench:", err)
		return 2
	}
	if err := bench(ctx, o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "hubbench:", err)
		return 1
	}
	return 0
}

// validate reports every bad setting at once.
func (o options) validate() error {
	var errs []error
	if o.hub == "" {
		errs = append(errs, errors.New("-hub: required"))
	}
	if o.emulator == "" {
		errs = append(errs, errors.New("-emulator: required"))
	}
	if o.duration <= 0 {
		errs = append(errs, errors.New("-duration: must be positive"))
	}
	if o.warmup < 0 {
		errs = append(errs, errors.New("-warmup: must not be negative"))
	}
	if o.rate <= 0 || o.rate > 1e6 {
		errs = append(errs, errors.New("-rate: must be in (0, 1e6]"))
	}
	if o.conns < 1 {
		errs = append(errs, errors.New("-conns: must be at least 1"))
	}
	if o.rounds < 1 {
		errs = append(errs, errors.New("-rounds: must be at least 1"))
	}
	if o.chunks < 1 {
		errs = append(errs, errors.New("-chunks: must be at least 1"))
	}
	if o.duration > 0 && o.rate > 0 && o.duration.Seconds()*o.rate < 2 {
		errs = append(errs, errors.New("-duration × -rate: the open loop needs at least 2 requests"))
	}
	return errors.Join(errs...)
}
