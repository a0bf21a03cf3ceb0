package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// pathResult is the measurement of one path and mode (in one round, or the
// median over the rounds). Durations are in nanoseconds in JSON.
type pathResult struct {
	Round        int           `json:"round,omitempty"` // 0 for the median
	Mode         string        `json:"mode"`
	Path         string        `json:"path"`
	RPS          float64       `json:"rps"` // closed loop, successful requests/s
	ClosedOK     int           `json:"closed_ok"`
	ClosedErrors int           `json:"closed_errors"`
	P50          time.Duration `json:"p50_ns"` // open loop, from the scheduled start
	P99          time.Duration `json:"p99_ns"`
	TTFB50       time.Duration `json:"ttfb_p50_ns,omitempty"` // streams only
	Achieved     float64       `json:"achieved_rate"`         // open loop, requests sent/s
	SendLagP99   time.Duration `json:"send_lag_p99_ns"`       // open loop, send time − scheduled time
	OpenOK       int           `json:"open_ok"`
	OpenErrors   int           `json:"open_errors"`
}

// modeRatio compares the hub with the proxy (and the proxy with direct)
// for one mode, from the median results.
type modeRatio struct {
	Mode           string        `json:"mode"`
	HubProxyRPS    float64       `json:"hub_proxy_rps"`
	ProxyDirectRPS float64       `json:"proxy_direct_rps"`
	HubP50Overhead time.Duration `json:"hub_p50_overhead_ns"` // hub p50 − proxy p50
	HubP99Overhead time.Duration `json:"hub_p99_overhead_ns"`
	HubTTFBOver    time.Duration `json:"hub_ttfb_p50_overhead_ns,omitempty"`
	// BillingHubRPS is the hub with billing on over the hub without, from
	// their separate runs' medians.
	BillingHubRPS float64 `json:"billing_hub_rps,omitempty"`
	// BillingPaired is the same from the interleaved comparison: the
	// median over the rounds of each round's on/off requests.
	BillingPaired float64 `json:"billing_paired_rps,omitempty"`
}

type machineInfo struct {
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"` // of the load generator
	Go         string `json:"go"`
	LoadAvg    string `json:"loadavg,omitempty"` // 1, 5 and 15 minutes, at the start
}

type settings struct {
	Conns        int           `json:"conns"`
	Rate         float64       `json:"rate"`
	Duration     time.Duration `json:"duration_ns"`
	Warmup       time.Duration `json:"warmup_ns"`
	Rounds       int           `json:"rounds"`
	Chunks       int           `json:"chunks,omitempty"` // 0: the emulator's default
	EmulatorArgs []string      `json:"emulator_args"`
}

// procRSS is a server's resident memory after readiness (before any load)
// and after the last measurement.
type procRSS struct {
	Idle  rss `json:"idle"`
	After rss `json:"after"`
}

// report is everything a run measured.
type report struct {
	Started  time.Time      `json:"started"`
	Machine  machineInfo    `json:"machine"`
	Settings settings       `json:"settings"`
	Hub      procRSS        `json:"hub_rss"`
	Proxy    procRSS        `json:"proxy_rss"`
	Rounds   [][]pathResult `json:"rounds"`
	Results  []pathResult   `json:"results"` // per mode and path, median over rounds
	Ratios   []modeRatio    `json:"ratios"`
	// Paired is the billing on/off comparison of each round and mode,
	// interleaved (see pairedLoop).
	Paired []pairedRun `json:"billing_paired"`
}

// pairedRun is one round's interleaved billing on/off comparison: requests
// completed by the hub without and with billing in the same slices.
type pairedRun struct {
	Round  int     `json:"round"`
	Mode   string  `json:"mode"`
	OffOK  int     `json:"off_ok"`
	OnOK   int     `json:"on_ok"`
	Slices int     `json:"slices"`
	Ratio  float64 `json:"ratio"` // OnOK / OffOK
}

// summarize computes Results (the medians over the rounds; errors are
// summed) and Ratios.
func (r *report) summarize() {
	type key struct{ mode, path string }
	var order []key
	group := map[key][]pathResult{}
	for _, round := range r.Rounds {
		for _, pr := range round {
			k := key{pr.Mode, pr.Path}
			if _, ok := group[k]; !ok {
				order = append(order, k)
			}
			group[k] = append(group[k], pr)
		}
	}
	r.Results = r.Results[:0]
	for _, k := range order {
		g := group[k]
		m := pathResult{Mode: k.mode, Path: k.path}
		m.RPS = median(g, func(p pathResult) float64 { return p.RPS })
		m.Achieved = median(g, func(p pathResult) float64 { return p.Achieved })
		m.SendLagP99 = time.Duration(median(g, func(p pathResult) float64 { return float64(p.SendLagP99) }))
		m.P50 = time.Duration(median(g, func(p pathResult) float64 { return float64(p.P50) }))
		m.P99 = time.Duration(median(g, func(p pathResult) float64 { return float64(p.P99) }))
		m.TTFB50 = time.Duration(median(g, func(p pathResult) float64 { return float64(p.TTFB50) }))
		for _, p := range g {
			m.ClosedOK += p.ClosedOK
			m.ClosedErrors += p.ClosedErrors
			m.OpenOK += p.OpenOK
			m.OpenErrors += p.OpenErrors
		}
		r.Results = append(r.Results, m)
	}

	r.Ratios = r.Ratios[:0]
	for _, m := range modes {
		direct, okD := r.result(m.name, "direct")
		proxy, okP := r.result(m.name, "proxy")
		hub, okH := r.result(m.name, "hub")
		if !okP || !okH {
			continue
		}
		mr := modeRatio{
			Mode:           m.name,
			HubProxyRPS:    ratio(hub.RPS, proxy.RPS),
			HubP50Overhead: hub.P50 - proxy.P50,
			HubP99Overhead: hub.P99 - proxy.P99,
		}
		if okD {
			mr.ProxyDirectRPS = ratio(proxy.RPS, direct.RPS)
		}
		if bill, ok := r.result(m.name, "hub+billing"); ok {
			mr.BillingHubRPS = ratio(bill.RPS, hub.RPS)
		}
		var paired []pathResult // median takes pathResults; RPS holds the ratio
		for _, p := range r.Paired {
			if p.Mode == m.name {
				paired = append(paired, pathResult{RPS: p.Ratio})
			}
		}
		mr.BillingPaired = median(paired, func(p pathResult) float64 { return p.RPS })
		if m.stream {
			mr.HubTTFBOver = hub.TTFB50 - proxy.TTFB50
		}
		r.Ratios = append(r.Ratios, mr)
	}
}

func (r *report) result(mode, path string) (pathResult, bool) {
	for _, p := range r.Results {
		if p.Mode == mode && p.Path == path {
			return p, true
		}
	}
	return pathResult{}, false
}

// median returns the median of f over rs (the mean of the middle two for
// an even count).
func median(rs []pathResult, f func(pathResult) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// writeTable prints the report as Markdown.
func (r *report) writeTable(w io.Writer) {
	s := r.Settings
	m := r.Machine
	fmt.Fprintf(w, "\n## hubbench: direct vs reverse proxy vs hub\n\n")
	cpu := ""
	if m.CPU != "" {
		cpu = ", " + m.CPU
	}
	load := ""
	if m.LoadAvg != "" {
		load = ", load average at the start " + m.LoadAvg
	}
	fmt.Fprintf(w, "- machine: %s/%s%s, NumCPU %d, GOMAXPROCS %d (load generator; each server uses its own default), %s%s\n",
		m.OS, m.Arch, cpu, m.NumCPU, m.GOMAXPROCS, m.Go, load)
	rounds := "1 round"
	if s.Rounds > 1 {
		rounds = fmt.Sprintf("median of %d rounds (errors summed)", s.Rounds)
	}
	fmt.Fprintf(w, "- load: closed loop with %d keep-alive connections; open loop at %g req/s, latency from the scheduled start to the end of the body; each run %s measured after %s warm-up; %s\n",
		s.Conns, s.Rate, s.Duration, s.Warmup, rounds)
	if s.Chunks > 0 {
		fmt.Fprintf(w, "- emulator: `%s` (streams: %d content chunks; answers: %d words), same process for every path\n",
			strings.Join(s.EmulatorArgs, " "), s.Chunks, s.Chunks)
	} else {
		fmt.Fprintf(w, "- emulator: `%s` with its default chunk count (it has no -chunks flag), same process for every path\n",
			strings.Join(s.EmulatorArgs, " "))
	}
	fmt.Fprintf(w, "- hub RSS: idle %s, after the run %s (peak %s); proxy RSS: idle %s, after %s (peak %s)\n",
		fmtKiB(r.Hub.Idle.KiB), fmtKiB(r.Hub.After.KiB), fmtKiB(r.Hub.After.PeakKiB),
		fmtKiB(r.Proxy.Idle.KiB), fmtKiB(r.Proxy.After.KiB), fmtKiB(r.Proxy.After.PeakKiB))
	fmt.Fprintln(w, "- every process shares the machine: compare rows with each other, not with other machines")
	fmt.Fprintln(w)

	rate := fmt.Sprintf("%g/s", s.Rate)
	fmt.Fprintf(w, "| mode | path | rps@%d | rps vs proxy | p50@%s | p99@%s | TTFB p50 | sent/s | errors |\n", s.Conns, rate, rate)
	fmt.Fprintln(w, "|------|------|------:|------:|------:|------:|------:|------:|------:|")
	for _, p := range r.Results {
		proxy, _ := r.result(p.Mode, "proxy")
		vs := "–"
		if proxy.RPS > 0 {
			vs = fmt.Sprintf("%.2f", p.RPS/proxy.RPS)
		}
		ttfb := "–"
		if p.TTFB50 > 0 {
			ttfb = fmtDur(p.TTFB50)
		}
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %.0f | %d |\n",
			p.Mode, p.Path, p.RPS, vs, fmtDur(p.P50), fmtDur(p.P99), ttfb, p.Achieved, p.ClosedErrors+p.OpenErrors)
	}
	fmt.Fprintln(w)
	var behind []string
	var maxLag time.Duration
	for _, p := range r.Results {
		maxLag = max(maxLag, p.SendLagP99)
		if p.SendLagP99 > lagWarning {
			behind = append(behind, fmt.Sprintf("%s %s %s", p.Mode, p.Path, fmtDur(p.SendLagP99)))
		}
	}
	if len(behind) > 0 {
		fmt.Fprintf(w, "- **warning**: the load generator fell behind its open-loop schedule (send lag p99: %s); the machine is saturated and those latencies include the generator's own delay\n",
			strings.Join(behind, ", "))
	} else if maxLag > 0 {
		fmt.Fprintf(w, "- open-loop send lag p99 at most %s (timer granularity; it is in every latency above, alike on every path)\n", fmtDur(maxLag))
	}
	for _, mr := range r.Ratios {
		fmt.Fprintf(w, "- %s: hub/proxy rps ratio **%.2f**; hub p50 overhead vs proxy **%+dµs** (p99 %+dµs",
			mr.Mode, mr.HubProxyRPS, mr.HubP50Overhead.Microseconds(), mr.HubP99Overhead.Microseconds())
		if mr.HubTTFBOver != 0 {
			fmt.Fprintf(w, ", TTFB p50 %+dµs", mr.HubTTFBOver.Microseconds())
		}
		fmt.Fprintf(w, "); proxy/direct rps ratio %.2f", mr.ProxyDirectRPS)
		switch {
		case mr.BillingPaired > 0:
			fmt.Fprintf(w, "; billing on/off rps ratio **%.2f** (interleaved, median of rounds; separate runs %.2f)", mr.BillingPaired, mr.BillingHubRPS)
		case mr.BillingHubRPS > 0:
			fmt.Fprintf(w, "; billing on/off rps ratio **%.2f**", mr.BillingHubRPS)
		}
		fmt.Fprintln(w)
	}
}

// lagWarning is the open-loop send lag p99 above which the report warns
// that the load generator could not keep its schedule. Below it the lag is
// the timer granularity (Go's sub-millisecond sleeps end up to about 1ms
// late on an idle machine), which every path shares.
const lagWarning = 5 * time.Millisecond

// writeJSON writes the report to path.
func (r *report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// fmtDur prints a latency: µs below 1ms, else ms or s with two decimals.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// fmtKiB prints a memory size given in KiB.
func fmtKiB(k int64) string {
	if k <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(k)/1024)
}
