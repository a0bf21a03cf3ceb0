package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The request bodies: the same for every path.
var (
	plainBody  = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French."}]}`)
	streamBody = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in French."}],"stream":true}`)
)

// hubConfig is the hub's config; the %s are the listen address, the data
// dir and the emulator's base URL.
const hubConfig = `listen = %q
data_dir = %q

[log]
level = "warn"

[[providers]]
name = "openai"
plugin = "openai"
base_url = %q
credentials = ["bench-upstream-key"]
models = ["gpt-4o-mini"]
`

// billingConfig is appended to hubConfig for the hub with billing on:
// every call is quoted, held, settled and written to the ledger.
const billingConfig = `
[billing]
enabled = true

[billing.rates]
"gpt-4o-mini" = { input = "0.15", output = "0.6", cached_read = "0.075" }
`

// benchMode is a kind of request.
type benchMode struct {
	name   string
	stream bool
	body   []byte
}

var modes = []benchMode{
	{"non-stream", false, plainBody},
	{"stream", true, streamBody},
}

// benchPath is a way to the emulator, with the process serving it (nil for
// direct).
type benchPath struct {
	name string
	url  string
	proc *child
}

// bench sets up the emulator, the proxy and the hub in a temp dir, measures
// every path and mode, and prints the report to stdout.
func bench(ctx context.Context, o options, stdout, stderr io.Writer) (err error) {
	hubBin, err := filepath.Abs(o.hub)
	if err != nil {
		return fmt.Errorf("-hub: %w", err)
	}
	emuBin, err := filepath.Abs(o.emulator)
	if err != nil {
		return fmt.Errorf("-emulator: %w", err)
	}
	for _, b := range []string{hubBin, emuBin} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("setup: %w (run make build first)", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("setup: find own binary for the proxy: %w", err)
	}

	dir, err := os.MkdirTemp("", "hubbench-")
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(stderr, "hubbench: kept", dir)
			return
		}
		os.RemoveAll(dir)
	}()
	var kids children
	defer kids.stopAll()

	var ports [4]int
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	emuAddr := "127.0.0.1:" + strconv.Itoa(ports[0])
	proxyAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	hubAddr := "127.0.0.1:" + strconv.Itoa(ports[2])
	billAddr := "127.0.0.1:" + strconv.Itoa(ports[3])
	emuURL := "http://" + emuAddr

	// The emulator. The chunk count is set by flag, not per request: the
	// hub does not forward client headers upstream.
	emuFlags, err := commandFlags(ctx, emuBin)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	emuArgs := []string{"-listen", emuAddr}
	chunks := 0
	if emuFlags["chunks"] {
		emuArgs = append(emuArgs, "-chunks", strconv.Itoa(o.chunks))
		chunks = o.chunks
	}
	fmt.Fprintf(stderr, "hubbench: starting emulator %v\n", emuArgs)
	emu, err := kids.start(dir, "emulator", emuBin, emuArgs, nil)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	anyStatus := func(int) bool { return true }
	if err := emu.waitReady(ctx, emuURL+"/", anyStatus, 10*time.Second); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	// The baseline proxy: this binary again, in its own process.
	proxy, err := kids.start(dir, "proxy", self, []string{"-serve-proxy", proxyAddr, "-target", emuURL}, proxyEnv)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	if err := proxy.waitReady(ctx, "http://"+proxyAddr+"/", anyStatus, 10*time.Second); err != nil {
		return fmt.Errorf("setup: %w", err)
	}

	// The hub, and a second hub with billing on.
	hub, key, err := startHub(ctx, &kids, hubBin, filepath.Join(dir, "hub"), hubAddr, emuURL, "", stderr)
	if err != nil {
		return err
	}
	billHub, billKey, err := startHub(ctx, &kids, hubBin, filepath.Join(dir, "hub-billing"), billAddr, emuURL, billingConfig, stderr)
	if err != nil {
		return err
	}

	rep := &report{
		Started:  time.Now().UTC(),
		Machine:  machine(),
		Settings: settings{Conns: o.conns, Rate: o.rate, Duration: o.duration, Warmup: o.warmup, Rounds: o.rounds, Chunks: chunks, EmulatorArgs: emuArgs},
	}
	if rep.Hub.Idle, err = readRSS(hub.cmd.Process.Pid); err != nil {
		fmt.Fprintln(stderr, "hubbench: hub", err)
	}
	if rep.Proxy.Idle, err = readRSS(proxy.cmd.Process.Pid); err != nil {
		fmt.Fprintln(stderr, "hubbench: proxy", err)
	}

	paths := []benchPath{
		{"direct", emuURL + "/v1/chat/completions", nil},
		{"proxy", "http://" + proxyAddr + "/v1/chat/completions", proxy},
		{"hub", "http://" + hubAddr + "/v1/chat/completions", hub},
		{"hub+billing", "http://" + billAddr + "/v1/chat/completions", billHub},
	}
	keyFor := func(p benchPath) string {
		if p.proc == billHub {
			return billKey
		}
		return key
	}
	// One request of each kind on each path first, so a broken path fails
	// fast with its answer instead of after a whole run.
	probe := newClient(1)
	for _, m := range modes {
		for _, p := range paths {
			s := spec{url: p.url, key: keyFor(p), body: m.body, stream: m.stream}
			if _, _, err := s.do(ctx, probe); err != nil {
				closeClient(probe)
				return fmt.Errorf("probe %s %s: %w%s", m.name, p.name, err, procOutput(p.proc))
			}
		}
	}
	closeClient(probe)

	runs := o.rounds * len(modes) * len(paths) * 2
	paired := time.Duration(o.rounds*len(modes)) * 2 * (o.duration + time.Duration(max(2, int((o.duration+pairedSlice/2)/pairedSlice)))*pairedWarmup)
	fmt.Fprintf(stderr, "hubbench: measuring %d runs of %s (+%s warm-up) each and the billing on/off comparison, about %s\n",
		runs, o.duration, o.warmup, time.Duration(runs)*(o.duration+o.warmup)+paired)
	for round := range o.rounds {
		var results []pathResult
		for _, m := range modes {
			for _, p := range paths {
				r, err := measure(ctx, o, spec{url: p.url, key: keyFor(p), body: m.body, stream: m.stream}, stderr, round, m.name, p.name)
				if ctx.Err() != nil {
					return fmt.Errorf("interrupted: %w", ctx.Err())
				}
				results = append(results, r)
				if err != nil {
					rep.Rounds = append(rep.Rounds, results)
					rep.summarize()
					rep.writeTable(stdout)
					if o.jsonFile != "" {
						if err := rep.writeJSON(o.jsonFile); err != nil {
							fmt.Fprintln(stderr, "hubbench:", err)
						}
					}
					return fmt.Errorf("%w%s", err, procOutput(p.proc))
				}
			}
		}
		rep.Rounds = append(rep.Rounds, results)
		// Billing on against off, interleaved (see pairedLoop).
		for _, m := range modes {
			off := spec{url: paths[2].url, key: key, body: m.body, stream: m.stream}
			on := spec{url: paths[3].url, key: billKey, body: m.body, stream: m.stream}
			pr := pairedLoop(ctx, off, on, o.conns, pairedWarmup, o.duration)
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w", ctx.Err())
			}
			run := pairedRun{Round: round + 1, Mode: m.name, OffOK: pr.AOK, OnOK: pr.BOK, Slices: pr.Slices, Ratio: ratio(float64(pr.BOK), float64(pr.AOK))}
			rep.Paired = append(rep.Paired, run)
			fmt.Fprintf(stderr, "hubbench: round %d %-10s billing on/off interleaved: %d vs %d requests in %d+%d slices: %.3f\n",
				round+1, m.name, pr.BOK, pr.AOK, pr.Slices, pr.Slices, run.Ratio)
			if rate := errorRate(pr.AOK+pr.BOK, pr.AErrors+pr.BErrors); rate > errorLimit {
				rep.summarize()
				rep.writeTable(stdout)
				return fmt.Errorf("%s billing on/off interleaved: %w: %d of %d failed (%.1f%%); sample: %s%s", m.name, errTooManyErrors,
					pr.AErrors+pr.BErrors, pr.AOK+pr.BOK+pr.AErrors+pr.BErrors, 100*rate, pr.FirstError, procOutput(billHub))
			}
		}
	}

	if rep.Hub.After, err = readRSS(hub.cmd.Process.Pid); err != nil {
		fmt.Fprintln(stderr, "hubbench: hub", err)
	}
	if rep.Proxy.After, err = readRSS(proxy.cmd.Process.Pid); err != nil {
		fmt.Fprintln(stderr, "hubbench: proxy", err)
	}
	rep.summarize()
	rep.writeTable(stdout)
	if o.jsonFile != "" {
		if err := rep.writeJSON(o.jsonFile); err != nil {
			return err
		}
	}
	return nil
}

// pairedWarmup is the unmeasured start of each slice of the billing on/off
// comparison (the connections are already open).
const pairedWarmup = 200 * time.Millisecond

// proxyEnv is extra environment for the proxy process; tests use it to
// re-execute the test binary as hubbench.
var proxyEnv []string

// procOutput is the tail of a path's process log, for error messages.
func procOutput(c *child) string {
	if c == nil {
		return ""
	}
	out := c.logTail(2048)
	if out == "" {
		return ""
	}
	return fmt.Sprintf("\n%s output (tail):\n%s", c.name, out)
}

// measure runs the closed loop and then the open loop of one path and mode.
// It returns errTooManyErrors, with a sample, when either has more than 1%
// errors.
func measure(ctx context.Context, o options, s spec, logw io.Writer, round int, mode, path string) (pathResult, error) {
	r := pathResult{Round: round + 1, Mode: mode, Path: path}
	c := closedLoop(ctx, s, o.conns, o.warmup, o.duration)
	r.RPS, r.ClosedOK, r.ClosedErrors = c.RPS, c.OK, c.Errors
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	if rate := errorRate(c.OK, c.Errors); rate > errorLimit {
		return r, fmt.Errorf("%s %s closed loop: %w: %d of %d failed (%.1f%%); sample: %s",
			mode, path, errTooManyErrors, c.Errors, c.OK+c.Errors, 100*rate, c.FirstError)
	}
	op := openLoop(ctx, s, o.rate, o.warmup, o.duration)
	r.P50, r.P99, r.TTFB50, r.Achieved, r.SendLagP99 = op.P50, op.P99, op.TTFB50, op.Achieved, op.SendLagP99
	r.OpenOK, r.OpenErrors = op.OK, op.Errors
	if ctx.Err() != nil {
		return r, ctx.Err()
	}
	fmt.Fprintf(logw, "hubbench: round %d %-10s %-6s %8.0f req/s @%d  p50 %s  p99 %s  (%.0f/s sent, send lag p99 %s, %d errors)\n",
		round+1, mode, path, r.RPS, o.conns, fmtDur(r.P50), fmtDur(r.P99), r.Achieved, fmtDur(r.SendLagP99), r.ClosedErrors+r.OpenErrors)
	if rate := errorRate(op.OK, op.Errors); rate > errorLimit {
		return r, fmt.Errorf("%s %s open loop: %w: %d of %d failed (%.1f%%); sample: %s",
			mode, path, errTooManyErrors, op.Errors, op.OK+op.Errors, 100*rate, op.FirstError)
	}
	return r, nil
}

// machine describes where the benchmark ran.
func machine() machineInfo {
	m := machineInfo{
		OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(),
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(b)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel(cpuinfo []byte) string {
	for line := range strings.Lines(string(cpuinfo)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// startHub writes a hub config in dir (hubConfig plus extra), creates an API
// key (and, with billing, grants its account plenty of credits), starts
// bin/hub serve and waits until it is ready.
func startHub(ctx context.Context, kids *children, hubBin, dir, addr, emuURL, extra string, stderr io.Writer) (*child, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", fmt.Errorf("setup: %w", err)
	}
	cfgPath := filepath.Join(dir, "hub.toml")
	cfg := fmt.Sprintf(hubConfig, addr, filepath.Join(dir, "data"), emuURL+"/v1") + extra
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, "", fmt.Errorf("setup: write hub config: %w", err)
	}
	key, err := createKey(ctx, hubBin, cfgPath)
	if err != nil {
		return nil, "", fmt.Errorf("setup: %w", err)
	}
	if extra != "" {
		if err := runHub(ctx, hubBin, "credits", "grant", "default", "1000000000", "-config", cfgPath); err != nil {
			return nil, "", fmt.Errorf("setup: %w", err)
		}
	}
	fmt.Fprintf(stderr, "hubbench: starting hub serve -config %s\n", cfgPath)
	hub, err := kids.start(dir, "hub", hubBin, []string{"serve", "-config", cfgPath}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("setup: %w", err)
	}
	is200 := func(s int) bool { return s == http.StatusOK }
	if err := hub.waitReady(ctx, "http://"+addr+"/readyz", is200, 30*time.Second); err != nil {
		return nil, "", fmt.Errorf("setup: %w", err)
	}
	return hub, key, nil
}
