package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	vars := env(map[string]string{
		"HOST":  "api.example.com",
		"PORT":  "9000",
		"EMPTY": "",
	})
	tests := []struct {
		in, want string
		errs     []string // substrings, one per problem
	}{
		{"https://api.openai.com/v1", "https://api.openai.com/v1", nil},
		{"https://${HOST}/v1", "https://api.example.com/v1", nil},
		{"${HOST}:${PORT}", "api.example.com:9000", nil},
		{"${HOST:-fallback}", "api.example.com", nil},
		{"${UNSET:-https://api.openai.com/v1}", "https://api.openai.com/v1", nil},
		{"${EMPTY:-default}", "default", nil},
		{"${EMPTY}", "", nil},
		{"${UNSET:-}", "", nil},
		{"${UNSET:-${HOST}", "${HOST", nil}, // defaults are literal and end at the first "}"
		{"$HOST and $", "$HOST and $", nil},
		{"cost$$5", "cost$5", nil},
		{"${UNSET}", "", []string{"UNSET is not set"}},
		{"${A-B}", "", []string{"invalid reference ${A-B}"}},
		{"${}", "", []string{"invalid reference ${}"}},
		{"x${HOST", "x${HOST", []string{"unterminated"}},
		{"${UNSET1}${UNSET2}", "", []string{"UNSET1", "UNSET2"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, errs := expandEnv(tt.in, vars)
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors = %q, want %d matching %q", errs, len(tt.errs), tt.errs)
			}
			for i := range errs {
				if !strings.Contains(errs[i], tt.errs[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, errs[i], tt.errs[i])
				}
			}
			if len(errs) == 0 && got != tt.want {
				t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// Only listen and base_url are expanded; credentials and everything else are kept
// as written.
func TestEnvExpansionScope(t *testing.T) {
	opts := Options{LookupEnv: env(map[string]string{"PORT": "9999", "BASE": "http://127.0.0.1:8081/v1", "DIR": "/x"})}
	src := "listen = \"127.0.0.1:${PORT}\"\ndata_dir = \"/srv/${DIR}\"\n" +
		provider(`base_url = "${BASE}"`, `credentials = ["${KEY}"]`, `models = ["${M}"]`)
	c, err := opts.Parse([]byte(src), "e.toml")
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.Listen, c.DataDir, c.Providers[0].BaseURL, c.Providers[0].Models[0]}
	want := []string{"127.0.0.1:9999", "/srv/${DIR}", "http://127.0.0.1:8081/v1", "${M}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if s, _ := c.Providers[0].Credentials[0].Resolve(nil); s != "${KEY}" {
		t.Errorf("credential = %q, want it literal", s)
	}
}
