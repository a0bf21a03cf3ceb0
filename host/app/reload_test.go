package app_test

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aignehub/hub/host/admin"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/emulator"
	"github.com/aignehub/hub/store"
)

// The hot-reload tests run a real hub whose provider "rt" uses the test
// plugin host/app/testdata/reloadplugin from a .wasm file, built with
// different link-time versions; each build stamps its version into every
// response and chunk it makes, so a test sees which build served a call.

var reloadBuilds sync.Map // ldflags -> *reloadBuild

type reloadBuild struct {
	once sync.Once
	wasm []byte
	err  error
}

// reloadWasm builds the test plugin with version and extra -X flags, once
// per test binary.
func reloadWasm(t *testing.T, version string, extra ...string) []byte {
	t.Helper()
	if _, err := builtin("openai"); err != nil { // sets wasmDir
		t.Fatal(err)
	}
	ldflags := strings.Join(append([]string{"-X main.version=" + version}, extra...), " ")
	v, _ := reloadBuilds.LoadOrStore(ldflags, new(reloadBuild))
	b := v.(*reloadBuild)
	b.once.Do(func() {
		sum := sha256.Sum256([]byte(ldflags))
		out := filepath.Join(wasmDir, "reload-"+hex.EncodeToString(sum[:6])+".wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-ldflags", ldflags, "-o", out, "./host/app/testdata/reloadplugin")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build reload plugin (%s): %v\n%s", ldflags, err, msg)
			return
		}
		b.wasm, b.err = os.ReadFile(out)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.wasm
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// replaceFile puts data at path in one step, as a deploy would.
func replaceFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// reloadHub is a hub with the reload test plugin as provider "rt".
type reloadHub struct {
	*testHub
	src   string // the plugin's .wasm file
	admin string // an admin key
	toml  func(entry string) string
}

const reloadTOML = `
data_dir = %q
[limits]
plugin_deadline = "5s"
upstream_timeout = "10m"
[plugins.rt]
source = %q
pool_size = 8
%s
[[providers]]
name = "rt"
plugin = "rt"
base_url = "%s/v1"
credentials = ["sk-upstream-secret-1234"]
models = ["gpt-4o-mini"]
`

// startReloadHub runs a hub whose rt plugin starts as wasm; entry adds
// lines to [plugins.rt]. The config is also written to the hub's config
// file, which SIGHUP re-reads. With a gate, the upstream holds every stream
// after its first events until the gate opens.
func startReloadHub(t *testing.T, eo emulator.Options, wasm []byte, entry string, g *gate) *reloadHub {
	t.Helper()
	src := filepath.Join(t.TempDir(), "rt.wasm")
	replaceFile(t, src, wasm)
	gated := ""
	if g != nil {
		emu := emulator.New(eo)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			emu.ServeHTTP(&gatedWriter{ResponseWriter: w, g: g, ctx: r.Context()}, r)
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(g.open) // before srv.Close: let held streams end
		gated = srv.URL
	}
	var dataDir, emuURL string
	h := startHubWith(t, eo, func(d, e string) string {
		dataDir, emuURL = d, cmp.Or(gated, e)
		return fmt.Sprintf(reloadTOML, d, src, entry, emuURL)
	})
	rh := &reloadHub{testHub: h, src: src, admin: h.adminKey(),
		toml: func(entry string) string { return fmt.Sprintf(reloadTOML, dataDir, src, entry, emuURL) }}
	rh.writeConfig(entry)
	return rh
}

func (h *reloadHub) writeConfig(entry string) {
	h.t.Helper()
	if err := os.WriteFile(h.hub.Config().File(), []byte(h.toml(entry)), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// gate holds upstream streams until open.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate() *gate  { return &gate{ch: make(chan struct{})} }
func (g *gate) open() { g.once.Do(func() { close(g.ch) }) }

// gatedWriter blocks a response at its second flush (the emulator flushes
// after each stream event) until the gate opens or the request ends.
type gatedWriter struct {
	http.ResponseWriter
	g       *gate
	ctx     context.Context
	flushes int
}

func (w *gatedWriter) Flush() {
	w.ResponseWriter.(http.Flusher).Flush()
	if w.flushes++; w.flushes == 2 {
		select {
		case <-w.g.ch:
		case <-w.ctx.Done():
		}
	}
}

// reload POSTs a reload or rollback and decodes the answer; a failure
// (4xx) is returned in the error shape.
func (h *reloadHub) reload(action string, wantStatus int) (admin.PluginReload, openAIError) {
	h.t.Helper()
	var res admin.PluginReload
	var e openAIError
	var out any = &e
	if wantStatus == 200 {
		out = &res
	}
	h.adminJSON(h.admin, "POST", "/api/admin/plugins/rt/"+action, "", wantStatus, out)
	return res, e
}

// plugin returns what GET /api/admin/plugins says of rt.
func (h *reloadHub) plugin() admin.PluginInfo {
	h.t.Helper()
	var l struct{ Data []admin.PluginInfo }
	h.adminJSON(h.admin, "GET", "/api/admin/plugins", "", 200, &l)
	for _, p := range l.Data {
		if p.Name == "rt" {
			return p
		}
	}
	h.t.Fatalf("rt is not listed: %+v", l.Data)
	return admin.PluginInfo{}
}

// served makes a non-stream call and returns the build that served it.
func (h *reloadHub) served() string {
	h.t.Helper()
	resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "rt/gpt-4o-mini", ""))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("call: %d %s", resp.StatusCode, b)
	}
	var r struct {
		SystemFingerprint string `json:"system_fingerprint"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimPrefix(r.SystemFingerprint, "reloadtest-")
}

// eventually polls cond for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamResult is what one client saw of a stream.
type streamResult struct {
	err      error
	status   int
	content  string
	chunks   int
	builds   map[string]int // chunks per build that made them
	done     bool           // [DONE] arrived
	finished string         // the finish_reason
	end      time.Time
}

// The test: 50 streams stay open while the plugin is reloaded twice,
// to two other builds. No stream breaks; each is served to its end by the
// build it started on; calls made after each reload use the new build; the
// replaced builds are closed once their streams are done.
func TestHotReloadUnderOpenStreams(t *testing.T) {
	v1, v2, v3 := reloadWasm(t, "1.0.0"), reloadWasm(t, "2.0.0"), reloadWasm(t, "3.0.0")
	const n, chunks = 50, 40
	g := newGate()
	h := startReloadHub(t, emulator.Options{Chunks: chunks, Pace: 5 * time.Millisecond}, v1, "", g)
	if got := h.served(); got != "1.0.0" {
		t.Fatalf("before any reload, build %s served", got)
	}

	results := make([]streamResult, n)
	var started, wg sync.WaitGroup
	started.Add(n)
	wg.Add(n)
	body := fmt.Sprintf(chatBody, "rt/gpt-4o-mini", `,"stream":true`)
	for i := range results {
		go func() {
			defer wg.Done()
			r := &results[i]
			r.builds = map[string]int{}
			var once sync.Once
			defer once.Do(started.Done)
			req, _ := http.NewRequest("POST", h.url+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+h.key)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				r.err = err
				return
			}
			defer resp.Body.Close()
			r.status = resp.StatusCode
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				data, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok {
					continue
				}
				if data == "[DONE]" {
					r.done = true
					continue
				}
				var c struct {
					SystemFingerprint string `json:"system_fingerprint"`
					Choices           []struct {
						Delta        struct{ Content string }
						FinishReason *string `json:"finish_reason"`
					}
					Error any
				}
				if err := json.Unmarshal([]byte(data), &c); err != nil || c.Error != nil {
					r.err = fmt.Errorf("bad chunk %q (%v)", data, err)
					return
				}
				r.builds[strings.TrimPrefix(c.SystemFingerprint, "reloadtest-")]++
				for _, ch := range c.Choices {
					if ch.Delta.Content != "" {
						r.chunks++
						r.content += ch.Delta.Content
					}
					if ch.FinishReason != nil {
						r.finished = *ch.FinishReason
					}
				}
				once.Do(started.Done)
			}
			r.err = sc.Err()
			r.end = time.Now()
		}()
	}
	started.Wait() // every stream has had output from build 1, and waits for the gate

	replaceFile(t, h.src, v2)
	res, _ := h.reload("reload", 200)
	if !res.OK || !res.Changed || res.Version != "2.0.0" || res.Previous == nil || res.Previous.Version != "1.0.0" || res.SHA256 != shaHex(v2) {
		t.Fatalf("first reload: %+v", res)
	}
	if got := h.served(); got != "2.0.0" {
		t.Fatalf("after the first reload, build %s served a new call", got)
	}
	p := h.plugin()
	if p.Version != "2.0.0" || p.SHA256 != shaHex(v2) || p.Rollback == nil || p.Rollback.Version != "1.0.0" || p.Draining < 1 ||
		p.LastReload == nil || !p.LastReload.OK || p.LastReload.Trigger != "api" {
		t.Fatalf("plugins after the first reload: %+v", p)
	}

	replaceFile(t, h.src, v3)
	if res, _ := h.reload("reload", 200); !res.OK || res.Version != "3.0.0" || res.Previous.Version != "2.0.0" {
		t.Fatalf("second reload: %+v", res)
	}
	secondDone := time.Now()
	if got := h.served(); got != "3.0.0" {
		t.Fatalf("after the second reload, build %s served a new call", got)
	}
	if p := h.plugin(); p.Version != "3.0.0" || p.Rollback.Version != "2.0.0" || p.Draining < 1 {
		t.Fatalf("plugins after the second reload: %+v", p)
	}

	g.open()
	wg.Wait()
	want := results[0].content
	for i, r := range results {
		switch {
		case r.err != nil || r.status != 200:
			t.Errorf("stream %d: status %d, %v", i, r.status, r.err)
		case !r.done || r.finished != "stop" || r.chunks != chunks || r.content != want || want == "":
			t.Errorf("stream %d broke: done %v, finish %q, %d content chunks, content %q (stream 0: %q)", i, r.done, r.finished, r.chunks, r.content, want)
		case len(r.builds) != 1 || r.builds["1.0.0"] == 0:
			t.Errorf("stream %d was served by builds %v, want 1.0.0 only", i, r.builds)
		case !r.end.After(secondDone):
			t.Errorf("stream %d ended at %v, before the second reload finished (%v)", i, r.end, secondDone)
		}
	}
	if t.Failed() {
		return
	}
	// Once their calls are done, the replaced builds are closed.
	eventually(t, 15*time.Second, "the replaced builds to close", func() bool { return h.plugin().Draining == 0 })
	if got := h.served(); got != "3.0.0" {
		t.Fatalf("at the end, build %s served", got)
	}
}

// A reload that fails a step swaps nothing: the serving build stays, the
// API answers 422 with the step, and GET /api/admin/plugins shows it in
// last_reload. Rollback brings back the previous build, and back again.
func TestReloadFailuresKeepTheServingVersion(t *testing.T) {
	v1, v2 := reloadWasm(t, "1.0.0"), reloadWasm(t, "2.0.0")
	abi2 := reloadWasm(t, "1.5.0", "-X main.abiVersion=2")
	crash := reloadWasm(t, "1.6.0", "-X main.mode=exit")
	garbage := reloadWasm(t, "1.7.0", "-X main.mode=garbage")
	h := startReloadHub(t, emulator.Options{}, v1, "", nil)

	// Nothing to roll back to yet; the same file again changes nothing.
	if _, e := h.reload("rollback", 409); e.Error.Code == nil || *e.Error.Code != "no_rollback" {
		t.Errorf("rollback without a previous version: %+v", e)
	}
	if res, _ := h.reload("reload", 200); !res.OK || res.Changed || res.Version != "1.0.0" {
		t.Errorf("reload of the same file: %+v", res)
	}

	for _, c := range []struct {
		name    string
		wasm    []byte // nil: the file is gone
		step    string
		message string
	}{
		{"not wasm", []byte("\x00asm, or so it says"), admin.StepValidate, "compile"},
		{"another ABI version", abi2, admin.StepValidate, "manifest declares abi 2, want 1"},
		{"hub_request crashes", crash, admin.StepCanary, "hub_request on the standard chat.completions request"},
		{"hub_request returns garbage", garbage, admin.StepCanary, `is not an HTTP method`},
		{"file gone", nil, admin.StepLoad, "no such file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.wasm == nil {
				os.Remove(h.src)
			} else {
				replaceFile(t, h.src, c.wasm)
			}
			_, e := h.reload("reload", 422)
			if e.Error.Param == nil || *e.Error.Param != c.step || *e.Error.Code != "plugin_reload_failed" ||
				!strings.Contains(e.Error.Message, c.message) || !strings.Contains(e.Error.Message, "previous version keeps serving") {
				t.Errorf("answer: %+v (param %v)", e.Error, deref(e.Error.Param))
			}
			p := h.plugin()
			l := p.LastReload
			if p.Version != "1.0.0" || p.SHA256 != shaHex(v1) || l == nil || l.OK || l.Step != c.step || !strings.Contains(l.Error, c.message) {
				t.Errorf("plugins: version %s, last_reload %+v", p.Version, l)
			}
			if c.wasm != nil && l.SHA256 != shaHex(c.wasm) {
				t.Errorf("last_reload.sha256 %s, want the tried module's", l.SHA256)
			}
			if got := h.served(); got != "1.0.0" {
				t.Errorf("build %s served after a failed reload", got)
			}
		})
	}

	// Two reloads at once run one after the other: one swaps, the other
	// finds the new module already serving.
	replaceFile(t, h.src, v2)
	var both [2]admin.PluginReload
	var wg sync.WaitGroup
	for i := range both {
		wg.Go(func() { both[i], _ = h.reload("reload", 200) })
	}
	wg.Wait()
	if !both[0].OK || !both[1].OK || both[0].Changed == both[1].Changed || both[0].Version != "2.0.0" || both[1].Version != "2.0.0" {
		t.Fatalf("concurrent reloads: %+v", both)
	}
	res, _ := h.reload("rollback", 200)
	if !res.OK || !res.Changed || res.Action != "rollback" || res.Version != "1.0.0" || res.Previous.Version != "2.0.0" {
		t.Fatalf("rollback: %+v", res)
	}
	if got := h.served(); got != "1.0.0" {
		t.Fatalf("after the rollback, build %s served", got)
	}
	if p := h.plugin(); p.Version != "1.0.0" || p.Rollback == nil || p.Rollback.Version != "2.0.0" {
		t.Fatalf("plugins after the rollback: %+v", p)
	}
	if res, _ := h.reload("rollback", 200); !res.OK || res.Version != "2.0.0" || h.served() != "2.0.0" {
		t.Fatalf("rollback of the rollback: %+v", res)
	}

	// Every attempt is audited, failed ones included.
	entries, err := h.hub.Store().ListAudit(context.Background(), store.AuditFilter{Action: "plugin.*", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		var d struct {
			OK   bool
			Step string
		}
		json.Unmarshal(en.Detail, &d)
		got = append(got, fmt.Sprintf("%s:%v:%s", en.Action, d.OK, d.Step))
	}
	want := "plugin.rollback:true: plugin.rollback:true: plugin.reload:true: plugin.reload:true: plugin.reload:false:load plugin.reload:false:canary " +
		"plugin.reload:false:canary plugin.reload:false:validate plugin.reload:false:validate plugin.reload:true:"
	if strings.Join(got, " ") != want {
		t.Errorf("audit, newest first:\n%s\nwant\n%s", strings.Join(got, " "), want)
	}
}

// SIGHUP's work (Hub.ReloadChanged): the sha256 pin in hub.toml refuses a
// module that differs; re-reading hub.toml with a new pin lets it in; an
// unchanged plugin is left alone; a hub.toml that no longer loads is not
// applied.
func TestReloadChangedRereadsPins(t *testing.T) {
	v1, v2 := reloadWasm(t, "1.0.0"), reloadWasm(t, "2.0.0")
	pin := func(b []byte) string { return fmt.Sprintf("sha256 = %q", shaHex(b)) }
	h := startReloadHub(t, emulator.Options{}, v1, pin(v1), nil)
	ctx := context.Background()

	if res := h.hub.ReloadChanged(ctx); len(res) != 0 {
		t.Fatalf("nothing changed, but: %+v", res)
	}
	replaceFile(t, h.src, v2)
	res := h.hub.ReloadChanged(ctx)
	if len(res) != 1 || res[0].OK || res[0].Step != admin.StepValidate || !strings.Contains(res[0].Error, "hub.toml pins "+shaHex(v1)) ||
		res[0].Trigger != "signal" {
		t.Fatalf("reload of a module the pin refuses: %+v", res)
	}
	if _, e := h.reload("reload", 422); !strings.Contains(e.Error.Message, "pins") {
		t.Errorf("API reload against the pin: %+v", e)
	}
	if got := h.served(); got != "1.0.0" {
		t.Fatalf("build %s serves against the pin", got)
	}

	h.writeConfig(pin(v2))
	res = h.hub.ReloadChanged(ctx)
	if len(res) != 1 || !res[0].OK || res[0].Version != "2.0.0" {
		t.Fatalf("reload after the new pin: %+v", res)
	}
	if got := h.served(); got != "2.0.0" {
		t.Fatalf("build %s serves after the new pin", got)
	}
	if res := h.hub.ReloadChanged(ctx); len(res) != 0 {
		t.Fatalf("nothing changed, but: %+v", res)
	}

	// A broken hub.toml is not applied: the pin in use (v2's) refuses v1.
	os.WriteFile(h.hub.Config().File(), []byte("this is [not toml"), 0o600)
	replaceFile(t, h.src, v1)
	res = h.hub.ReloadChanged(ctx)
	if len(res) != 1 || res[0].OK || !strings.Contains(res[0].Error, "pins "+shaHex(v2)) {
		t.Fatalf("reload with a broken hub.toml: %+v", res)
	}
	entries, err := h.hub.Store().ListAudit(ctx, store.AuditFilter{Action: "plugin.*", Actor: "signal:SIGHUP"})
	if err != nil || len(entries) != 3 {
		t.Fatalf("audit of SIGHUP reloads: %d entries, %v", len(entries), err)
	}
}

// With watch = true, a new file is swapped in by itself, a file written in
// two goes is loaded only once whole, and garbage is refused (and not tried
// again until the file changes).
func TestWatchReloadsChangedFile(t *testing.T) {
	v1, v2, v3 := reloadWasm(t, "1.0.0"), reloadWasm(t, "2.0.0"), reloadWasm(t, "3.0.0")
	h := startReloadHub(t, emulator.Options{}, v1, "watch = true", nil)
	if p := h.plugin(); !p.Watch {
		t.Fatalf("plugins: %+v", p)
	}
	version := func() string { return h.plugin().Version }

	replaceFile(t, h.src, v2)
	eventually(t, 60*time.Second, "the watcher to load build 2", func() bool { return version() == "2.0.0" })
	if p := h.plugin(); p.LastReload == nil || p.LastReload.Trigger != "watch" || !p.LastReload.OK || h.served() != "2.0.0" {
		t.Fatalf("after the watched reload: %+v", p.LastReload)
	}

	// Half the module, then the rest: never loaded half-written.
	f, err := os.OpenFile(h.src, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(v3[:len(v3)/2])
	time.Sleep(300 * time.Millisecond)
	f.Write(v3[len(v3)/2:])
	f.Close()
	eventually(t, 60*time.Second, "the watcher to load build 3", func() bool { return version() == "3.0.0" })

	replaceFile(t, h.src, []byte("garbage, not a module"))
	eventually(t, 60*time.Second, "the watcher to refuse garbage", func() bool {
		l := h.plugin().LastReload
		return l != nil && !l.OK
	})
	p := h.plugin()
	if p.Version != "3.0.0" || p.LastReload.Step != admin.StepValidate || p.LastReload.SHA256 != shaHex([]byte("garbage, not a module")) {
		t.Fatalf("after garbage: version %s, last_reload %+v", p.Version, p.LastReload)
	}
	if got := h.served(); got != "3.0.0" {
		t.Fatalf("build %s serves after garbage", got)
	}
	time.Sleep(2500 * time.Millisecond) // a bad module is tried once
	entries, err := h.hub.Store().ListAudit(context.Background(), store.AuditFilter{Action: "plugin.*", Actor: "watch"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		var d struct{ OK bool }
		json.Unmarshal(e.Detail, &d)
		got = append(got, fmt.Sprint(d.OK))
	}
	if strings.Join(got, ",") != "false,true,true" {
		t.Fatalf("watch reloads audited, newest first: %v (want one failure, after two successes)", got)
	}
}

// The billing policy reloads too: the builtin credits policy, loaded from a
// file, is replaced by the example policy (a daily allowance, so the next
// call is free), then rolled back (list price again).
func TestReloadBillingPolicy(t *testing.T) {
	credits, err := builtin("credits")
	if err != nil {
		t.Fatal(err)
	}
	policy, err := os.ReadFile(buildExamplePolicy(t, "billing-policy-reload.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "pol.wasm")
	replaceFile(t, src, credits)
	// Streams are held at the gate, so that one is in flight across the
	// reload.
	g := newGate()
	emu := emulator.New(emulator.Options{})
	var arrived atomic.Int64 // upstream requests so far
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		emu.ServeHTTP(&gatedWriter{ResponseWriter: w, g: g, ctx: r.Context()}, r)
	}))
	t.Cleanup(srv.Close)
	h := startHubWith(t, emulator.Options{}, func(dataDir, _ string) string {
		return policyTOML(dataDir, "pol", src, "", srv.URL)
	})
	t.Cleanup(g.open) // before the hub's shutdown, which waits for held streams
	h.grant(1_000_000)
	charge := func() int64 {
		resp := h.post(h.key, "/v1/chat/completions", fmt.Sprintf(chatBody, "gpt-4o-mini", ""))
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call: %d", resp.StatusCode)
		}
		return h.call(resp.Header.Get("X-Request-Id")).Credits
	}
	list := charge()
	if list <= 0 {
		t.Fatalf("the credits policy charged %d", list)
	}
	adminKey := h.adminKey()
	replaceFile(t, src, policy)

	// A stream quoted by the credits policy (its upstream request is out,
	// held at the gate) when the policy is swapped is settled by the
	// credits policy too: the example policy would make it free.
	sent := arrived.Load()
	streamed := make(chan *http.Response, 1)
	go func() {
		streamed <- h.post(h.key, "/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	}()
	for deadline := time.Now().Add(10 * time.Second); arrived.Load() == sent; {
		if time.Now().After(deadline) {
			t.Fatal("the stream never reached the upstream")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var res struct {
		OK      bool
		Version string
	}
	h.adminJSON(adminKey, "POST", "/api/admin/plugins/pol/reload", "", 200, &res)
	if !res.OK {
		t.Fatalf("reload: %+v", res)
	}
	g.open()
	resp := <-streamed
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if c := h.call(resp.Header.Get("X-Request-Id")); resp.StatusCode != 200 || c.Credits <= 0 {
		t.Fatalf("the stream quoted before the reload: status %d, charged %d; want the quoting policy's price", resp.StatusCode, c.Credits)
	}
	if c := charge(); c != 0 {
		t.Fatalf("the example policy (one free credit a day) charged %d", c)
	}
	h.adminJSON(adminKey, "POST", "/api/admin/plugins/pol/rollback", "", 200, &res)
	if c := charge(); c != list {
		t.Fatalf("after the rollback the call cost %d, want %d", c, list)
	}
	var l struct{ Data []admin.PluginInfo }
	h.adminJSON(adminKey, "GET", "/api/admin/plugins", "", 200, &l)
	for _, p := range l.Data {
		if p.Name == "pol" && (p.Kind != "billing" || p.SHA256 != shaHex(credits) || p.Rollback == nil || p.Rollback.SHA256 != shaHex(policy)) {
			t.Fatalf("plugins: %+v", p)
		}
	}
	h.writeAll()
	h.verifyLedger()
}

// SIGHUP on a real hub process reloads a changed plugin file.
func TestSIGHUPReloadsARealHub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a hub process")
	}
	v1, v2 := reloadWasm(t, "1.0.0"), reloadWasm(t, "2.0.0")
	dir := t.TempDir()
	bin := buildHubBinary(t, dir)
	emu := httptest.NewServer(emulator.New(emulator.Options{}))
	defer emu.Close()
	src := filepath.Join(dir, "rt.wasm")
	replaceFile(t, src, v1)
	port := freePort(t)
	cfgPath := filepath.Join(dir, "hub.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen = "127.0.0.1:%d"
data_dir = "data"
[log]
level = "warn"
[plugins.rt]
source = %q
[[providers]]
name = "rt"
plugin = "rt"
base_url = "%s/v1"
models = ["gpt-4o-mini"]
`, port, src, emu.URL)), 0o600)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	key := keyBeforeStart(t, cfg, "ops", store.RoleAdmin, 0)

	cmd := exec.Command(bin, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	version := func() string {
		req, _ := http.NewRequest("GET", base+"/api/admin/plugins", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		var l struct{ Data []admin.PluginInfo }
		if json.NewDecoder(resp.Body).Decode(&l) != nil || len(l.Data) != 1 {
			return ""
		}
		return l.Data[0].Version
	}
	eventually(t, 60*time.Second, "the hub to start", func() bool { return version() == "1.0.0" })
	replaceFile(t, src, v2)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "SIGHUP to reload build 2", func() bool { return version() == "2.0.0" })
	// The process is still the one serving (SIGHUP did not end it).
	if cmd.ProcessState != nil {
		t.Fatal("the hub exited")
	}
}
