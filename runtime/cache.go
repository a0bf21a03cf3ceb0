package runtime

import (
	"fmt"

	"github.com/tetratelabs/wazero"
)

// NewCache returns a compilation cache backed by dir (created if missing),
// e.g. <data_dir>/wasm-cache, to share across every plugin's Load: a module
// is compiled once per wazero version and architecture, and later loads —
// in this process or the next — read the machine code back instead of
// compiling again (a Go plugin takes most of a second to compile). The
// caller closes it after the last plugin using it.
func NewCache(dir string) (wazero.CompilationCache, error) {
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open wasm cache %s: %w", dir, err)
	}
	return c, nil
}
