package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a config.
type Problem struct {
	// Path locates the offending value, in TOML key syntax with array indexes:
	// "listen", "limits.plugin_memory", "providers[1].base_url",
	// "plugins.openai.sha256".
	Path string
	// Line is the 1-based line of the offending key in the config file; for a missing
	// key, the line of its table; 0 when not known (no enclosing table in the file,
	// or past the bounded number of look-ups spent on a file with very many problems).
	Line int
	// Message says what is wrong, in lower case.
	Message string
}

// String formats p as "line 12: path: message" (without "line 12: " when Line is 0).
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Path, p.Message)
	}
	return p.Path + ": " + p.Message
}

// ValidationError is returned by [Parse] and [Load] when a config decodes but is not
// valid. It holds every problem found, in file order (problems without a line last).
type ValidationError struct {
	// File is the config file name as given to Parse or Load.
	File string
	// Problems lists every problem found; it is never empty.
	Problems []Problem
}

// Error lists the problems one per line after a summary line:
//
//	invalid config hub.toml: 2 problems:
//		hub.toml:12: providers[0].nme: unknown key
//		hub.toml: limits.plugin_memory: must be a multiple of 64KiB
func (e *ValidationError) Error() string {
	var b strings.Builder
	file := e.File
	if file == "" {
		file = "config"
	}
	n := "problem"
	if len(e.Problems) != 1 {
		n = "problems"
	}
	fmt.Fprintf(&b, "invalid config %s: %d %s:", file, len(e.Problems), n)
	for _, p := range e.Problems {
		if p.Line > 0 {
			fmt.Fprintf(&b, "\n\t%s:%d: %s: %s", file, p.Line, p.Path, p.Message)
		} else {
			fmt.Fprintf(&b, "\n\t%s: %s: %s", file, p.Path, p.Message)
		}
	}
	return b.String()
}

// DecodeError is returned by [Parse] and [Load] when a config is not valid TOML or a
// value has the wrong type for its key (a string for a number, a bad size, …). The
// wrapped error is the TOML library's.
type DecodeError struct {
	// File is the config file name as given to Parse or Load.
	File string
	// Line and Col locate the error (1-based); either may be 0 when not known.
	Line, Col int
	// Key is the dotted key being decoded, when known.
	Key string
	// Message is the decoder's description of the error.
	Message string
	// Err is the underlying error.
	Err error
}

// Error formats e as "decode config hub.toml:3:5: message" (with the key, when known).
func (e *DecodeError) Error() string {
	loc := e.File
	if loc == "" {
		loc = "config"
	}
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d", e.Line)
		if e.Col > 0 {
			loc += fmt.Sprintf(":%d", e.Col)
		}
	}
	if e.Key != "" {
		return fmt.Sprintf("decode config %s: %s: %s", loc, e.Key, e.Message)
	}
	return fmt.Sprintf("decode config %s: %s", loc, e.Message)
}

// Unwrap returns the underlying decoder error.
func (e *DecodeError) Unwrap() error { return e.Err }
