package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"github.com/BurntSushi/toml"
)

// Options adjusts how a config is loaded. The zero Options is what [Load] and [Parse]
// use.
type Options struct {
	// Builtins is the set of plugin names built into the binary. Default (nil)
	// BuiltinPlugins.
	Builtins []string

	// BillingBuiltins is the set of billing plugin names built into the binary.
	// Default (nil) BuiltinBillingPlugins.
	BillingBuiltins []string

	// LookupEnv looks up environment variables for ${NAME} expansion in listen and
	// base_url. Default (nil) os.LookupEnv.
	LookupEnv func(name string) (string, bool)
}

// Load reads the config file at path; see [Options.Load].
func Load(path string) (*Config, error) { return Options{}.Load(path) }

// Parse decodes and validates a config; see [Options.Parse].
func Parse(data []byte, name string) (*Config, error) { return Options{}.Parse(data, name) }

// Load reads the config file at path and passes it to [Options.Parse] with path as
// its name, so that relative paths resolve against the file's directory.
func (o Options) Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return o.Parse(data, path)
}

// Parse decodes data, a TOML config, onto [Defaults] and validates the result. name
// is the file name used in errors; relative paths in the config (data_dir, plugin
// sources) resolve against its directory, or against the working directory when
// name is "".
//
// Decoding is strict. A TOML syntax error, or a value of the wrong type, is a
// [*DecodeError] with the file, line and column. Everything else that is wrong —
// unknown keys and every validation failure — is collected into one
// [*ValidationError] listing all problems with their field paths and, where the
// value is in the file, their lines, in file order.
//
// On success the config is normalized: ${NAME} references in listen and base_url
// are expanded, data_dir and .wasm sources are absolute, plugin defaults are filled
// in (and an entry is added for every builtin plugin a provider names without a
// [plugins.NAME] table, and for a builtin billing policy when billing is
// enabled), and Enabled and Trusted are set.
func (o Options) Parse(data []byte, name string) (*Config, error) {
	dir, err := configDir(name)
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	// Syntax first, into nothing: the decoder's "last key" of a syntax error is only
	// the key before it, so it is left out of the error.
	if _, err := decode(data, &struct{}{}); err != nil {
		de := newDecodeError(name, err)
		de.Key = ""
		return nil, de
	}
	c := Defaults()
	md, err := decode(data, c)
	if err != nil {
		return nil, newDecodeError(name, err)
	}
	c.file, c.dir = name, dir
	// The connect timeout's default follows a shorter upstream timeout, so
	// setting upstream_timeout alone is never an error.
	if !md.IsDefined("limits", "upstream_connect_timeout") && c.Limits.UpstreamConnectTimeout > c.Limits.UpstreamTimeout {
		c.Limits.UpstreamConnectTimeout = c.Limits.UpstreamTimeout
	}

	loc := newLocator(data, md)
	problems := loc.unknownKeys()
	for _, is := range o.validate(c) {
		problems = append(problems, Problem{Path: is.path.String(), Line: loc.lineOf(is.path), Message: is.msg})
	}
	// File order; problems without a line (like a missing [[providers]]) last.
	sort.SliceStable(problems, func(i, j int) bool {
		li, lj := problems[i].Line, problems[j].Line
		return li != 0 && (lj == 0 || li < lj)
	})
	if len(problems) > 0 {
		return nil, &ValidationError{File: name, Problems: problems}
	}
	return c, nil
}

func configDir(name string) (string, error) {
	if name == "" {
		return os.Getwd()
	}
	return filepath.Abs(filepath.Dir(name))
}

// decode runs the TOML decoder; a panic inside it becomes an error.
func decode(data []byte, v any) (md toml.MetaData, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("toml: decoder panic: %v", r)
		}
	}()
	return toml.NewDecoder(bytes.NewReader(data)).Decode(v)
}

// tomlLineErr matches the decoder's type errors, which are not ParseErrors.
var tomlLineErr = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "((?:[^"\\]|\\.)*)"\): (.*)$`)

func newDecodeError(name string, err error) *DecodeError {
	de := &DecodeError{File: name, Message: err.Error(), Err: err}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		de.Line, de.Col, de.Key, de.Message = pe.Position.Line, pe.Position.Col, pe.LastKey, pe.Message
		return de
	}
	if m := tomlLineErr.FindStringSubmatch(err.Error()); m != nil {
		de.Line, _ = strconv.Atoi(m[1])
		if k, err := strconv.Unquote(`"` + m[2] + `"`); err == nil {
			de.Key = k
		} else {
			de.Key = m[2]
		}
		de.Message = m[3]
	}
	return de
}
