// Package plugins holds the built-in plugins: one folder per plugin, each a
// normal third-party-style plugin built only against sdk/, and the embedded
// .wasm files the build writes to plugins/wasm/ (see the Makefile).
package plugins

import (
	"embed"
	"fmt"
	"io/fs"
	"strings"
)

//go:embed wasm
var builtin embed.FS

// Builtin returns the embedded module of the named built-in plugin.
func Builtin(name string) ([]byte, error) {
	b, err := builtin.ReadFile("wasm/" + name + ".wasm")
	if err != nil {
		return nil, fmt.Errorf("built-in plugin %q is not in this binary (build with `make build`): %w", name, err)
	}
	return b, nil
}

// Names lists the built-in plugins embedded in this binary.
func Names() []string {
	var out []string
	ents, _ := fs.ReadDir(builtin, "wasm")
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".wasm"); ok {
			out = append(out, n)
		}
	}
	return out
}
