package conformance

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/aignehub/hub/runtime"
)

// DefaultFixtures is where the fixtures of a module are by default: the
// directory testdata/conformance next to it (the layout `hub plugin new`
// writes).
func DefaultFixtures(module string) string {
	return filepath.Join(filepath.Dir(module), "testdata", "conformance")
}

// Cases runs the fixture cases in dir (see the package documentation) on
// an already loaded plugin — the canary of a hot reload — and returns how
// many ran. A case with a want.json must give exactly its answers; one
// without must run without an error. The first case that does not is the
// error, named. A missing or empty dir runs nothing and is no error.
func Cases(ctx context.Context, p *runtime.Plugin, dir string) (int, error) {
	m := p.Manifest()
	cases, err := loadFixtures(dir, m.Kind, m.Name)
	if err != nil {
		return 0, err
	}
	for i, f := range cases {
		got, err := runCase(ctx, p, f, nil, nil, nil)
		if err != nil {
			return i, fmt.Errorf("fixture %s: %w", f.name, err)
		}
		if f.want != nil {
			if d := diff(got, f.want); d != "" {
				return i, fmt.Errorf("fixture %s: %s", f.name, d)
			}
		}
	}
	return len(cases), nil
}
