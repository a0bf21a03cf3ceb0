package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the full text of the error for a config full of mistakes: the
// form an operator sees from `hub validate`.
func TestGolden(t *testing.T) {
	src, err := os.ReadFile("testdata/invalid.toml")
	if err != nil {
		t.Fatal(err)
	}
	// A fixed name keeps absolute paths out of the output except where the file's
	// directory is joined in; a relative name resolves against the test's directory.
	_, err = testOptions.Parse(src, "testdata/invalid.toml")
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	wd, _ := os.Getwd()
	got := []byte(strings.ReplaceAll(err.Error()+"\n", filepath.Join(wd, "testdata"), "$DIR"))

	const golden = "testdata/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("error text changed (run go test -update if intended)\ngot:\n%s\nwant:\n%s", got, want)
	}
}
