package conformance

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/aignehub/hub/runtime"
	"github.com/aignehub/hub/sdk/abi"
)

// Defaults applied by [Run] to zero [Options] fields.
const (
	DefaultCalls        = 100_000
	DefaultMemoryGrowth = 8 << 20
	DefaultMemoryLimit  = 16 << 20
	DefaultLargeInput   = 1 << 20
)

// Options configure one run of the kit. Only Wasm is required.
type Options struct {
	// Wasm is the module's binary. Required.
	Wasm []byte
	// Name is the name the plugin is loaded under (in errors and logs).
	// Empty means "plugin".
	Name string
	// Fixtures is the fixtures directory (see the package documentation).
	// Empty, or a directory that does not exist, means no cases: the
	// fixture check fails.
	Fixtures string
	// Config is the plugin's config JSON ([plugins.NAME.config]). Nil means
	// "{}".
	Config []byte
	// Calls is the number of calls of the memory check. Zero means
	// DefaultCalls (100,000).
	Calls int
	// MemoryGrowth is how much the instance's linear memory may grow after
	// the memory check's warm-up, in bytes. Zero means DefaultMemoryGrowth
	// (8 MiB: two of a Go module's 4 MiB heap arenas).
	MemoryGrowth uint64
	// MemoryLimit is the small memory limit of the memory-limit check.
	// Zero means DefaultMemoryLimit (16 MiB, the smallest plugin_memory a
	// hub accepts).
	MemoryLimit uint64
	// LargeInput is the size of the deadline check's input in bytes. Zero
	// means DefaultLargeInput (1 MiB).
	LargeInput int
	// Update writes each case's want.json from the plugin's answers instead
	// of comparing them.
	Update bool
	// Cache is the compilation cache for the kit's loads. Nil means one
	// in-memory cache for this run (the module is compiled once).
	Cache wazero.CompilationCache
	// Seed seeds the random splits and batches. Zero means a fixed seed,
	// so that runs repeat.
	Seed uint64
}

// Status is a check's outcome.
type Status string

// Check outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP" // not applicable to this plugin
)

// Result is the outcome of one check.
type Result struct {
	Name     string        `json:"name"`
	Status   Status        `json:"status"`
	Detail   string        `json:"detail"`
	Duration time.Duration `json:"duration_ns"`
}

// Report is the outcome of a run.
type Report struct {
	Plugin   string   `json:"plugin"`
	Kind     string   `json:"kind"`
	Version  string   `json:"version"`
	SHA256   string   `json:"sha256"`
	Fixtures string   `json:"fixtures"`
	Passed   bool     `json:"passed"`
	Results  []Result `json:"checks"`
}

// Failed returns the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Results {
		if c.Status == Fail {
			out = append(out, c.Name)
		}
	}
	return out
}

// Result returns the result of the check named name, and whether it ran.
func (r *Report) Result(name string) (Result, bool) {
	for _, c := range r.Results {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}

// WriteText writes the report for people: a header, one line per check
// (status, name, time, detail) and a summary.
func (r *Report) WriteText(w io.Writer) error {
	name := r.Plugin
	if name == "" {
		name = "(not loaded)"
	}
	fmt.Fprintf(w, "plugin %s %s (%s)", name, r.Version, r.Kind)
	if r.SHA256 != "" {
		fmt.Fprintf(w, " sha256 %.12s…", r.SHA256)
	}
	fmt.Fprintf(w, ", fixtures %s\n", r.Fixtures)
	width := 0
	for _, c := range r.Results {
		width = max(width, len(c.Name))
	}
	pass, fail, skip := 0, 0, 0
	for _, c := range r.Results {
		switch c.Status {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
		fmt.Fprintf(w, "%s  %-*s  %8s  %s\n", c.Status, width, c.Name, roundDuration(c.Duration), c.Detail)
	}
	verdict := "ok"
	if !r.Passed {
		verdict = "FAILED"
	}
	_, err := fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped\n", verdict, pass, fail, skip)
	return err
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Run runs every check on the module and returns the report. The error is
// for the run itself (Options.Wasm empty, a fixture that does not parse, a
// want.json that cannot be written); a plugin that fails a check is a
// report with Passed false.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.Wasm) == 0 {
		return nil, errors.New("conformance: Options.Wasm is empty")
	}
	k := &kit{opts: opts, rep: &Report{Fixtures: opts.Fixtures}}
	k.applyDefaults()
	defer k.close(ctx)
	if err := k.run(ctx); err != nil {
		return nil, err
	}
	k.rep.Passed = len(k.rep.Failed()) == 0
	return k.rep, nil
}

// kit is one run: its options, report and loaded plugins.
type kit struct {
	opts   Options
	rep    *Report
	loaded []*runtime.Plugin

	main     *runtime.Plugin
	manifest abi.Manifest
	cases    []*fixture
	baseline map[string]*answers   // a case's answers on main
	trans    map[string]transcript // a case's raw results on main
	ok       map[string]bool       // the case ran without failing
}

func (k *kit) applyDefaults() {
	o := &k.opts
	if o.Name == "" {
		o.Name = "plugin"
	}
	if o.Calls <= 0 {
		o.Calls = DefaultCalls
	}
	if o.MemoryGrowth == 0 {
		o.MemoryGrowth = DefaultMemoryGrowth
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.LargeInput <= 0 {
		o.LargeInput = DefaultLargeInput
	}
	if o.Cache == nil {
		o.Cache = wazero.NewCompilationCache()
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
}

func (k *kit) close(ctx context.Context) {
	for _, p := range k.loaded {
		p.Close(context.WithoutCancel(ctx))
	}
}

// load loads the module as a hub loads a third-party plugin: untrusted.
func (k *kit) load(ctx context.Context, tweak func(*runtime.Options)) (*runtime.Plugin, error) {
	o := runtime.Options{Name: k.opts.Name, Wasm: k.opts.Wasm, Config: k.opts.Config, Cache: k.opts.Cache,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tweak != nil {
		tweak(&o)
	}
	p, err := runtime.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	k.loaded = append(k.loaded, p)
	return p, nil
}

// add records a check's result.
func (k *kit) add(name string, start time.Time, status Status, format string, args ...any) {
	k.rep.Results = append(k.rep.Results, Result{Name: name, Status: status, Detail: fmt.Sprintf(format, args...), Duration: time.Since(start)})
}

func (k *kit) run(ctx context.Context) error {
	start := time.Now()
	p, err := k.load(ctx, nil)
	if err != nil {
		k.add("load", start, Fail, "%v", err)
		return nil
	}
	k.main, k.manifest = p, p.Manifest()
	m := k.manifest
	k.rep.Plugin, k.rep.Kind, k.rep.Version, k.rep.SHA256 = m.Name, m.Kind, m.Version, p.SHA256()
	k.add("load", start, Pass, "validated, instantiated and described (%d-byte module)", len(k.opts.Wasm))

	start = time.Now()
	if probs := checkManifest(m); len(probs) > 0 {
		k.add("manifest", start, Fail, "%s", strings.Join(probs, "; "))
	} else {
		k.add("manifest", start, Pass, "%s", describeManifest(m))
	}

	if k.cases, err = loadFixtures(k.opts.Fixtures, m.Kind, m.Name); err != nil {
		return err
	}
	if err := k.checkFixtures(ctx); err != nil {
		return err
	}
	k.checkStreamBoundaries(ctx)
	k.checkDeterminism(ctx)
	k.checkMemory(ctx)
	k.checkDeadline(ctx)
	k.checkMemoryLimit(ctx)
	return nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9_-]+$`)

var knownAPIs = []string{abi.APIChatCompletions, abi.APIEmbeddings, abi.APIImages, abi.APIModels}

// checkManifest lists what is wrong with a manifest (sdk/ABI.md §6).
func checkManifest(m abi.Manifest) []string {
	var probs []string
	if m.ABI != abi.Version {
		probs = append(probs, fmt.Sprintf("abi is %d, want %d", m.ABI, abi.Version))
	}
	if !nameRE.MatchString(m.Name) {
		probs = append(probs, fmt.Sprintf("name %q is not lowercase [a-z0-9_-]+", m.Name))
	}
	if m.Version == "" {
		probs = append(probs, "version is empty")
	}
	switch m.Kind {
	case abi.KindProvider:
		if len(m.APIs) == 0 {
			probs = append(probs, "a provider declares no apis")
		}
		for _, a := range m.APIs {
			if !slices.Contains(knownAPIs, a) {
				probs = append(probs, fmt.Sprintf("unknown api %q (want one of %s)", a, strings.Join(knownAPIs, ", ")))
			}
		}
		if !validAuth(m.Auth) {
			probs = append(probs, fmt.Sprintf("auth %q is not none, bearer, header:NAME, query:NAME or sigv4:SERVICE", m.Auth))
		}
		switch m.StreamFraming {
		case "", abi.FramingSSE, abi.FramingNDJSON, abi.FramingAWSEventStream:
		default:
			probs = append(probs, fmt.Sprintf("stream_framing %q is not sse, ndjson or aws-eventstream", m.StreamFraming))
		}
	case abi.KindBilling:
		if len(m.APIs) > 0 || m.Auth != "" || m.StreamFraming != "" {
			probs = append(probs, "a billing policy declares apis, auth or stream_framing")
		}
	default:
		probs = append(probs, fmt.Sprintf("kind %q is not provider or billing", m.Kind))
	}
	return probs
}

func validAuth(a string) bool {
	if a == abi.AuthNone || a == abi.AuthBearer {
		return true
	}
	for _, p := range []string{abi.AuthHeaderPrefix, abi.AuthQueryPrefix, abi.AuthSigV4Prefix} {
		if rest, ok := strings.CutPrefix(a, p); ok && rest != "" && !strings.ContainsAny(rest, " :\r\n") {
			return true
		}
	}
	return false
}

func describeManifest(m abi.Manifest) string {
	if m.Kind == abi.KindBilling {
		return fmt.Sprintf("abi %d, billing %q %s", m.ABI, m.Name, m.Version)
	}
	s := fmt.Sprintf("abi %d, provider %q %s, apis %s, auth %s", m.ABI, m.Name, m.Version, strings.Join(m.APIs, ","), m.Auth)
	if m.StreamFraming != "" {
		s += ", streams " + m.StreamFraming
	}
	return s
}

// checkFixtures runs every case once on the main plugin (the baseline of
// the later checks) and compares it with its want.json.
func (k *kit) checkFixtures(ctx context.Context) error {
	k.baseline, k.trans, k.ok = map[string]*answers{}, map[string]transcript{}, map[string]bool{}
	if len(k.cases) == 0 {
		k.add("fixture", time.Now(), Fail, "no cases in %q: each case is a directory with a case.json (see `hub plugin test -h`)", k.opts.Fixtures)
		return nil
	}
	for _, f := range k.cases {
		start := time.Now()
		name := "fixture/" + f.name
		if f.stream && f.hasUpstream && f.upFraming != k.manifest.StreamFraming {
			k.add(name, start, Fail, "%s is %s, but the manifest's stream_framing is %q", f.upFile, f.upFraming, k.manifest.StreamFraming)
			continue
		}
		if (f.quote != nil || f.settle != nil) != (k.manifest.Kind == abi.KindBilling) {
			k.add(name, start, Fail, "a %s case for a %s plugin", map[bool]string{true: "billing", false: "provider"}[f.quote != nil || f.settle != nil], k.manifest.Kind)
			continue
		}
		var tr transcript
		got, err := runCase(ctx, k.main, f, &tr, nil, nil)
		if err != nil {
			k.add(name, start, Fail, "%v", err)
			continue
		}
		k.baseline[f.name], k.trans[f.name], k.ok[f.name] = got, tr, true
		switch {
		case k.opts.Update:
			if err := writeWant(f.dir, got); err != nil {
				return fmt.Errorf("fixture %s: %w", f.name, err)
			}
			k.add(name, start, Pass, "%s; want.json written", summarize(got))
		case f.want == nil:
			k.add(name, start, Fail, "%s; no want.json to compare with (record one with -update, then review it)", summarize(got))
		default:
			if d := diff(got, f.want); d != "" {
				k.add(name, start, Fail, "%s", d)
			} else {
				k.add(name, start, Pass, "%s, as want.json", summarize(got))
			}
		}
	}
	return nil
}

// summarize names what a case's answers hold.
func summarize(a *answers) string {
	var parts []string
	if r := a.Request; r != nil {
		if r.Error != nil {
			parts = append(parts, "request → error "+errName(r.Error))
		} else {
			parts = append(parts, "request "+r.Method+" "+r.Path)
		}
	}
	if r := a.Response; r != nil {
		if r.Error != nil {
			parts = append(parts, "response → error "+errName(r.Error))
		} else {
			parts = append(parts, "response")
		}
	}
	if s := a.Stream; s != nil {
		p := fmt.Sprintf("stream → %d chunks", len(s.Chunks))
		if s.Done {
			p += ", done"
		}
		if s.Error != nil {
			p += ", error " + errName(s.Error)
		}
		parts = append(parts, p)
	}
	if q := a.Quote; q != nil {
		switch {
		case q.Error != nil:
			parts = append(parts, "quote → error")
		case q.Allow:
			parts = append(parts, fmt.Sprintf("quote → allow, hold %d", q.Hold))
		default:
			parts = append(parts, "quote → refuse "+q.Code)
		}
	}
	if s := a.Settle; s != nil {
		if s.Error != nil {
			parts = append(parts, "settle → error")
		} else {
			parts = append(parts, fmt.Sprintf("settle → %d in %d items", s.Amount, len(s.Items)))
		}
	}
	return strings.Join(parts, ", ")
}

// errName names an error by its status and code or type.
func errName(e *abi.Error) string {
	s := fmt.Sprint(e.Status)
	if c := cmp.Or(e.Code, e.Type); c != "" {
		s += " " + c
	}
	return s
}

// A split is one way of cutting a stream body into reads and batching its
// events.
type split struct {
	name  string
	body  []byte
	sizes []int // read sizes; the rest at once
	batch batching
}

// splitReader returns body in reads of the given sizes.
type splitReader struct {
	body  []byte
	sizes []int
}

func (r *splitReader) Read(p []byte) (int, error) {
	if len(r.body) == 0 {
		return 0, io.EOF
	}
	n := len(r.body)
	if len(r.sizes) > 0 {
		n = min(n, r.sizes[0])
		r.sizes = r.sizes[1:]
	}
	n = copy(p, r.body[:n])
	r.body = r.body[n:]
	return n, nil
}

// sizesAt turns cut offsets (ascending) into read sizes.
func sizesAt(cuts []int) []int {
	var sizes []int
	last := 0
	for _, c := range cuts {
		if c > last {
			sizes = append(sizes, c-last)
			last = c
		}
	}
	return sizes
}

// splits lists the adversarial ways of delivering body for framing fr.
func splits(body []byte, fr string, seed uint64) []split {
	every := make([]int, len(body))
	for i := range every {
		every[i] = 1
	}
	out := []split{
		{name: "all events in one call", body: body, batch: allAtOnce},
		{name: "1-byte reads", body: body, sizes: every, batch: oneEach},
	}
	var inRune []int
	for i, b := range body {
		if b&0xC0 == 0x80 {
			inRune = append(inRune, i)
		}
	}
	if len(inRune) > 0 {
		out = append(out, split{name: "cuts inside UTF-8 runes", body: body, sizes: sizesAt(inRune), batch: oneEach})
	}
	if fr == abi.FramingSSE {
		var inField []int
		for i := 0; i+5 <= len(body); i++ {
			if (i == 0 || body[i-1] == '\n' || body[i-1] == '\r') && string(body[i:i+5]) == "data:" {
				inField = append(inField, i+2, i+5)
			}
		}
		if len(inField) > 0 {
			out = append(out, split{name: `cuts inside "data:" fields`, body: body, sizes: sizesAt(inField), batch: oneEach})
		}
	}
	if fr == abi.FramingSSE || fr == abi.FramingNDJSON {
		var crlf []byte
		var cuts []int
		for i, b := range body {
			if b == '\n' && (i == 0 || body[i-1] != '\r') {
				crlf = append(crlf, '\r')
				cuts = append(cuts, len(crlf))
			}
			crlf = append(crlf, b)
		}
		if len(cuts) > 0 {
			out = append(out, split{name: "CRLF line ends split between CR and LF", body: crlf, sizes: sizesAt(cuts), batch: oneEach})
		}
	}
	rng := rand.New(rand.NewPCG(seed, uint64(len(body))))
	for round := 0; round < 8; round++ {
		var sizes []int
		for left := len(body); left > 0; {
			n := 1 + rng.IntN(min(left, 97))
			sizes = append(sizes, n)
			left -= n
		}
		out = append(out, split{name: fmt.Sprintf("random cuts and batches #%d", round+1), body: body, sizes: sizes,
			batch: func() int { return 1 + rng.IntN(5) }})
	}
	return out
}

func (k *kit) checkStreamBoundaries(ctx context.Context) {
	const name = "stream-boundaries"
	start := time.Now()
	if k.manifest.Kind != abi.KindProvider || k.manifest.StreamFraming == "" {
		k.add(name, start, Skip, "the plugin does not stream")
		return
	}
	n, ways := 0, 0
	for _, f := range k.cases {
		if !f.stream || !f.hasUpstream || !k.ok[f.name] {
			continue
		}
		n++
		want := canonical(k.baseline[f.name].Stream)
		for _, sp := range splits(f.upstream, f.upFraming, k.opts.Seed) {
			ways++
			got, err := runCase(ctx, k.main, f, nil, &splitReader{body: sp.body, sizes: sp.sizes}, sp.batch)
			if err != nil {
				k.add(name, start, Fail, "%s, %s: %v", f.name, sp.name, err)
				return
			}
			if g := canonical(got.Stream); g != want {
				k.add(name, start, Fail, "%s, %s: %s", f.name, sp.name, diff(got, k.baseline[f.name]))
				return
			}
		}
	}
	if n == 0 {
		k.add(name, start, Fail, "the manifest declares stream_framing %q but no case (that runs) streams: add one with \"stream\": true and an upstream.%s",
			k.manifest.StreamFraming, map[string]string{abi.FramingSSE: "sse", abi.FramingNDJSON: "ndjson", abi.FramingAWSEventStream: "eventstream"}[k.manifest.StreamFraming])
		return
	}
	k.add(name, start, Pass, "%d stream cases × %d deliveries gave the same output", n, ways/n)
}

// runAll runs every case that ran on main and returns its transcript.
func (k *kit) runAll(ctx context.Context, p *runtime.Plugin) (map[string]transcript, error) {
	out := map[string]transcript{}
	for _, f := range k.cases {
		if !k.ok[f.name] {
			continue
		}
		var tr transcript
		if _, err := runCase(ctx, p, f, &tr, nil, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		out[f.name] = tr
	}
	return out, nil
}

func (k *kit) sameTranscripts(got map[string]transcript) string {
	for _, f := range k.cases {
		if !k.ok[f.name] {
			continue
		}
		g, w := got[f.name], k.trans[f.name]
		if !bytes.Equal(g.b.Bytes(), w.b.Bytes()) {
			gl, wl := bytes.Split(g.b.Bytes(), []byte("\n")), bytes.Split(w.b.Bytes(), []byte("\n"))
			for i := range min(len(gl), len(wl)) {
				if !bytes.Equal(gl[i], wl[i]) {
					return fmt.Sprintf("%s: call %d: got %q, first time %q", f.name, i+1, clip(string(gl[i]), 120), clip(string(wl[i]), 120))
				}
			}
			return fmt.Sprintf("%s: %d calls, first time %d", f.name, len(gl), len(wl))
		}
	}
	return ""
}

func (k *kit) checkDeterminism(ctx context.Context) {
	const name = "determinism"
	start := time.Now()
	if len(k.ok) == 0 {
		k.add(name, start, Skip, "no case ran")
		return
	}
	for round := 1; round <= 2; round++ {
		got, err := k.runAll(ctx, k.main)
		if err != nil {
			k.add(name, start, Fail, "repeat %d on the same instance: %v", round, err)
			return
		}
		if d := k.sameTranscripts(got); d != "" {
			k.add(name, start, Fail, "repeat %d on the same instance differs: %s", round, d)
			return
		}
	}
	fresh, err := k.load(ctx, nil)
	if err != nil {
		k.add(name, start, Fail, "load a fresh instance: %v", err)
		return
	}
	got, err := k.runAll(ctx, fresh)
	if err != nil {
		k.add(name, start, Fail, "on a fresh instance: %v", err)
		return
	}
	if d := k.sameTranscripts(got); d != "" {
		k.add(name, start, Fail, "a fresh instance differs: %s", d)
		return
	}
	k.add(name, start, Pass, "%d cases repeated twice on one instance and once on a fresh one: byte-identical results", len(k.ok))
}

func (k *kit) checkMemory(ctx context.Context) {
	const name = "memory"
	start := time.Now()
	if len(k.ok) == 0 {
		k.add(name, start, Skip, "no case ran")
		return
	}
	// Trusted: without wazero's context checks, which cost a goroutine
	// per call and slow loops down, and have nothing to do with memory.
	p, err := k.load(ctx, func(o *runtime.Options) { o.PoolSize, o.MinIdle, o.Trusted = 1, 1, true })
	if err != nil {
		k.add(name, start, Fail, "load: %v", err)
		return
	}
	var cs []rawCall
	for _, f := range k.cases {
		if !k.ok[f.name] {
			continue
		}
		c, err := calls(ctx, p, f)
		if err != nil {
			k.add(name, start, Fail, "%s: %v", f.name, err)
			return
		}
		cs = append(cs, c...)
	}
	n := k.opts.Calls
	warm := max(n/10, 1)
	loop := time.Now()
	var before runtime.Stats
	for i := range n {
		if i == warm {
			before = p.Stats()
		}
		c := cs[i%len(cs)]
		if _, err := p.Call(ctx, c.export, c.input); err != nil {
			var ae *abi.Error
			if !errors.As(err, &ae) {
				k.add(name, start, Fail, "call %d (%s): %v", i+1, c.export, err)
				return
			}
		}
	}
	after := p.Stats()
	if n <= warm {
		before = after
	}
	growth := int64(after.MemoryBytes) - int64(before.MemoryBytes)
	perCall := time.Since(loop) / time.Duration(n)
	switch {
	case after.Recycled > 0:
		k.add(name, start, Fail, "the instance's memory passed the pool's high-water mark and was recycled %d times in %d calls (now %s): it grows with every call", after.Recycled, n, mib(after.MemoryBytes))
	case after.Created != before.Created || after.Discarded > 0:
		k.add(name, start, Fail, "%d instances created, %d discarded during %d calls", after.Created, after.Discarded, n)
	case growth > int64(k.opts.MemoryGrowth):
		k.add(name, start, Fail, "linear memory grew from %s to %s over calls %d..%d (limit +%s)", mib(before.MemoryBytes), mib(after.MemoryBytes), warm, n, mib(k.opts.MemoryGrowth))
	default:
		k.add(name, start, Pass, "%d calls on one instance (%v each): memory %s after warm-up, %s at the end", n, perCall.Round(100*time.Nanosecond), mib(before.MemoryBytes), mib(after.MemoryBytes))
	}
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// largeInput returns an input record of the size given, for the first
// export of the plugin's kind: a request whose body carries a long user
// message, or a quote naming a long model.
func (k *kit) largeInput(size int) rawCall {
	if k.manifest.Kind == abi.KindBilling {
		q := abi.QuoteIn{API: abi.APIChatCompletions, Provider: "conformance", UnixMS: defaultTime, EstInputTokens: 10, MaxOutputTokens: 10}
		for _, f := range k.cases {
			if f.quote != nil {
				q = *f.quote
				break
			}
		}
		long := strings.Repeat("m", size/2)
		q.Model, q.RequestedModel = long, long
		return rawCall{abi.ExportQuote, q.Append(nil)}
	}
	in := abi.RequestIn{API: abi.APIChatCompletions, Model: "conformance", Provider: k.manifest.Name, Options: []byte("{}"), UnixMS: defaultTime}
	body := map[string]any{"model": "conformance", "messages": []any{}}
	for _, f := range k.cases {
		if f.providerCase != nil && f.req.API == abi.APIChatCompletions && !f.stream {
			var m map[string]any
			if json.Unmarshal(f.req.Body, &m) == nil {
				in, body = f.req, m
				break
			}
		}
	}
	msgs, _ := body["messages"].([]any)
	body["messages"] = append(msgs, map[string]any{"role": "user", "content": strings.Repeat("ab ¢ ", size/6)})
	in.Body, _ = json.Marshal(body)
	return rawCall{abi.ExportRequest, in.Append(nil)}
}

// recovered runs the first case that ran on p and says how its answers
// differ from the baseline ("" when they do not).
func (k *kit) recovered(ctx context.Context, p *runtime.Plugin) string {
	for _, f := range k.cases {
		if !k.ok[f.name] {
			continue
		}
		got, err := runCase(ctx, p, f, nil, nil, nil)
		if err != nil {
			return fmt.Sprintf("then case %s failed: %v", f.name, err)
		}
		if d := diff(got, k.baseline[f.name]); d != "" {
			return fmt.Sprintf("then case %s: %s", f.name, d)
		}
		return ""
	}
	return ""
}

// deadlineSlack is how long past its deadline a stopped call may return.
const deadlineSlack = 250 * time.Millisecond

func (k *kit) checkDeadline(ctx context.Context) {
	const name = "deadline"
	start := time.Now()
	big := k.largeInput(k.opts.LargeInput)
	var took time.Duration
	var err error
	for range 2 { // the second call is the warm one (its memory has grown)
		t0 := time.Now()
		_, err = k.main.Call(ctx, big.export, big.input)
		took = time.Since(t0)
		var ce *runtime.CallError
		if errors.As(err, &ce) {
			break
		}
	}
	if err != nil {
		var ae *abi.Error
		var ce *runtime.CallError
		switch {
		case errors.As(err, &ae):
		case errors.As(err, &ce) && ce.Kind == runtime.Timeout:
			// Slower than the runtime's default deadline: it was stopped there.
			if took > runtime.DefaultDeadline+deadlineSlack {
				k.add(name, start, Fail, "a %s input was stopped at the %v deadline only after %v", mib(uint64(len(big.input))), runtime.DefaultDeadline, took)
				return
			}
			if r := k.recovered(ctx, k.main); r != "" {
				k.add(name, start, Fail, "stopped at its deadline, %s", r)
				return
			}
			k.add(name, start, Pass, "a %s input ran past the %v deadline and was stopped after %v (slow: a hub with the default limits.plugin_deadline fails such a request); the next call was served",
				mib(uint64(len(big.input))), runtime.DefaultDeadline, took.Round(time.Millisecond))
			return
		default:
			k.add(name, start, Fail, "a %s input failed: %v", mib(uint64(len(big.input))), err)
			return
		}
	}
	// Give the same call a quarter of the time it needs: the runtime must
	// stop it there (the kit loads the plugin untrusted, as a hub loads a
	// third-party .wasm).
	for d := took / 4; d >= 100*time.Microsecond; d /= 4 {
		cctx, cancel := context.WithTimeout(ctx, d)
		t0 := time.Now()
		_, err := k.main.Call(cctx, big.export, big.input)
		took2 := time.Since(t0)
		cancel()
		var ce *runtime.CallError
		var ae *abi.Error
		switch {
		case err == nil, errors.As(err, &ae):
			if took2 > d+deadlineSlack {
				k.add(name, start, Fail, "a call with a deadline of %v ran to completion in %v", d, took2)
				return
			}
			continue // it was quick this time; try a shorter deadline
		case errors.As(err, &ce) && ce.Kind == runtime.Timeout:
			if took2 > d+deadlineSlack {
				k.add(name, start, Fail, "a call with a deadline of %v was stopped only after %v", d, took2)
				return
			}
			if r := k.recovered(ctx, k.main); r != "" {
				k.add(name, start, Fail, "stopped at its deadline, %s", r)
				return
			}
			k.add(name, start, Pass, "a %s input needing %v was stopped at its %v deadline after %v; the next call was served",
				mib(uint64(len(big.input))), took.Round(time.Microsecond), d.Round(time.Microsecond), took2.Round(time.Microsecond))
			return
		case errors.As(err, &ce):
			k.add(name, start, Fail, "a call past its deadline failed as %s, not a timeout: %v", ce.Kind, err)
			return
		}
		// The deadline passed before the guest ran (a plain context
		// error): a shorter one will not do better.
		break
	}
	// The plugin answers the large input too fast to cut it short: check
	// that a deadline already passed when the guest starts stops it.
	p, err := k.load(ctx, func(o *runtime.Options) { o.Deadline = time.Nanosecond })
	if err != nil {
		k.add(name, start, Fail, "load with a 1ns deadline: %v", err)
		return
	}
	_, err = p.Call(ctx, big.export, big.input)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || ce.Kind != runtime.Timeout {
		k.add(name, start, Fail, "a call with a 1ns deadline did not time out: %v", err)
		return
	}
	if r := k.recovered(ctx, k.main); r != "" {
		k.add(name, start, Fail, "%s", r)
		return
	}
	k.add(name, start, Pass, "a %s input took only %v, too quick to cut short; a call past its deadline at entry was stopped",
		mib(uint64(len(big.input))), took.Round(time.Microsecond))
}

func (k *kit) checkMemoryLimit(ctx context.Context) {
	const name = "memory-limit"
	start := time.Now()
	limit := k.opts.MemoryLimit
	p, err := k.load(ctx, func(o *runtime.Options) { o.MemoryLimit, o.PoolSize, o.MinIdle = limit, 1, 1 })
	if err != nil {
		k.add(name, start, Fail, "does not load within %s: %v", mib(limit), err)
		return
	}
	for _, f := range k.cases {
		if !k.ok[f.name] {
			continue
		}
		got, err := runCase(ctx, p, f, nil, nil, nil)
		if err != nil {
			k.add(name, start, Fail, "within %s, case %s: %v", mib(limit), f.name, err)
			return
		}
		if d := diff(got, k.baseline[f.name]); d != "" {
			k.add(name, start, Fail, "within %s, case %s: %s", mib(limit), f.name, d)
			return
		}
	}
	big := k.largeInput(int(limit) + 1<<20)
	outcome, err := func() (s string, err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("the host panicked: %v", v)
			}
		}()
		_, cerr := p.Call(ctx, big.export, big.input)
		if cerr == nil {
			return "", fmt.Errorf("a %s input succeeded within a %s memory limit", mib(uint64(len(big.input))), mib(limit))
		}
		var ce *runtime.CallError
		if errors.As(cerr, &ce) {
			return ce.Kind.String(), nil
		}
		return "error result", nil
	}()
	if err != nil {
		k.add(name, start, Fail, "%v", err)
		return
	}
	if r := k.recovered(ctx, p); r != "" {
		k.add(name, start, Fail, "after an oversize input, %s", r)
		return
	}
	st := p.Stats()
	k.add(name, start, Pass, "every case ran within %s (peak %s); a %s input failed cleanly (%s); the next call was served",
		mib(limit), mib(st.MemoryBytes), mib(uint64(len(big.input))), outcome)
}
