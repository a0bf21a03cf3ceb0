package limits

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestModelAllowed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		names   []string
		want    bool
	}{
		{"empty list allows all", nil, []string{"openai/gpt-4o", "gpt-4o"}, true},
		{"empty list, no names", []string{}, nil, true},
		{"exact bare", []string{"gpt-4o-mini"}, []string{"gpt-4o-mini"}, true},
		{"exact bare is not a prefix", []string{"gpt-4o"}, []string{"gpt-4o-mini"}, false},
		{"exact qualified", []string{"openai/gpt-4o"}, []string{"fast", "openai/gpt-4o", "gpt-4o"}, true},
		{"qualified entry, other provider", []string{"openai/gpt-4o"}, []string{"gpt-4o", "azure/gpt-4o", "gpt-4o"}, false},
		{"bare entry matches the bare form of a target", []string{"gpt-4o"}, []string{"fast", "azure/gpt-4o", "gpt-4o"}, true},
		{"alias", []string{"fast"}, []string{"fast", "openai/gpt-4o-mini", "gpt-4o-mini"}, true},
		{"alias not named", []string{"fast"}, []string{"openai/gpt-4o-mini", "gpt-4o-mini"}, false},
		{"provider glob", []string{"anthropic/*"}, []string{"claude-sonnet-4", "anthropic/claude-sonnet-4", "claude-sonnet-4"}, true},
		{"provider glob, other provider", []string{"anthropic/*"}, []string{"bedrock/claude-sonnet-4", "claude-sonnet-4"}, false},
		{"provider glob needs the slash", []string{"anthropic/*"}, []string{"anthropic"}, false},
		{"model glob covers the exact name", []string{"gpt-4o*"}, []string{"gpt-4o"}, true},
		{"model glob", []string{"gpt-4o*"}, []string{"gpt-4o-mini"}, true},
		{"model glob, other model", []string{"gpt-4o*"}, []string{"gpt-4.1", "openai/gpt-4.1"}, false},
		{"model glob is a prefix of the whole name", []string{"gpt-4o*"}, []string{"openai/gpt-4o"}, false},
		{"star", []string{"*"}, []string{"anything/at-all"}, true},
		{"star, no names", []string{"*"}, nil, false},
		{"star, empty name", []string{"*"}, []string{""}, false},
		{"empty entry", []string{""}, []string{""}, false},
		{"empty entry then match", []string{"", "x"}, []string{"x"}, true},
		{"inner star is literal", []string{"gpt-*-mini"}, []string{"gpt-4o-mini"}, false},
		{"inner star literal match", []string{"gpt-*-mini"}, []string{"gpt-*-mini"}, true},
		{"case-sensitive", []string{"GPT-4o"}, []string{"gpt-4o"}, false},
		{"second entry", []string{"a", "b*"}, []string{"bee"}, true},
		{"no entry matches", []string{"a", "b*", "c/d"}, []string{"c", "d", "ab"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ModelAllowed(tc.allowed, tc.names...); got != tc.want {
				t.Fatalf("ModelAllowed(%q, %q) = %v, want %v", tc.allowed, tc.names, got, tc.want)
			}
		})
	}
}

// modelAllowedRef is ModelAllowed written the slow, obvious way: each entry
// as an anchored regular expression.
func modelAllowedRef(allowed []string, names []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, e := range allowed {
		if e == "" {
			continue
		}
		var re *regexp.Regexp
		if p, ok := strings.CutSuffix(e, "*"); ok {
			re = regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `(?s:.*)$`)
		} else {
			re = regexp.MustCompile(`^` + regexp.QuoteMeta(e) + `$`)
		}
		for _, n := range names {
			if n != "" && re.MatchString(n) {
				return true
			}
		}
	}
	return false
}

// FuzzModelAllowed checks ModelAllowed against the regexp reference and
// its stated properties. Entries and names are "|"-separated.
func FuzzModelAllowed(f *testing.F) {
	f.Add("openai/*|fast", "fast|openai/gpt-4o|gpt-4o", "gpt-4o")
	f.Add("gpt-4o*", "gpt-4o-mini", "gpt-4o")
	f.Add("*", "x", "")
	f.Add("", "", "a")
	f.Add("a*b|*|", "a*b", "a*bc")
	f.Fuzz(func(t *testing.T, allowedS, namesS, name string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "|")
		}
		allowed, names := split(allowedS), split(namesS)
		got := ModelAllowed(allowed, names...)
		// The reference's regexps want UTF-8; model names in JSON are.
		if utf8.ValidString(allowedS) && utf8.ValidString(namesS) {
			if want := modelAllowedRef(allowed, names); got != want {
				t.Fatalf("ModelAllowed(%q, %q) = %v, reference says %v", allowed, names, got, want)
			}
		}
		if name == "" {
			return
		}
		// A name is allowed by itself and by every prefix of it + "*".
		if !ModelAllowed([]string{name}, name) {
			t.Fatalf("%q does not allow itself", name)
		}
		for i := 0; i <= len(name); i++ {
			if !ModelAllowed(append(allowed, name[:i]+"*"), append(names, name)...) {
				t.Fatalf("%q* does not allow %q", name[:i], name)
			}
		}
		// Adding a name, or an entry to a non-empty list, never takes an
		// allowance away.
		if got && (!ModelAllowed(allowed, append(names, name)...) || len(allowed) > 0 && !ModelAllowed(append(allowed, name), names...)) {
			t.Fatalf("adding %q took an allowance away", name)
		}
	})
}
