package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// This file makes decoding strict: every key in the file must name a field of
// Config exactly. The TOML library alone is not enough for two reasons:
//
//   - MetaData.Undecoded misses keys that match a field only case-insensitively
//     (the library falls back to strings.EqualFold), so "Listen" would be accepted
//     and, next to "listen", win or lose at random. Keys are therefore also checked
//     against the Config type's toml tags, exactly.
//   - toml v1.6 keeps the position of every key but has no API to read it. It does
//     put the position of the key being decoded into the ParseError returned when an
//     Unmarshaler fails, so the line of a key (an unknown one, or one that fails
//     validation) is found by decoding the input again into a type built to reach
//     just that key and fail there (see probeLine).
//     The library records one position per dotted key, the last one, so the earlier
//     occurrences of a key repeated across [[array]] tables are found by probing
//     the part of the file before each later occurrence.

// maxProbes bounds the extra decodes spent finding lines, so that a file with very
// many problems still loads quickly; problems past the budget have no line. A valid
// file costs no probes.
const maxProbes = 64

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// tableKeyed is implemented by a type that decodes itself (UnmarshalTOML) from a
// value or from a table, like [Credential]: tomlKeys lists the table's keys, which
// strict decoding checks as it checks a struct's fields. The keys hold values, not
// tables.
type tableKeyed interface{ tomlKeys() []string }

var tableKeyedType = reflect.TypeFor[tableKeyed]()

// tableKeysOf returns the table keys of t, or of the elements of a slice t, when
// that type is tableKeyed.
func tableKeysOf(t reflect.Type) ([]string, bool) {
	if t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Implements(tableKeyedType) {
		return reflect.Zero(t).Interface().(tableKeyed).tomlKeys(), true
	}
	return nil, false
}

// schemaLookup walks key through the Config type by exact toml tag. It reports
// whether the key is known, whether it lies inside a free-form table (a map of
// any, like a plugin's config), and, for an unknown key, the names that were
// possible where the walk failed.
func schemaLookup(key toml.Key) (known, freeForm bool, candidates []string) {
	t := reflect.TypeFor[Config]()
	for i, seg := range key {
		t = elemOf(t)
		if keys, ok := tableKeysOf(t); ok {
			if !slices.Contains(keys, seg) {
				return false, false, keys
			}
			return i == len(key)-1, false, nil // nothing is below a key of such a table
		}
		switch {
		case t.Kind() == reflect.Interface:
			return true, true, nil
		case t.Kind() == reflect.Map:
			t = t.Elem()
		case t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalerType):
			var next reflect.Type
			candidates = candidates[:0]
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				name := f.Tag.Get("toml")
				if !f.IsExported() || name == "" || name == "-" {
					continue
				}
				candidates = append(candidates, name)
				if name == seg {
					next = f.Type
				}
			}
			if next == nil {
				return false, false, candidates
			}
			t = next
		default: // a scalar, or a list of them: nothing can be below it
			return false, false, nil
		}
	}
	return true, elemOf(t).Kind() == reflect.Interface, nil
}

// elemOf strips pointers and slices of tables.
func elemOf(t reflect.Type) reflect.Type {
	for {
		switch {
		case t.Kind() == reflect.Pointer:
			t = t.Elem()
		case t.Kind() == reflect.Slice && (t.Elem().Kind() == reflect.Struct || t.Elem().Kind() == reflect.Map) &&
			!reflect.PointerTo(t.Elem()).Implements(textUnmarshalerType):
			t = t.Elem()
		default:
			return t
		}
	}
}

// unknownKeys returns a problem, with its line, for every key in the file that the
// Config type does not have. A key below an unknown key is not reported again.
func (l *locator) unknownKeys() []Problem {
	undecoded := map[string]bool{}
	for _, k := range l.md.Undecoded() {
		undecoded[k.String()] = true
	}

	type hit struct {
		key        toml.Key
		occurrence int // among the keys spelled the same, in file order
		hint       string
	}
	var (
		hits    []hit
		flagged = map[string]bool{}
		seen    = map[string]int{} // occurrences so far, by key string
	)
	for _, k := range l.md.Keys() {
		s := k.String()
		occ := seen[s]
		seen[s]++
		if underFlagged(k, flagged) {
			continue
		}
		known, freeForm, candidates := schemaLookup(k)
		if known && (freeForm || !undecoded[s]) {
			continue
		}
		flagged[s] = true
		hits = append(hits, hit{key: k, occurrence: occ, hint: suggest(k[len(k)-1], candidates)})
	}

	var (
		problems []Problem
		reported = map[string]bool{}
	)
	for _, h := range hits {
		var fp fieldPath
		path := h.key.String()
		if paths := indexedPaths(l.genericData(), h.key); h.occurrence < len(paths) {
			fp = paths[h.occurrence]
			path = fp.String()
		}
		if reported[path] {
			continue // a repeated [[unknown]] table: once is enough
		}
		reported[path] = true
		msg := "unknown key"
		if h.hint != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", h.hint)
		}
		line := l.line(h.key, h.occurrence)
		if line == 0 && fp != nil {
			// Not found by probing, as in a table inside a list that also holds
			// strings: on the line of the nearest enclosing key that can be found.
			line = l.lineOf(fp)
		}
		problems = append(problems, Problem{
			Path:    path,
			Line:    line,
			Message: msg,
		})
	}
	return problems
}

// lineOf returns the line of the value at p, or, when p is not in the file (a
// missing key) or its line cannot be told (one of several occurrences of a key on
// one line), of the nearest enclosing key that is found; 0 if none is. A problem
// in a list element (models[1]) is placed on the list's key.
func (l *locator) lineOf(p fieldPath) int {
	for len(p) > 0 {
		last := p[len(p)-1]
		key := p.tomlKey()
		n := l.counts[key.String()]
		if last.indexed {
			if n > 0 && l.md.Type(key...) == "ArrayHash" {
				// Its [[key]] header: which one, counting those of all the arrays
				// at key ([[providers.credentials]] of every provider).
				if occ := slices.Index(pathStrings(elementPaths(l.genericData(), key)), p.String()); occ >= 0 && occ < n {
					if line := l.line(key, occ); line > 0 {
						return line
					}
				}
			}
			p = p.unindexed()
			continue
		}
		if n > 0 {
			if paths := indexedPaths(l.genericData(), key); len(paths) == n {
				if occ := slices.Index(pathStrings(paths), p.String()); occ >= 0 {
					if line := l.line(key, occ); line > 0 {
						return line
					}
				}
			}
		}
		p = p[:len(p)-1]
	}
	return 0
}

func underFlagged(k toml.Key, flagged map[string]bool) bool {
	for i := 1; i < len(k); i++ {
		if flagged[k[:i].String()] {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to name, if it is close enough to be a typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		if d := editDistance(strings.ToLower(name), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// indexedPaths returns, in file order, the concrete paths of every value at key in
// the generically decoded file, with array indexes: "providers[0].nme",
// "providers[1].nme".
func indexedPaths(v any, key toml.Key) []fieldPath { return walkPaths(v, key, false) }

// elementPaths is like indexedPaths but, where the value at key is an array of
// tables, returns the path of each table: "providers[0].credentials[0]",
// "providers[0].credentials[1]", "providers[1].credentials[0]".
func elementPaths(v any, key toml.Key) []fieldPath { return walkPaths(v, key, true) }

func walkPaths(v any, key toml.Key, elements bool) []fieldPath {
	var out []fieldPath
	var walk func(v any, key toml.Key, prefix fieldPath)
	walk = func(v any, key toml.Key, prefix fieldPath) {
		if len(key) == 0 {
			if tables, ok := v.([]map[string]any); ok && elements {
				for i := range tables {
					out = append(out, prefix.index(i))
				}
				return
			}
			out = append(out, prefix)
			return
		}
		switch x := v.(type) {
		case map[string]any:
			child, ok := x[key[0]]
			if !ok {
				return
			}
			walk(child, key[1:], prefix.dot(key[0]))
		case []map[string]any:
			for i, e := range x {
				walk(e, key, prefix.index(i))
			}
		case []any:
			for i, e := range x {
				walk(e, key, prefix.index(i))
			}
		}
	}
	if v != nil {
		walk(v, key, nil)
	}
	return out
}

// pathStrings formats paths.
func pathStrings(paths []fieldPath) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p.String()
	}
	return out
}

// locator finds the lines of keys by probing, within a budget of decodes.
type locator struct {
	data    []byte
	md      toml.MetaData
	counts  map[string]int // occurrences in the file, by key string
	budget  int
	lines   map[string][]int // by key string: the line of each occurrence
	generic any              // the file decoded into maps, see genericData
	decoded bool
}

func newLocator(data []byte, md toml.MetaData) *locator {
	l := &locator{data: data, md: md, counts: map[string]int{}, budget: maxProbes, lines: map[string][]int{}}
	for _, k := range md.Keys() {
		l.counts[k.String()]++
	}
	return l
}

// genericData returns the file decoded into maps and slices, or nil.
func (l *locator) genericData() any {
	if !l.decoded {
		l.decoded = true
		var m map[string]any
		if _, err := decode(l.data, &m); err == nil {
			l.generic = m
		}
	}
	return l.generic
}

// line returns the line of occurrence occ of key, or 0.
func (l *locator) line(key toml.Key, occ int) int {
	s := key.String()
	lines, ok := l.lines[s]
	if !ok {
		lines = l.find(key, l.counts[s])
		l.lines[s] = lines
	}
	if occ < len(lines) {
		return lines[occ]
	}
	return 0
}

// find locates all n occurrences of key, last first: the library reports the last
// one, and the part of the file before it holds the others.
func (l *locator) find(key toml.Key, n int) []int {
	lines := make([]int, n)
	data := l.data
	for i := n - 1; i >= 0 && l.budget > 0; i-- {
		l.budget--
		var md *toml.MetaData
		if i == n-1 {
			md = &l.md // the whole file: already parsed
		}
		line := probeLine(data, md, key, i+1)
		if line <= 0 {
			break
		}
		lines[i] = line
		// The file up to the start of that line holds the earlier occurrences.
		data = data[:lineStart(data, line)]
	}
	return lines
}

func lineStart(data []byte, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return len(data)
		}
		off += i + 1
	}
	return off
}

// probeFail is the leaf of a probe type: decoding into it always fails, which makes
// the decoder report the position of the key being decoded.
type probeFail struct{}

var errProbe = errors.New("config: key position probe")

func (probeFail) UnmarshalTOML(any) error { return errProbe }

// probeLine returns the line of the last occurrence of key in data, or 0 if that
// cannot be told; md is data's metadata, or nil to parse data for it; want is how
// many occurrences data must hold, a check that data is the file (or prefix) the
// caller thinks it is.
func probeLine(data []byte, md *toml.MetaData, key toml.Key, want int) (line int) {
	defer func() {
		if recover() != nil {
			line = 0
		}
	}()
	if md == nil {
		m, err := decode(data, &struct{}{})
		if err != nil {
			return 0
		}
		md = &m
	}
	s, count := key.String(), 0
	for _, k := range md.Keys() {
		if k.String() == s {
			count++
		}
	}
	if count != want {
		return 0
	}

	// Build struct{ F struct{ F … probeFail `toml:"c"` } `toml:"b"` } `toml:"a"` },
	// with slices where the file has arrays of tables.
	t := reflect.TypeFor[probeFail]()
	for i := len(key) - 1; i >= 0; i-- {
		seg := key[i]
		if seg == "" || seg == "-" || strings.Contains(seg, ",") {
			return 0 // not expressible as a toml struct tag
		}
		t = reflect.StructOf([]reflect.StructField{{
			Name: "F",
			Type: t,
			Tag:  reflect.StructTag(`toml:` + strconv.Quote(seg)),
		}})
		if i > 0 {
			switch md.Type(key[:i]...) {
			case "ArrayHash", "Array":
				t = reflect.SliceOf(t)
			}
		}
	}
	_, err := decode(data, reflect.New(t).Interface())
	var pe toml.ParseError
	if !errors.As(err, &pe) || pe.Message != errProbe.Error() {
		return 0
	}
	if pe.LastKey != s {
		return 0 // reached a key that only matches case-insensitively
	}
	return pe.Position.Line
}
