package config

import (
	"fmt"
	"strings"
)

// expandEnv expands environment references in s:
//
//   - ${NAME} is the value of NAME; an unset NAME is an error (an empty one is not);
//   - ${NAME:-default} is the value of NAME, or default when NAME is unset or empty
//     (default is taken literally: it is not expanded again and cannot contain "}");
//   - $$ is a literal "$";
//   - any other "$" is kept as is ($NAME without braces is not expanded).
//
// NAME matches [A-Za-z_][A-Za-z0-9_]*. All problems found in s are returned.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var (
		b    strings.Builder
		errs []string
	)
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			errs = append(errs, fmt.Sprintf("unterminated %q (want ${NAME} or ${NAME:-default})", s[i:]))
			b.WriteString(s[i:])
			break
		}
		ref := s[i+2 : i+2+end]
		i += 2 + end + 1
		name, def, hasDef := strings.Cut(ref, ":-")
		if !envNameRE.MatchString(name) {
			errs = append(errs, fmt.Sprintf("invalid reference ${%s} (want ${NAME} or ${NAME:-default}, NAME matching %s)", ref, envNameRE))
			continue
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			b.WriteString(def)
		case !ok:
			errs = append(errs, fmt.Sprintf("environment variable %s is not set (write ${%s:-default} to give a fallback)", name, name))
		default:
			b.WriteString(v)
		}
	}
	return b.String(), errs
}
