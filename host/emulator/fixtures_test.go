package emulator_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aignehub/hub/host/emulator"
)

// sharedFixtures is where the fixtures live in the workspace, next to the
// repository. CI checks out only the repository, so the tests read the
// copies in testdata/ (OpenAI's at the top, the other providers' in a
// folder each); TestTestdataMatchesSharedFixtures keeps the copies honest
// when the originals are there.
const sharedFixtures = "../../../shared/fixtures"

func TestTestdataMatchesSharedFixtures(t *testing.T) {
	if _, err := os.Stat(sharedFixtures); err != nil {
		t.Skipf("shared fixtures not checked out: %v", err)
	}
	var names []string
	for _, pattern := range []string{"*", "anthropic/*", "gemini/*", "ollama/*"} {
		matches, err := filepath.Glob(filepath.Join("testdata", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && !fi.IsDir() {
				names = append(names, m)
			}
		}
	}
	if len(names) < 60 {
		t.Errorf("only %d testdata files", len(names))
	}
	for _, name := range names {
		rel, _ := filepath.Rel("testdata", name)
		t.Run(rel, func(t *testing.T) {
			shared := filepath.Join(sharedFixtures, "openai", rel)
			if filepath.Dir(rel) != "." {
				shared = filepath.Join(sharedFixtures, rel)
			}
			want, err := os.ReadFile(shared)
			if err != nil {
				t.Fatalf("no shared fixture for testdata/%s: %v", rel, err)
			}
			if got := testdata(t, rel); !bytes.Equal(got, want) {
				t.Errorf("testdata/%s differs from %s; copy it again", rel, shared)
			}
		})
	}
}

// manifest is the part of the fixtures' manifest.json the tests use.
type manifest struct {
	Examples []struct {
		Name    string `json:"name"`
		Request struct {
			Method   string            `json:"method"`
			URL      string            `json:"url"`
			Headers  map[string]string `json:"headers"`
			BodyFile string            `json:"body_file"`
		} `json:"request"`
		Response struct {
			Status   int               `json:"status"`
			Headers  map[string]string `json:"headers"`
			BodyFile string            `json:"body_file"`
			Framing  string            `json:"framing"`
		} `json:"response"`
	} `json:"examples"`
}

// TestManifestExamples replays every OpenAI fixture example the emulator
// serves and checks status, Content-Type, header names and the body: error
// bodies byte for byte, success bodies by shape (key order and value
// kinds), streams by the set of chunk shapes.
func TestManifestExamples(t *testing.T) {
	m := decodeJSON[manifest](t, testdata(t, "manifest.json"))
	// The fixture requests name these models and key; the 404 example's
	// model is absent, so it is unknown.
	_, srv := newServer(t, emulator.Options{
		APIKey: "sk-proj-REDACTED",
		Models: []string{"gpt-4o-mini", "gpt-4o-2024-08-06", "gpt-5-mini", "text-embedding-3-small", "gpt-image-1", "dall-e-3"},
	})
	// How each error example is provoked: switch headers or a body edit.
	provoke := map[string]struct {
		headers []string
		edit    func(map[string]any)
	}{
		"error-429-rate-limit-exceeded":     {headers: []string{emulator.HeaderStatus, "429"}},
		"error-429-insufficient-quota":      {headers: []string{emulator.HeaderStatus, "429", emulator.HeaderQuota, "1"}},
		"error-400-context-length-exceeded": {headers: []string{emulator.HeaderStatus, "400"}},
		"error-404-model-not-found":         {edit: func(b map[string]any) { b["model"] = "gpt-4.1-nano-wrong" }},
		"error-400-unsupported-parameter":   {edit: func(b map[string]any) { b["max_tokens"] = 2048 }},
	}
	served := 0
	for _, ex := range m.Examples {
		served++
		t.Run(ex.Name, func(t *testing.T) {
			path := strings.TrimPrefix(ex.Request.URL, "https://api.openai.com")
			var body []byte
			if ex.Request.BodyFile != "" {
				body = testdata(t, ex.Request.BodyFile)
			}
			p := provoke[ex.Name]
			if p.edit != nil {
				fields := decodeJSON[map[string]any](t, body)
				p.edit(fields)
				body, _ = json.Marshal(fields)
			}
			var headers []string
			for k, v := range ex.Request.Headers {
				headers = append(headers, k, v)
			}
			headers = append(headers, p.headers...)
			resp, got := send(t, srv, ex.Request.Method, path, body, headers...)

			if resp.StatusCode != ex.Response.Status {
				t.Fatalf("status = %d, want %d; body:\n%s", resp.StatusCode, ex.Response.Status, got)
			}
			for name, value := range ex.Response.Headers {
				if resp.Header.Get(name) == "" {
					t.Errorf("header %s missing (fixture: %q)", name, value)
				}
			}
			if ct, want := resp.Header.Get("Content-Type"), ex.Response.Headers["Content-Type"]; ct != want {
				t.Errorf("Content-Type = %q, want %q", ct, want)
			}
			want := testdata(t, ex.Response.BodyFile)
			switch {
			case ex.Response.Framing == "sse-lf":
				gotShapes, wantShapes := shapeSet(t, sseEvents(t, got)), shapeSet(t, sseEvents(t, want))
				if !slices.Equal(gotShapes, wantShapes) {
					t.Errorf("chunk shapes differ\ngot:\n%s\nwant:\n%s", strings.Join(gotShapes, "\n"), strings.Join(wantShapes, "\n"))
				}
			case ex.Response.Status >= 400:
				if !bytes.Equal(got, want) {
					t.Errorf("error body differs\ngot:\n%s\nwant:\n%s", got, want)
				}
			default:
				if g, w := shape(t, got), shape(t, want); g != w {
					t.Errorf("shape differs\ngot:  %s\nwant: %s\nbody:\n%s", g, w, got)
				}
				if !bytes.HasPrefix(got, []byte("{\n  \"")) || !bytes.HasSuffix(got, []byte("\n}\n")) {
					t.Errorf("body is not 2-space pretty JSON with a trailing newline:\n%s", got)
				}
			}
		})
	}
	if served < 15 {
		t.Errorf("only %d examples replayed", served)
	}
}

// TestNonStreamMatchesFixtureLayout compares a non-stream body with the
// fixture line by line, values aside: same indentation, same key per line.
func TestNonStreamMatchesFixtureLayout(t *testing.T) {
	_, srv := newServer(t, emulator.Options{})
	_, got := chat(t, srv, string(testdata(t, "chat-completions.text.request.json")))
	want := testdata(t, "chat-completions.text.response.json")
	gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d lines, fixture has %d:\n%s", len(gotLines), len(wantLines), got)
	}
	for i := range gotLines {
		g, _, _ := strings.Cut(gotLines[i], ": ")
		w, _, _ := strings.Cut(wantLines[i], ": ")
		if g != w {
			t.Errorf("line %d: %q, fixture %q", i+1, gotLines[i], wantLines[i])
		}
	}
}
