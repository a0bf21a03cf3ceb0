package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aignehub/hub/sdk/abi"
)

// defaultTime is a case's host time when case.json sets none.
const defaultTime = 1700000000000

// upstreamFiles maps the name of an upstream body file to the stream
// framing it holds ("" for a non-stream body).
var upstreamFiles = map[string]string{
	"upstream.json":        "",
	"upstream.txt":         "",
	"upstream.sse":         abi.FramingSSE,
	"upstream.ndjson":      abi.FramingNDJSON,
	"upstream.eventstream": abi.FramingAWSEventStream,
}

// A fixture is one case directory.
type fixture struct {
	name string
	dir  string

	// Provider cases.
	req          abi.RequestIn
	stream       bool
	upstream     []byte // nil: no upstream file
	upFraming    string // the framing the upstream file's suffix names
	upFile       string
	upStatus     uint32
	upHeaders    []abi.Header
	hasUpstream  bool
	providerCase *providerCase

	// Billing cases.
	quote  *abi.QuoteIn
	settle *abi.SettleIn
	held   bool // settle.held was given

	want    *answers // nil: no want.json
	wantRaw []byte
}

// providerCase is a provider case.json.
type providerCase struct {
	API          string          `json:"api"`
	Model        string          `json:"model"`
	Stream       bool            `json:"stream"`
	IncludeUsage bool            `json:"include_usage"`
	RequestID    string          `json:"request_id"`
	Provider     string          `json:"provider"`
	Options      json.RawMessage `json:"options"`
	Time         *int64          `json:"time"`
	Body         json.RawMessage `json:"body"`
	Upstream     *struct {
		Status  uint32   `json:"status"`
		Headers []string `json:"headers"`
	} `json:"upstream"`
}

// billingCase is a billing case.json.
type billingCase struct {
	Quote  *quoteJSON  `json:"quote"`
	Settle *settleJSON `json:"settle"`
}

type rateJSON struct {
	InputPerM      int64 `json:"input_per_m"`
	OutputPerM     int64 `json:"output_per_m"`
	CachedReadPerM int64 `json:"cached_read_per_m"`
	CacheWritePerM int64 `json:"cache_write_per_m"`
	PerImage       int64 `json:"per_image"`
	MinPerCall     int64 `json:"min_per_call"`
}

func (r *rateJSON) rate() abi.Rate {
	if r == nil {
		return abi.Rate{}
	}
	return abi.Rate{Found: true, InputPerM: r.InputPerM, OutputPerM: r.OutputPerM, CachedReadPerM: r.CachedReadPerM,
		CacheWritePerM: r.CacheWritePerM, PerImage: r.PerImage, MinPerCall: r.MinPerCall}
}

// billedCallJSON is what a quote and a settle case both say of the call.
type billedCallJSON struct {
	AccountID      int64     `json:"account_id"`
	KeyID          int64     `json:"key_id"`
	API            string    `json:"api"`
	Provider       string    `json:"provider"`
	Model          string    `json:"model"`
	RequestedModel string    `json:"requested_model"`
	Time           *int64    `json:"time"`
	Rate           *rateJSON `json:"rate"`
	ChargedToday   int64     `json:"charged_today"`
}

type quoteJSON struct {
	billedCallJSON
	EstInputTokens  int64 `json:"est_input_tokens"`
	MaxOutputTokens int64 `json:"max_output_tokens"`
	Images          int64 `json:"images"`
	Balance         int64 `json:"balance"`
}

type settleJSON struct {
	billedCallJSON
	Held      *int64     `json:"held"`
	Usage     *abi.Usage `json:"usage"`
	Estimated bool       `json:"estimated"`
	Aborted   bool       `json:"aborted"`
}

// answers is a want.json: what the plugin answered, per export.
type answers struct {
	Request  *requestAnswer  `json:"request,omitempty"`
	Response *responseAnswer `json:"response,omitempty"`
	Stream   *streamAnswer   `json:"stream,omitempty"`
	Quote    *quoteAnswer    `json:"quote,omitempty"`
	Settle   *settleAnswer   `json:"settle,omitempty"`
}

type requestAnswer struct {
	Method   string          `json:"method,omitempty"`
	Path     string          `json:"path,omitempty"`
	Headers  []string        `json:"headers,omitempty"`
	Body     json.RawMessage `json:"body,omitempty"`
	BodyText *string         `json:"body_text,omitempty"`
	Error    *abi.Error      `json:"error,omitempty"`
}

type responseAnswer struct {
	Body     json.RawMessage `json:"body,omitempty"`
	BodyText *string         `json:"body_text,omitempty"`
	Usage    *abi.Usage      `json:"usage,omitempty"`
	Error    *abi.Error      `json:"error,omitempty"`
}

type streamAnswer struct {
	Chunks []json.RawMessage `json:"chunks"`
	Usage  *abi.Usage        `json:"usage,omitempty"`
	Done   bool              `json:"done"`
	// Error is the error that ended the stream: StreamOut.error, or the
	// plugin's error result.
	Error *abi.Error `json:"error,omitempty"`
	// FramingError is the host framer's error (a truncated stream).
	FramingError string `json:"framing_error,omitempty"`
}

type quoteAnswer struct {
	Allow  bool       `json:"allow"`
	Reason string     `json:"reason,omitempty"`
	Hold   int64      `json:"hold"`
	Code   string     `json:"code,omitempty"`
	Error  *abi.Error `json:"error,omitempty"`
}

type settleAnswer struct {
	Amount int64      `json:"amount"`
	Items  []itemJSON `json:"items"`
	Error  *abi.Error `json:"error,omitempty"`
}

type itemJSON struct {
	Name     string `json:"name"`
	Quantity int64  `json:"quantity"`
	Amount   int64  `json:"amount"`
}

// loadFixtures reads the case directories under dir for a plugin of the
// given kind and manifest name. A missing dir is no error: there are no
// cases (the fixture check reports that).
func loadFixtures(dir, kind, name string) ([]*fixture, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fixtures: %w", err)
	}
	var fs []*fixture
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		f, err := loadFixture(filepath.Join(dir, e.Name()), kind, name)
		if err != nil {
			return nil, fmt.Errorf("fixture %s: %w", e.Name(), err)
		}
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
	return fs, nil
}

// strictJSON decodes b into v; unknown keys are errors.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

func loadFixture(dir, kind, name string) (*fixture, error) {
	f := &fixture{name: filepath.Base(dir), dir: dir}
	raw, err := os.ReadFile(filepath.Join(dir, "case.json"))
	if err != nil {
		return nil, err
	}
	switch kind {
	case abi.KindBilling:
		var c billingCase
		if err := strictJSON(raw, &c); err != nil {
			return nil, fmt.Errorf("case.json: %w", err)
		}
		if c.Quote == nil && c.Settle == nil {
			return nil, errors.New("case.json: neither \"quote\" nor \"settle\"")
		}
		if q := c.Quote; q != nil {
			f.quote = &abi.QuoteIn{AccountID: q.AccountID, KeyID: q.KeyID, API: q.API, Provider: q.Provider, Model: q.Model,
				RequestedModel: q.RequestedModel, EstInputTokens: q.EstInputTokens, MaxOutputTokens: q.MaxOutputTokens,
				Images: q.Images, UnixMS: orDefault(q.Time), Rate: q.Rate.rate(), Balance: q.Balance, ChargedToday: q.ChargedToday}
		}
		if s := c.Settle; s != nil {
			f.settle = &abi.SettleIn{AccountID: s.AccountID, KeyID: s.KeyID, API: s.API, Provider: s.Provider, Model: s.Model,
				RequestedModel: s.RequestedModel, UnixMS: orDefault(s.Time), Rate: s.Rate.rate(), ChargedToday: s.ChargedToday,
				Estimated: s.Estimated, Aborted: s.Aborted}
			if s.Usage != nil {
				f.settle.Usage = *s.Usage
			}
			if s.Held != nil {
				f.settle.Held, f.held = *s.Held, true
			}
		}
	default:
		var c providerCase
		if err := strictJSON(raw, &c); err != nil {
			return nil, fmt.Errorf("case.json: %w", err)
		}
		f.providerCase = &c
		if c.API == "" {
			c.API = abi.APIChatCompletions
		}
		if c.RequestID == "" {
			c.RequestID = "conformance-" + f.name
		}
		if c.Provider == "" {
			c.Provider = name
		}
		opts := []byte("{}")
		if len(c.Options) > 0 {
			opts = bytes.TrimSpace(c.Options)
		}
		f.req = abi.RequestIn{API: c.API, Model: c.Model, RequestID: c.RequestID, Provider: c.Provider,
			Options: opts, UnixMS: orDefault(c.Time), Body: bytes.TrimSpace(c.Body)}
		if c.Stream {
			f.req.Flags |= abi.FlagStream
		}
		if c.IncludeUsage {
			f.req.Flags |= abi.FlagIncludeUsage
		}
		f.stream = c.Stream
		f.upStatus = 200
		if u := c.Upstream; u != nil {
			if u.Status != 0 {
				f.upStatus = u.Status
			}
			for _, h := range u.Headers {
				n, v, ok := strings.Cut(h, ":")
				if !ok || n == "" {
					return nil, fmt.Errorf("case.json: upstream header %q is not \"Name: value\"", h)
				}
				f.upHeaders = append(f.upHeaders, abi.Header{Name: n, Value: strings.TrimSpace(v)})
			}
		}
		for file, fr := range upstreamFiles {
			b, err := os.ReadFile(filepath.Join(dir, file))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if f.hasUpstream {
				return nil, fmt.Errorf("both %s and %s", f.upFile, file)
			}
			f.upstream, f.upFraming, f.upFile, f.hasUpstream = b, fr, file, true
		}
		if f.hasUpstream && f.stream != (f.upFraming != "") {
			if f.stream {
				return nil, fmt.Errorf("a stream case needs upstream.sse, upstream.ndjson or upstream.eventstream, not %s", f.upFile)
			}
			return nil, fmt.Errorf("%s is a stream body but case.json does not set \"stream\": true", f.upFile)
		}
	}
	wb, err := os.ReadFile(filepath.Join(dir, "want.json"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var w answers
		if err := strictJSON(wb, &w); err != nil {
			return nil, fmt.Errorf("want.json: %w", err)
		}
		f.want, f.wantRaw = &w, wb
	}
	return f, nil
}

func orDefault(t *int64) int64 {
	if t == nil {
		return defaultTime
	}
	return *t
}

// bodyAnswer renders a body as JSON when it is JSON, else as text.
func bodyAnswer(b []byte) (json.RawMessage, *string) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	if json.Valid(b) {
		return json.RawMessage(bytes.Clone(b)), nil
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = fmt.Sprintf("(%d bytes, not UTF-8)", len(b))
	}
	return nil, &s
}

// canonical renders v as JSON with object keys sorted and numbers kept
// exact, so that two answers compare equal when they are the same JSON.
func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "!" + err.Error()
	}
	out, _ := json.Marshal(x)
	return string(out)
}

// diff describes how got differs from want, both answers: the first export
// whose answer differs, both as canonical JSON (cut to a readable length).
func diff(got, want *answers) string {
	pairs := []struct {
		name string
		g, w any
	}{
		{"request", got.Request, want.Request}, {"response", got.Response, want.Response},
		{"stream", got.Stream, want.Stream}, {"quote", got.Quote, want.Quote}, {"settle", got.Settle, want.Settle},
	}
	for _, p := range pairs {
		g, w := canonical(p.g), canonical(p.w)
		if g != w {
			i := 0
			for i < len(g) && i < len(w) && g[i] == w[i] {
				i++
			}
			start := max(0, i-60)
			return fmt.Sprintf("%s differs at byte %d: got …%s… want …%s…", p.name, i, clip(g[start:], 160), clip(w[start:], 160))
		}
	}
	return ""
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// writeWant writes a case's want.json.
func writeWant(dir string, a *answers) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "want.json"), append(b, '\n'), 0o644)
}
