package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRoutingDefaults(t *testing.T) {
	want := Routing{
		MaxAttempts:       4,
		RetriesPerTarget:  1,
		Backoff:           Duration(200 * time.Millisecond),
		MaxBackoff:        Duration(2 * time.Second),
		Deadline:          0,
		AttemptTimeout:    0,
		FailureThreshold:  3,
		Cooldown:          Duration(30 * time.Second),
		RateLimitCooldown: Duration(10 * time.Second),
	}
	if got := Defaults().Routing; !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults().Routing = %+v, want %+v", got, want)
	}
	for _, src := range []string{provider(), "[routing]\n" + provider(), "[routing.aliases]\n" + provider()} {
		c, err := testOptions.Parse([]byte(src), "r.toml")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Routing.Aliases) != 0 {
			t.Errorf("Aliases = %v", c.Routing.Aliases)
		}
		c.Routing.Aliases = nil
		if !reflect.DeepEqual(c.Routing, want) {
			t.Errorf("Routing = %+v, want the defaults %+v", c.Routing, want)
		}
		if c.CallDeadline() != c.Limits.UpstreamTimeout {
			t.Errorf("CallDeadline = %v, want limits.upstream_timeout %v", c.CallDeadline(), c.Limits.UpstreamTimeout)
		}
	}
}

func TestRoutingParse(t *testing.T) {
	src := `
[limits]
upstream_timeout = "5m"

[routing]
max_attempts        = 6
retries_per_target  = 2
backoff             = "100ms"
max_backoff         = "1s"
deadline            = "90s"
attempt_timeout     = "15s"
failure_threshold   = 5
cooldown            = "1m"
rate_limit_cooldown = "5s"

[routing.aliases]
fast = ["p/m", "q/x"]
"gpt-4o:cheap" = ["m"]
` + provider() + provider(`name = "q"`, `models = ["x", "y"]`)
	c, err := testOptions.Parse([]byte(src), "r.toml")
	if err != nil {
		t.Fatal(err)
	}
	want := Routing{
		MaxAttempts:       6,
		RetriesPerTarget:  2,
		Backoff:           Duration(100 * time.Millisecond),
		MaxBackoff:        Duration(time.Second),
		Deadline:          Duration(90 * time.Second),
		AttemptTimeout:    Duration(15 * time.Second),
		FailureThreshold:  5,
		Cooldown:          Duration(time.Minute),
		RateLimitCooldown: Duration(5 * time.Second),
		Aliases: map[string][]string{
			"fast":         {"p/m", "q/x"},
			"gpt-4o:cheap": {"m"},
		},
	}
	if !reflect.DeepEqual(c.Routing, want) {
		t.Errorf("Routing = %+v\nwant %+v", c.Routing, want)
	}
	if c.CallDeadline() != Duration(90*time.Second) {
		t.Errorf("CallDeadline = %v", c.CallDeadline())
	}
}

// The bounds themselves are accepted, and the aliases that the rules allow.
func TestRoutingValid(t *testing.T) {
	tests := []struct {
		name, routing string
		providers     string // default: provider()
	}{
		{"lowest", "max_attempts = 1\nretries_per_target = 0\nbackoff = \"0s\"\nmax_backoff = \"0s\"\ndeadline = \"1s\"\nattempt_timeout = \"10ms\"\nfailure_threshold = 1\ncooldown = \"1s\"\nrate_limit_cooldown = \"1s\"", ""},
		{"highest", "max_attempts = 20\nretries_per_target = 10\nbackoff = \"1m\"\nmax_backoff = \"5m\"\ndeadline = \"24h\"\nattempt_timeout = \"1h\"\nfailure_threshold = 1000\ncooldown = \"1h\"\nrate_limit_cooldown = \"1h\"", ""},
		{"max_backoff equal to backoff", "backoff = \"3s\"\nmax_backoff = \"3s\"", ""},
		{"deadline longer than upstream_timeout", "deadline = \"1h\"", ""},
		{"bare model nobody lists", "aliases = { a = [\"some-model\"] }", ""},
		{"provider lists *", "aliases = { a = [\"p/anything/at-all\"] }", provider(`models = ["*"]`)},
		{"provider discovers its models", "aliases = { a = [\"p/llama3\"] }", provider(`models = []`)},
		{"disabled provider", "aliases = { a = [\"p/m\", \"q/m\"] }", provider() + provider(`name = "q"`, `enabled = false`)},
		{"model id with a slash that a provider lists", "aliases = { a = [\"meta-llama/llama-3:free\"] }", provider(`models = ["meta-llama/llama-3:free"]`)},
		{"provider model with a slash", "aliases = { a = [\"p/meta-llama/llama-3\"] }", provider(`models = ["meta-llama/llama-3"]`)},
		{"alias named like a model", "aliases = { \"gpt-4o\" = [\"p/gpt-4o\", \"q/gpt-4o\"] }", provider(`models = ["gpt-4o"]`) + provider(`name = "q"`, `models = ["gpt-4o"]`)},
		{"alias name characters", "aliases = { \"A.b_c:d-9\" = [\"m\"] }", ""},
		{"twenty entries", "aliases = { a = [" + aliasEntries(20) + "] }", ""},
		{"same entry in two aliases", "aliases = { a = [\"p/m\"], b = [\"p/m\"] }", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := tt.providers
			if ps == "" {
				ps = provider()
			}
			if _, err := testOptions.Parse([]byte("[routing]\n"+tt.routing+"\n"+ps), "r.toml"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// aliasEntries returns n distinct bare model entries, TOML-quoted and comma-separated.
func aliasEntries(n int) string {
	var es []string
	for i := range n {
		es = append(es, `"m`+strings.Repeat("x", i)+`"`)
	}
	return strings.Join(es, ", ")
}

func TestRoutingProblems(t *testing.T) {
	tests := []struct {
		name    string
		routing string // the [routing] table's body
		path    string // the one problem expected
		line    int    // 1 is the [routing] header
		msg     string // a substring of its message
	}{
		{"max_attempts zero", "max_attempts = 0", "routing.max_attempts", 2, "must be between 1 and 20; got 0"},
		{"max_attempts too many", "max_attempts = 21", "routing.max_attempts", 2, "got 21"},
		{"retries_per_target negative", "retries_per_target = -1", "routing.retries_per_target", 2, "must be between 0 and 10; got -1"},
		{"retries_per_target too many", "retries_per_target = 11", "routing.retries_per_target", 2, "got 11"},
		{"backoff negative", "backoff = \"-1s\"\nmax_backoff = \"1s\"", "routing.backoff", 2, "must be between 0s and 1m0s; got -1s"},
		{"backoff too long", "backoff = \"61s\"\nmax_backoff = \"2m\"", "routing.backoff", 2, "got 1m1s"},
		{"max_backoff under backoff", "backoff = \"3s\"", "routing.max_backoff", 1, "must be between 3s and 5m0s; got 2s"},
		{"max_backoff too long", "max_backoff = \"6m\"", "routing.max_backoff", 2, "must be between 200ms and 5m0s; got 6m0s"},
		{"deadline too short", "deadline = \"999ms\"", "routing.deadline", 2, "must be 0 (limits.upstream_timeout) or between 1s and 24h0m0s; got 999ms"},
		{"deadline too long", "deadline = \"25h\"", "routing.deadline", 2, "got 25h0m0s"},
		{"deadline negative", "deadline = \"-1s\"", "routing.deadline", 2, "got -1s"},
		{"attempt_timeout too short", "attempt_timeout = \"9ms\"", "routing.attempt_timeout", 2, "must be 0 (no bound) or between 10ms and 1h0m0s; got 9ms"},
		{"attempt_timeout too long", "attempt_timeout = \"61m\"", "routing.attempt_timeout", 2, "got 1h1m0s"},
		{"failure_threshold zero", "failure_threshold = 0", "routing.failure_threshold", 2, "must be between 1 and 1000; got 0"},
		{"failure_threshold too many", "failure_threshold = 1001", "routing.failure_threshold", 2, "got 1001"},
		{"cooldown zero", "cooldown = \"0s\"", "routing.cooldown", 2, "must be between 1s and 1h0m0s; got 0s"},
		{"cooldown too long", "cooldown = \"2h\"", "routing.cooldown", 2, "got 2h0m0s"},
		{"rate_limit_cooldown too short", "rate_limit_cooldown = \"500ms\"", "routing.rate_limit_cooldown", 2, "must be between 1s and 1h0m0s; got 500ms"},
		{"rate_limit_cooldown too long", "rate_limit_cooldown = \"61m\"", "routing.rate_limit_cooldown", 2, "got 1h1m0s"},
		{"unknown key", "max_atempts = 3", "routing.max_atempts", 2, `unknown key (did you mean "max_attempts"?)`},

		{"alias name with a slash", "[routing.aliases]\n\"a/b\" = [\"m\"]", `routing.aliases."a/b"`, 3, `invalid alias name "a/b": must match ^[a-zA-Z0-9][a-zA-Z0-9._:-]*$`},
		{"alias name with a space", "aliases = { \"a b\" = [\"m\"] }", `routing.aliases."a b"`, 2, "invalid alias name"},
		{"alias name starting with a dot", "aliases = { \".a\" = [\"m\"] }", `routing.aliases.".a"`, 2, "invalid alias name"},
		{"alias name is a provider", "[routing.aliases]\np = [\"m\"]", "routing.aliases.p", 3, `alias "p" has the name of a provider`},
		{"alias empty", "[routing.aliases]\nfast = []", "routing.aliases.fast", 3, "must list at least one model"},
		{"alias too long", "[routing.aliases]\nfast = [" + aliasEntries(21) + "]", "routing.aliases.fast", 3, "must list at most 20 models; got 21"},
		{"entry empty", "[routing.aliases]\nfast = [\"m\", \"\"]", "routing.aliases.fast[1]", 3, "must not be empty"},
		{"entry with whitespace", "[routing.aliases]\nfast = [\"gpt 4o\"]", "routing.aliases.fast[0]", 3, `model "gpt 4o" must not contain whitespace`},
		{"entry with a tab", "[routing.aliases]\nfast = [\"p/m\\t\"]", "routing.aliases.fast[0]", 3, "whitespace"},
		{"entry starting with a slash", "[routing.aliases]\nfast = [\"/m\"]", "routing.aliases.fast[0]", 3, `invalid model "/m"`},
		{"entry provider unknown", "[routing.aliases]\nfast = [\"p/m\", \"opeanai/m\"]", "routing.aliases.fast[1]", 3, `no provider "opeanai" in the config`},
		{"entry provider without model", "[routing.aliases]\nfast = [\"p/\"]", "routing.aliases.fast[0]", 3, `no model after "p/"`},
		{"entry model not listed", "[routing.aliases]\nfast = [\"p/x\"]", "routing.aliases.fast[0]", 3, `provider p does not list model "x"`},
		{"entry names an alias", "[routing.aliases]\nfast = [\"m\", \"cheap\"]\ncheap = [\"m\"]", "routing.aliases.fast[1]", 3, `"cheap" is an alias; an alias lists models, not other aliases`},
		{"entry names its own alias", "[routing.aliases]\nfast = [\"fast\"]", "routing.aliases.fast[0]", 3, `"fast" is an alias`},
		{"entry duplicate", "[routing.aliases]\nfast = [\"p/m\", \"m\", \"p/m\"]", "routing.aliases.fast[2]", 3, `duplicate entry "p/m" (also fast[0])`},
		{"entry duplicate over lines", "[routing.aliases]\nfast = [\n  \"m\",\n  \"m\",\n]", "routing.aliases.fast[1]", 3, `duplicate entry "m" (also fast[0])`},
		{"entry duplicate in a quoted alias", "[routing.aliases]\n\"x.y\" = [\"m\", \"m\"]", `routing.aliases."x.y"[1]`, 3, `duplicate entry "m" (also "x.y"[0])`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "[routing]\n" + tt.routing + "\n" + provider()
			_, err := testOptions.Parse([]byte(src), "r.toml")
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error = %v, want *ValidationError", err)
			}
			if len(ve.Problems) != 1 {
				t.Fatalf("problems = %v, want one", ve.Problems)
			}
			p := ve.Problems[0]
			if p.Path != tt.path || p.Line != tt.line || !strings.Contains(p.Message, tt.msg) {
				t.Errorf("problem = %s (line %d)\nwant %s at line %d with %q", p, p.Line, tt.path, tt.line, tt.msg)
			}
			if !strings.Contains(err.Error(), tt.path+": ") {
				t.Errorf("Error() lacks the path %s: %v", tt.path, err)
			}
		})
	}
}

// All routing problems are reported together, in file order.
func TestRoutingAllProblemsAtOnce(t *testing.T) {
	src := `[routing]
max_attempts = 0
backoff = "2m"
cooldown = "0s"
[routing.aliases]
p = []
fast = ["p/x", "q/m", "fast", "p/m", "p/m"]
` + provider()
	_, err := testOptions.Parse([]byte(src), "r.toml")
	got := problemPaths(t, err)
	want := []string{
		"routing.max_attempts",
		"routing.backoff",
		"routing.cooldown",
		"routing.aliases.p", // a provider's name
		"routing.aliases.p", // empty
		"routing.aliases.fast[0]",
		"routing.aliases.fast[1]",
		"routing.aliases.fast[2]",
		"routing.aliases.fast[4]",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths =\n\t%q\nwant\n\t%q\n%v", got, want, err)
	}
}

func TestRoutingDecodeErrors(t *testing.T) {
	tests := []struct{ name, routing, key string }{
		{"integer duration", "backoff = 200", "routing.backoff"},
		{"string count", "max_attempts = \"4\"", "routing.max_attempts"},
		{"alias not a list", "[routing.aliases]\nfast = \"p/m\"", "routing.aliases.fast"},
		{"alias entry not a string", "[routing.aliases]\nfast = [1]", "routing.aliases.fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testOptions.Parse([]byte("[routing]\n"+tt.routing+"\n"+provider()), "r.toml")
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error = %v (%T), want *DecodeError", err, err)
			}
			if de.Key != tt.key {
				t.Errorf("Key = %q, want %q (%v)", de.Key, tt.key, err)
			}
		})
	}
}
