package limits

import "strings"

// ModelAllowed reports whether a call known by names may use a model under
// a key's allow-list allowed.
//
// An empty allowed list allows every model. Otherwise each entry is either
// an exact name ("openai/gpt-4o", "gpt-4o-mini", an alias such as "fast"),
// or, when it ends in "*", a prefix: "anthropic/*" matches every name that
// starts with "anthropic/", "gpt-4o*" matches "gpt-4o" and "gpt-4o-mini",
// and "*" matches any name. Only a final "*" is special; one elsewhere is
// an ordinary character. Matching is case-sensitive.
//
// names are the forms the call is known by: the model as the client named
// it and, for a resolved target, "provider/model" and the bare model. The
// call is allowed if any non-empty name matches any entry; empty names and
// empty entries match nothing.
func ModelAllowed(allowed []string, names ...string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, e := range allowed {
		if e == "" {
			continue
		}
		if e[len(e)-1] == '*' {
			prefix := e[:len(e)-1]
			for _, n := range names {
				if n != "" && strings.HasPrefix(n, prefix) {
					return true
				}
			}
			continue
		}
		for _, n := range names {
			if n == e {
				return true
			}
		}
	}
	return false
}
