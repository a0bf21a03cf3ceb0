// Package scaffold writes a new plugin's source tree: `hub plugin new
// provider|billing NAME`. The templates (embedded, under templates/KIND)
// make a Go module on the SDK (github.com/aignehub/hub/sdk) with the plugin,
// native tests, conformance fixtures (host/conformance's format) and a
// README, which builds and passes its tests exactly as generated.
//
// Files whose names end in ".tmpl" are text/template files with the
// delimiters {% and %} (Go and JSON use the usual braces); the suffix is
// dropped. Others are copied as they are. go.mod and the .go files are
// templates also because a go.mod, or Go files, in this package's tree
// would be built as part of the hub.
package scaffold

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"
)

//go:embed all:templates
var templates embed.FS

// Kinds of plugin that can be generated.
const (
	KindProvider = "provider"
	KindBilling  = "billing"
)

// Options say what to generate.
type Options struct {
	// Kind is KindProvider or KindBilling. Required.
	Kind string
	// Name is the plugin's name: lowercase letters, digits, '-' and '_',
	// starting with a letter. Required.
	Name string
	// Dir is the directory to create. It must not exist, or be empty.
	// Required.
	Dir string
	// SDK is the path of a local SDK (a hub source tree's sdk/ directory)
	// that go.mod replaces github.com/aignehub/hub/sdk with, and whose go.mod
	// and go.sum pin the SDK's own dependencies. Empty means the public
	// module: go.mod then requires nothing yet, and the author runs `go get
	// github.com/aignehub/hub/sdk@latest`.
	SDK string
	// Module is the plugin's Go module path. Empty means "example.com/NAME".
	Module string
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Check reports what is wrong with the options, without touching the disk.
func (o Options) Check() error {
	var probs []string
	if o.Kind != KindProvider && o.Kind != KindBilling {
		probs = append(probs, fmt.Sprintf("kind %q is not provider or billing", o.Kind))
	}
	if !nameRE.MatchString(o.Name) {
		probs = append(probs, fmt.Sprintf("name %q is not lowercase letters, digits, '-' and '_', starting with a letter", o.Name))
	}
	if o.Dir == "" {
		probs = append(probs, "no directory")
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// data is what the templates see.
type data struct {
	Name      string
	EnvName   string // Name in upper case with '_' for '-', for env variables
	Module    string
	GoVersion string
	SDK       string   // the replace target, "" for none
	Requires  []string // "path version" of the SDK's own requirements
}

// Generate writes the plugin's files under o.Dir and returns their paths,
// relative to o.Dir, in the order written.
func Generate(o Options) ([]string, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(o.Dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s exists and is not empty", o.Dir)
	}
	d := data{Name: o.Name, Module: o.Module, GoVersion: "1.26",
		EnvName: strings.ToUpper(strings.NewReplacer("-", "_").Replace(o.Name))}
	if d.Module == "" {
		d.Module = "example.com/" + o.Name
	}
	var gosum []byte
	if o.SDK != "" {
		abs, err := filepath.Abs(o.SDK)
		if err != nil {
			return nil, err
		}
		mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
		if err != nil {
			return nil, fmt.Errorf("the SDK at %s: %w", o.SDK, err)
		}
		if !bytes.Contains(mod, []byte("module github.com/aignehub/hub/sdk\n")) {
			return nil, fmt.Errorf("%s/go.mod is not the module github.com/aignehub/hub/sdk", o.SDK)
		}
		d.SDK, d.Requires, d.GoVersion = filepath.ToSlash(abs), requires(mod), goVersion(mod, d.GoVersion)
		if gosum, err = os.ReadFile(filepath.Join(abs, "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}

	root := path.Join("templates", o.Kind)
	var written []string
	err := fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		b, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		if name, ok := strings.CutSuffix(rel, ".tmpl"); ok {
			t, err := template.New(rel).Delims("{%", "%}").Option("missingkey=error").Parse(string(b))
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := t.Execute(&buf, d); err != nil {
				return err
			}
			rel, b = name, buf.Bytes()
		}
		written = append(written, rel)
		return write(filepath.Join(o.Dir, filepath.FromSlash(rel)), b)
	})
	if err != nil {
		return nil, fmt.Errorf("generate %s: %w", o.Dir, err)
	}
	if len(gosum) > 0 {
		written = append(written, "go.sum")
		if err := write(filepath.Join(o.Dir, "go.sum"), gosum); err != nil {
			return nil, err
		}
	}
	written = append(written, ".gitignore")
	if err := write(filepath.Join(o.Dir, ".gitignore"), []byte("*.wasm\n")); err != nil {
		return nil, err
	}
	return written, nil
}

func write(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// requires lists the "path version" requirements of a go.mod.
func requires(mod []byte) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "//"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "require (":
			in = true
		case in && line == ")":
			in = false
		case in && line != "":
			out = append(out, line)
		case strings.HasPrefix(line, "require "):
			out = append(out, strings.TrimSpace(strings.TrimPrefix(line, "require ")))
		}
	}
	return out
}

// goVersion is the go directive of a go.mod, or def.
func goVersion(mod []byte, def string) string {
	for line := range strings.Lines(string(mod)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return def
}
