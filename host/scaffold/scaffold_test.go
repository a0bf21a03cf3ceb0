package scaffold

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The generated plugins are built, tested and run through the conformance
// kit by cmd/hub's TestPluginNewBuildTest; these tests cover the generator.

func TestGenerate(t *testing.T) {
	sdk, err := filepath.Abs("../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{KindProvider, KindBilling} {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			files, err := Generate(Options{Kind: kind, Name: "my-plugin", Dir: dir, SDK: sdk, Module: "example.org/x/my-plugin"})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"go.mod", "go.sum", "main.go", "README.md", ".gitignore"} {
				if !slices.Contains(files, want) {
					t.Errorf("%s not generated: %v", want, files)
				}
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(string(b), "{%") || strings.Contains(string(b), "%}") || strings.HasSuffix(f, ".tmpl") {
					t.Errorf("%s: template left over", f)
				}
			}
			mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
			for _, want := range []string{"module example.org/x/my-plugin\n", "go 1.26", "require github.com/aignehub/hub/sdk v0.0.0",
				"github.com/tidwall/gjson v", "replace github.com/aignehub/hub/sdk => " + filepath.ToSlash(sdk)} {
				if !strings.Contains(string(mod), want) {
					t.Errorf("go.mod lacks %q:\n%s", want, mod)
				}
			}
			main, _ := os.ReadFile(filepath.Join(dir, "main.go"))
			if !strings.Contains(string(main), "Command my-plugin is a") {
				t.Errorf("main.go does not name the plugin:\n%s", main)
			}
			if _, err := Generate(Options{Kind: kind, Name: "my-plugin", Dir: dir}); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("generating over a plugin: %v", err)
			}
		})
	}
}

func TestGeneratePublicSDK(t *testing.T) {
	dir := t.TempDir()
	files, err := Generate(Options{Kind: KindProvider, Name: "acme", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(files, "go.sum") {
		t.Error("a go.sum without an SDK to take it from")
	}
	mod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if strings.Contains(string(mod), "replace") || strings.Contains(string(mod), "require") || !strings.Contains(string(mod), "module example.com/acme") {
		t.Errorf("go.mod for the public SDK:\n%s", mod)
	}
}

func TestCheck(t *testing.T) {
	for _, o := range []Options{
		{Kind: "widget", Name: "a", Dir: "d"},
		{Kind: KindProvider, Name: "Acme", Dir: "d"},
		{Kind: KindProvider, Name: "9lives", Dir: "d"},
		{Kind: KindProvider, Name: "a b", Dir: "d"},
		{Kind: KindBilling, Name: "a"},
	} {
		if err := o.Check(); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Generate(Options{Kind: KindProvider, Name: "a", Dir: t.TempDir(), SDK: t.TempDir()}); err == nil {
		t.Error("an SDK path without the SDK's go.mod was accepted")
	}
}

func TestRequires(t *testing.T) {
	mod := []byte("module m\n\ngo 1.25\n\nrequire a.b/c v1.0.0 // x\n\nrequire (\n\td.e/f v0.1.0\n\tg.h/i v2.0.0 // indirect\n)\n")
	if got := requires(mod); !slices.Equal(got, []string{"a.b/c v1.0.0", "d.e/f v0.1.0", "g.h/i v2.0.0"}) {
		t.Errorf("requires = %q", got)
	}
	if v := goVersion(mod, "x"); v != "1.25" {
		t.Errorf("goVersion = %q", v)
	}
}
