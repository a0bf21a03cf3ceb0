package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/aignehub/hub/runtime"
)

// cache is shared by the tests' loads, on disk so that a module compiles
// once per runtime configuration across test runs too (in memory if the
// directory cannot be made).
var cache = sync.OnceValue(func() wazero.CompilationCache {
	c, err := runtime.NewCache(filepath.Join(os.TempDir(), "aignehub-conformance-test-cache"))
	if err != nil {
		return wazero.NewCompilationCache()
	}
	return c
})

// need reads a built module, skipping the test when it is missing, except
// under CI=true, where a missing module is a failure.
func need(t *testing.T, path, make string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v: run `make %s` first", err, make)
		}
		t.Skipf("%v: run `make %s` first", err, make)
	}
	return b
}

// testCalls is the memory check's length in the tests: the kit's default,
// 100,000 calls, or 2,000 with -short.
func testCalls() int {
	if testing.Short() {
		return 2000
	}
	return DefaultCalls
}

// TestBuiltins runs the kit on every built-in plugin (plugins/wasm/*.wasm,
// built by `make plugins`) and on examples/billing-policy
// (bin/billing-policy.wasm, `make examples`), each with its cases in
// testdata/builtin/NAME: every check must pass.
func TestBuiltins(t *testing.T) {
	names, err := filepath.Glob("testdata/builtin/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 8 {
		t.Fatalf("only %d fixture sets in testdata/builtin", len(names))
	}
	wasms, _ := filepath.Glob("../../plugins/*/main.go")
	for _, w := range wasms {
		name := filepath.Base(filepath.Dir(w))
		if _, err := os.Stat(filepath.Join("testdata/builtin", name)); err != nil {
			t.Errorf("built-in plugin %s has no conformance cases in testdata/builtin/%s", name, name)
		}
	}
	for _, dir := range names {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			path, mk := filepath.Join("../../plugins/wasm", name+".wasm"), "plugins"
			if name == "billing-policy" {
				path, mk = "../../bin/billing-policy.wasm", "examples"
			}
			rep, err := Run(context.Background(), Options{Wasm: need(t, path, mk), Name: name, Fixtures: dir, Calls: testCalls(), Cache: cache()})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.WriteText(&out)
			if !rep.Passed {
				t.Fatalf("failed checks %v:\n%s", rep.Failed(), out.String())
			}
			if rep.Plugin != name {
				t.Errorf("plugin %q, want %q", rep.Plugin, name)
			}
			t.Logf("\n%s", out.String())
		})
	}
}

var (
	brokenOnce sync.Once
	brokenWasm []byte
	brokenErr  error
)

// broken builds testdata/broken, the kit's misbehaving test plugin.
func broken(t *testing.T) []byte {
	t.Helper()
	brokenOnce.Do(func() {
		out := filepath.Join(t.TempDir(), "broken.wasm")
		cmd := exec.Command("go", "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./testdata/broken")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			brokenErr = err
			brokenWasm = msg
			return
		}
		brokenWasm, brokenErr = os.ReadFile(out)
	})
	if brokenErr != nil {
		t.Fatalf("build testdata/broken: %v\n%s", brokenErr, brokenWasm)
	}
	return brokenWasm
}

// TestBrokenPlugins runs the kit on plugins broken one way each and checks
// that exactly the checks that should fail do.
func TestBrokenPlugins(t *testing.T) {
	tests := []struct {
		name     string
		wasm     func(t *testing.T) []byte
		config   string
		fixtures string
		fail     []string
		detail   string // in the first failed check's detail
	}{
		{"well-behaved", broken, `{}`, "testdata/broken-fixtures", nil, ""},
		{"not a module", func(*testing.T) []byte { return []byte("\x00asm but not really") }, `{}`, "testdata/broken-fixtures", []string{"load"}, "load plugin"},
		{"bad manifest", broken, `{"break":"manifest"}`, "testdata/broken-fixtures", []string{"manifest"}, `version is empty; unknown api "chat"`},
		{"wrong answer", broken, `{"break":"wrong"}`, "testdata/broken-fixtures", []string{"fixture/chat", "fixture/stream"}, "request differs"},
		{"no cases", broken, `{}`, "testdata/does-not-exist", []string{"fixture", "stream-boundaries"}, "no cases"},
		{"output depends on batching", broken, `{"break":"batch"}`, "testdata/broken-fixtures", []string{"stream-boundaries"}, "all events in one call"},
		{"state kept in globals", broken, `{"break":"nondeterministic"}`, "testdata/broken-fixtures", []string{"determinism"}, "same instance differs"},
		{"memory leak", broken, `{"break":"leak"}`, "testdata/broken-fixtures", []string{"memory"}, "recycled"},
		{"fails on a large input", broken, `{"break":"fragile"}`, "testdata/broken-fixtures", []string{"deadline"}, "exit"},
		{"needs more than the limit", broken, `{"break":"bigmem"}`, "testdata/broken-fixtures", []string{"memory-limit"}, "does not load within 16.0 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{Wasm: tt.wasm(t), Name: "broken", Fixtures: tt.fixtures,
				Config: []byte(tt.config), Calls: 3000, Cache: cache()})
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			rep.WriteText(&out)
			if got := rep.Failed(); !slices.Equal(got, tt.fail) {
				t.Fatalf("failed %v, want %v:\n%s", got, tt.fail, out.String())
			}
			if rep.Passed != (len(tt.fail) == 0) {
				t.Errorf("Passed = %v", rep.Passed)
			}
			if len(tt.fail) > 0 {
				r, _ := rep.Result(tt.fail[0])
				if !strings.Contains(r.Detail, tt.detail) {
					t.Errorf("%s detail %q does not say %q", tt.fail[0], r.Detail, tt.detail)
				}
			}
			var js bytes.Buffer
			if err := rep.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(rep.Results) {
				t.Fatalf("JSON report does not round-trip: %v\n%s", err, js.String())
			}
		})
	}
}

// TestUpdate records want.json files and then passes against them.
func TestUpdate(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"chat", "stream"} {
		src := filepath.Join("testdata/broken-fixtures", c)
		if err := os.MkdirAll(filepath.Join(dir, c), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"case.json", "upstream.json", "upstream.sse"} {
			if b, err := os.ReadFile(filepath.Join(src, f)); err == nil {
				os.WriteFile(filepath.Join(dir, c, f), b, 0o644)
			}
		}
	}
	opts := Options{Wasm: broken(t), Name: "broken", Fixtures: dir, Calls: 100, Cache: cache()}
	rep, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := rep.Result("fixture/chat"); r.Status != Fail || !strings.Contains(r.Detail, "-update") {
		t.Fatalf("without want.json: %+v", r)
	}
	opts.Update = true
	if rep, err = Run(context.Background(), opts); err != nil || !rep.Passed {
		t.Fatalf("-update: %v %v", err, rep.Failed())
	}
	opts.Update = false
	if rep, err = Run(context.Background(), opts); err != nil || !rep.Passed {
		t.Fatalf("after -update: %v %v", err, rep.Failed())
	}
	want, _ := os.ReadFile("testdata/broken-fixtures/chat/want.json")
	got, _ := os.ReadFile(filepath.Join(dir, "chat", "want.json"))
	if !bytes.Equal(got, want) {
		t.Errorf("want.json written:\n%s\ncommitted:\n%s", got, want)
	}
}

// TestFixtureErrors: a fixture that does not parse is an error of the run,
// naming the case and the problem.
func TestFixtureErrors(t *testing.T) {
	tests := []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"case.json": `{"modle":"x"}`}, `unknown field "modle"`},
		{map[string]string{"case.json": `{"stream":true}`, "upstream.json": `{}`}, "a stream case needs"},
		{map[string]string{"case.json": `{}`, "upstream.sse": "data: x\n\n"}, `does not set "stream": true`},
		{map[string]string{"case.json": `{}`, "want.json": `{"request":{"verb":"GET"}}`}, "want.json"},
		{map[string]string{"upstream.json": `{}`}, "case.json"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "bad"), 0o755)
		for n, b := range tt.files {
			os.WriteFile(filepath.Join(dir, "bad", n), []byte(b), 0o644)
		}
		_, err := Run(context.Background(), Options{Wasm: broken(t), Fixtures: dir, Calls: 10, Cache: cache()})
		if err == nil || !strings.Contains(err.Error(), "fixture bad") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want %q", tt.files, err, tt.want)
		}
	}
}

func TestSplits(t *testing.T) {
	body := []byte("data: {\"a\":\"é\"}\n\ndata: [DONE]\n\n")
	for _, sp := range splits(body, "sse", 1) {
		var got []byte
		r := &splitReader{body: sp.body, sizes: sp.sizes}
		buf := make([]byte, 1<<10)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		want := body
		if strings.HasPrefix(sp.name, "CRLF") {
			want = bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: reads give %q", sp.name, got)
		}
	}
	names := ""
	for _, sp := range splits(body, "sse", 1) {
		names += sp.name + ";"
	}
	for _, w := range []string{"1-byte", "UTF-8", `"data:"`, "CRLF", "random"} {
		if !strings.Contains(names, w) {
			t.Errorf("no %s split in %s", w, names)
		}
	}
}
