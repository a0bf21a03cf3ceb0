package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// watch is an opt-in per plugin, and only a .wasm file can be watched.
func TestPluginWatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "custom.wasm"), []byte("\x00asm"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "hub.toml")
	c, err := Parse([]byte("[plugins.custom]\nsource = \"custom.wasm\"\nwatch = true\n[plugins.openai]\n"+provider()), name)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Plugins["custom"].Watch || c.Plugins["openai"].Watch {
		t.Fatalf("watch: custom %v, openai %v", c.Plugins["custom"].Watch, c.Plugins["openai"].Watch)
	}
	_, err = Parse([]byte("[plugins.openai]\nwatch = true\n"+provider()), name)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Path != "plugins.openai.watch" ||
		!strings.Contains(ve.Problems[0].Message, "only a .wasm file source can be watched") || ve.Problems[0].Line != 2 {
		t.Fatalf("watch on a builtin: %v", err)
	}
}
