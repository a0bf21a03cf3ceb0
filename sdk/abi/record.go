package abi

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strconv"
)

// A record is a sequence of fields, each a little-endian u32 byte length
// followed by that many bytes. Decoders treat missing trailing fields as empty
// and ignore extra trailing fields, so a field can be appended to an export's
// record without a new ABI version.

// ErrMalformed reports a record whose length prefixes overrun its bytes.
var ErrMalformed = errors.New("abi: malformed record")

// AppendField appends one field (length prefix and bytes) to dst.
func AppendField(dst, field []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(field)))
	return append(dst, field...)
}

// AppendStringField is AppendField for a string.
func AppendStringField(dst []byte, field string) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(field)))
	return append(dst, field...)
}

// AppendU32Field appends a 4-byte field holding v little-endian.
func AppendU32Field(dst []byte, v uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, 4)
	return binary.LittleEndian.AppendUint32(dst, v)
}

// Fields splits a record into its fields. The returned slices alias rec.
// It reads at most len(into) fields into into and returns how many it read.
func Fields(rec []byte, into [][]byte) (int, error) {
	n := 0
	for len(rec) > 0 {
		if len(rec) < 4 {
			return n, ErrMalformed
		}
		l := binary.LittleEndian.Uint32(rec)
		rec = rec[4:]
		if uint64(l) > uint64(len(rec)) {
			return n, ErrMalformed
		}
		if n < len(into) {
			into[n] = rec[:l:l]
			n++
		}
		rec = rec[l:]
	}
	for i := n; i < len(into); i++ {
		into[i] = nil
	}
	return n, nil
}

// AppendU64Field appends an 8-byte field holding v little-endian.
func AppendU64Field(dst []byte, v uint64) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, 8)
	return binary.LittleEndian.AppendUint64(dst, v)
}

// U64 decodes a field written by AppendU64Field; an empty field is 0.
func U64(field []byte) (uint64, error) {
	switch len(field) {
	case 0:
		return 0, nil
	case 8:
		return binary.LittleEndian.Uint64(field), nil
	}
	return 0, ErrMalformed
}

// U32 decodes a field written by AppendU32Field; an empty field is 0.
func U32(field []byte) (uint32, error) {
	switch len(field) {
	case 0:
		return 0, nil
	case 4:
		return binary.LittleEndian.Uint32(field), nil
	}
	return 0, ErrMalformed
}

// PackResult packs a guest pointer and length into the u64 an export returns.
func PackResult(ptr, length uint32) uint64 { return uint64(ptr)<<32 | uint64(length) }

// UnpackResult splits a packed u64 result into pointer and length.
func UnpackResult(v uint64) (ptr, length uint32) { return uint32(v >> 32), uint32(v) }

// SplitResult splits a copied-out result into its status byte and record.
func SplitResult(res []byte) (status byte, rec []byte, err error) {
	if len(res) == 0 {
		return 0, nil, ErrMalformed
	}
	return res[0], res[1:], nil
}

// Usage is token and unit usage as a provider reports it. Cached and
// reasoning tokens are subsets of input and output tokens, as in OpenAI's
// usage object. As a field it is encoded as six little-endian int64 in
// declaration order (48 bytes); an empty field means "usage unknown". Later
// ABI revisions may append int64s; decoders ignore them.
type Usage struct {
	InputTokens      int64 `json:"input_tokens"`
	OutputTokens     int64 `json:"output_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	CacheWriteTokens int64 `json:"cache_write_tokens"`
	ReasoningTokens  int64 `json:"reasoning_tokens"`
	Images           int64 `json:"images"`
}

// usageLen is the encoded size of Usage in ABI v1.
const usageLen = 6 * 8

// AppendUsageField appends u as a field, or an empty field when u is nil.
func AppendUsageField(dst []byte, u *Usage) []byte {
	if u == nil {
		return binary.LittleEndian.AppendUint32(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint32(dst, usageLen)
	for _, v := range [...]int64{u.InputTokens, u.OutputTokens, u.CachedTokens, u.CacheWriteTokens, u.ReasoningTokens, u.Images} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

// ParseUsage decodes a usage field; ok is false for an empty field.
func ParseUsage(field []byte) (u Usage, ok bool, err error) {
	if len(field) == 0 {
		return u, false, nil
	}
	if len(field) < usageLen || len(field)%8 != 0 {
		return u, false, ErrMalformed
	}
	le := binary.LittleEndian
	u = Usage{
		InputTokens:      int64(le.Uint64(field[0:])),
		OutputTokens:     int64(le.Uint64(field[8:])),
		CachedTokens:     int64(le.Uint64(field[16:])),
		CacheWriteTokens: int64(le.Uint64(field[24:])),
		ReasoningTokens:  int64(le.Uint64(field[32:])),
		Images:           int64(le.Uint64(field[40:])),
	}
	return u, true, nil
}

// Header is one HTTP header line.
type Header struct{ Name, Value string }

// AppendHeadersField appends headers as one field of "Name: value\n" lines.
// Names and values must not contain '\n'; AppendHeadersField drops any that do.
func AppendHeadersField(dst []byte, hs []Header) []byte {
	n := 0
	for _, h := range hs {
		if validHeader(h) {
			n += len(h.Name) + 2 + len(h.Value) + 1
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	for _, h := range hs {
		if validHeader(h) {
			dst = append(dst, h.Name...)
			dst = append(dst, ": "...)
			dst = append(dst, h.Value...)
			dst = append(dst, '\n')
		}
	}
	return dst
}

func validHeader(h Header) bool {
	if h.Name == "" {
		return false
	}
	for i := 0; i < len(h.Name); i++ {
		if c := h.Name[i]; c == '\n' || c == '\r' || c == ':' || c == ' ' {
			return false
		}
	}
	for i := 0; i < len(h.Value); i++ {
		if c := h.Value[i]; c == '\n' || c == '\r' {
			return false
		}
	}
	return true
}

// ParseHeaders decodes a headers field. It calls fn for each line; a line
// without ": " is malformed.
func ParseHeaders(field []byte, fn func(name, value string)) error {
	for len(field) > 0 {
		end := indexByte(field, '\n')
		if end < 0 {
			end = len(field)
		}
		line := field[:end]
		sep := -1
		for i := 0; i+1 < len(line); i++ {
			if line[i] == ':' && line[i+1] == ' ' {
				sep = i
				break
			}
		}
		if sep <= 0 {
			return ErrMalformed
		}
		fn(string(line[:sep]), string(line[sep+2:]))
		if end == len(field) {
			break
		}
		field = field[end+1:]
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// Request flags, the u32 field 2 of [RequestIn].
const (
	// FlagStream: the client asked for a stream.
	FlagStream uint32 = 1 << 0
	// FlagIncludeUsage: the client asked for the usage chunk
	// (stream_options.include_usage).
	FlagIncludeUsage uint32 = 1 << 1
)

// Stream result flags, the u32 field 3 of [StreamOut].
const (
	// StreamDone: the upstream stream is complete; the host sends the
	// surface's terminator and stops reading.
	StreamDone uint32 = 1 << 0
)

// RequestIn is the input record of [ExportRequest].
//
//	0 api        e.g. "chat.completions"
//	1 model      the upstream model id (the provider prefix removed)
//	2 flags      u32: FlagStream | FlagIncludeUsage
//	3 request id the hub's request id, for logs
//	4 body       the canonical request: the OpenAI JSON of the API
//	             (chat completions, embeddings or image generations)
//	5 provider   the configured provider's name, e.g. "deepseek"
//	6 options    the provider's options table from hub.toml as JSON ("{}"
//	             when none): lets one module serve several providers
//	7 time       u64: the host's clock, Unix milliseconds (a plugin has no
//	             clock of its own)
//
// Fields 5-7 were appended in ABI v1.1; an older host sends none of them,
// which decodes as empty (options "" and time 0).
type RequestIn struct {
	API       string
	Model     string
	Flags     uint32
	RequestID string
	Body      []byte
	Provider  string
	Options   []byte
	UnixMS    int64
}

// Append appends the record to dst.
func (r *RequestIn) Append(dst []byte) []byte {
	dst = AppendStringField(dst, r.API)
	dst = AppendStringField(dst, r.Model)
	dst = AppendU32Field(dst, r.Flags)
	dst = AppendStringField(dst, r.RequestID)
	dst = AppendField(dst, r.Body)
	dst = AppendStringField(dst, r.Provider)
	dst = AppendField(dst, r.Options)
	return AppendU64Field(dst, uint64(r.UnixMS))
}

// Parse decodes the record. Body aliases rec.
func (r *RequestIn) Parse(rec []byte) error {
	var f [8][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	flags, err := U32(f[2])
	if err != nil {
		return err
	}
	ms, err := U64(f[7])
	if err != nil {
		return err
	}
	*r = RequestIn{API: string(f[0]), Model: string(f[1]), Flags: flags, RequestID: string(f[3]), Body: f[4],
		Provider: string(f[5]), Options: f[6], UnixMS: int64(ms)}
	return nil
}

// RequestOut is the success record of [ExportRequest].
//
//	0 method   e.g. "POST"
//	1 path     appended to the provider's base_url, may carry a query
//	2 headers  "Name: value\n" lines (never credentials: the host adds them)
//	3 body     the upstream request body
//	4 state    opaque bytes handed back to hub_response / hub_stream_event
type RequestOut struct {
	Method  string
	Path    string
	Headers []Header
	Body    []byte
	State   []byte
}

// Append appends the record to dst.
func (r *RequestOut) Append(dst []byte) []byte {
	dst = AppendStringField(dst, r.Method)
	dst = AppendStringField(dst, r.Path)
	dst = AppendHeadersField(dst, r.Headers)
	dst = AppendField(dst, r.Body)
	return AppendField(dst, r.State)
}

// Parse decodes the record. Body and State alias rec.
func (r *RequestOut) Parse(rec []byte) error {
	var f [5][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	*r = RequestOut{Method: string(f[0]), Path: string(f[1]), Body: f[3], State: f[4]}
	return ParseHeaders(f[2], func(n, v string) { r.Headers = append(r.Headers, Header{n, v}) })
}

// ResponseIn is the input record of [ExportResponse].
//
//	0 state    from RequestOut
//	1 status   u32 HTTP status of the upstream response
//	2 headers  "Name: value\n" lines of the upstream response
//	3 body     the upstream body
type ResponseIn struct {
	State   []byte
	Status  uint32
	Headers []Header
	Body    []byte
}

// Append appends the record to dst.
func (r *ResponseIn) Append(dst []byte) []byte {
	dst = AppendField(dst, r.State)
	dst = AppendU32Field(dst, r.Status)
	dst = AppendHeadersField(dst, r.Headers)
	return AppendField(dst, r.Body)
}

// Parse decodes the record. State and Body alias rec.
func (r *ResponseIn) Parse(rec []byte) error {
	var f [4][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	st, err := U32(f[1])
	if err != nil {
		return err
	}
	*r = ResponseIn{State: f[0], Status: st, Body: f[3]}
	return ParseHeaders(f[2], func(n, v string) { r.Headers = append(r.Headers, Header{n, v}) })
}

// Header returns the first value of the named header (ASCII case-insensitive).
func (r *ResponseIn) Header(name string) string { return lookupHeader(r.Headers, name) }

func lookupHeader(hs []Header, name string) string {
	for _, h := range hs {
		if equalFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// ResponseOut is the success record of [ExportResponse].
//
//	0 body   the canonical response: OpenAI chat-completion JSON
//	1 usage  a Usage field (empty: unknown)
type ResponseOut struct {
	Body  []byte
	Usage *Usage
}

// Append appends the record to dst.
func (r *ResponseOut) Append(dst []byte) []byte {
	dst = AppendField(dst, r.Body)
	return AppendUsageField(dst, r.Usage)
}

// Parse decodes the record. Body aliases rec.
func (r *ResponseOut) Parse(rec []byte) error {
	var f [2][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	u, ok, err := ParseUsage(f[1])
	if err != nil {
		return err
	}
	*r = ResponseOut{Body: f[0]}
	if ok {
		r.Usage = &u
	}
	return nil
}

// Event is one whole upstream stream event, framed by the host.
type Event struct {
	// Name is the SSE "event:" name; empty when absent and for NDJSON.
	Name []byte
	// Data is the SSE data lines joined by "\n", or one NDJSON line.
	Data []byte
}

// StreamIn is the input record of [ExportStreamEvent]: every whole event
// the host had at hand, in order, so that one call can serve several.
//
//	0 state   from RequestOut or the previous StreamOut
//	1 events  one or more events, each as two nested fields: name, data
type StreamIn struct {
	State  []byte
	Events []Event
}

// Append appends the record to dst.
func (r *StreamIn) Append(dst []byte) []byte {
	dst = AppendField(dst, r.State)
	n := 0
	for _, e := range r.Events {
		n += 8 + len(e.Name) + len(e.Data)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	for _, e := range r.Events {
		dst = AppendField(dst, e.Name)
		dst = AppendField(dst, e.Data)
	}
	return dst
}

// Parse decodes the record; all fields alias rec. Events reuses the
// capacity of r.Events.
func (r *StreamIn) Parse(rec []byte) error {
	var f [2][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	events := r.Events[:0]
	for b := f[1]; len(b) > 0; {
		var name, data []byte
		var err error
		if name, b, err = nextField(b); err != nil {
			return err
		}
		if data, b, err = nextField(b); err != nil {
			return err
		}
		events = append(events, Event{Name: name, Data: data})
	}
	*r = StreamIn{State: f[0], Events: events}
	return nil
}

// nextField splits the first field off b.
func nextField(b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, ErrMalformed
	}
	l := binary.LittleEndian.Uint32(b)
	b = b[4:]
	if uint64(l) > uint64(len(b)) {
		return nil, nil, ErrMalformed
	}
	return b[:l:l], b[l:], nil
}

// StreamOut is the success record of [ExportStreamEvent].
//
//	0 state   the new per-stream state (replaces the old one)
//	1 chunks  zero or more canonical chunks (OpenAI chat.completion.chunk
//	          JSON), each as a nested field: u32 length + bytes
//	2 usage   a Usage field when an event carried usage, else empty
//	3 flags   u32: StreamDone
//	4 error   empty, or an Error as JSON: the stream failed after the
//	          chunks in field 1 (e.g. the provider sent an error event)
type StreamOut struct {
	State  []byte
	Chunks [][]byte
	Usage  *Usage
	Flags  uint32
	Error  *Error
}

// Append appends the record to dst.
func (r *StreamOut) Append(dst []byte) []byte {
	dst = AppendField(dst, r.State)
	n := 0
	for _, c := range r.Chunks {
		n += 4 + len(c)
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	for _, c := range r.Chunks {
		dst = AppendField(dst, c)
	}
	dst = AppendUsageField(dst, r.Usage)
	dst = AppendU32Field(dst, r.Flags)
	if r.Error == nil {
		return AppendField(dst, nil)
	}
	b, err := json.Marshal(r.Error)
	if err != nil {
		b = []byte(`{"status":502,"type":"plugin_error","message":"unencodable error"}`)
	}
	return AppendField(dst, b)
}

// Parse decodes the record. State and Chunks alias rec; Chunks reuses the
// capacity of r.Chunks.
func (r *StreamOut) Parse(rec []byte) error {
	var f [5][]byte
	if _, err := Fields(rec, f[:]); err != nil {
		return err
	}
	chunks := r.Chunks[:0]
	for c := f[1]; len(c) > 0; {
		var chunk []byte
		var err error
		if chunk, c, err = nextField(c); err != nil {
			return err
		}
		chunks = append(chunks, chunk)
	}
	u, ok, err := ParseUsage(f[2])
	if err != nil {
		return err
	}
	flags, err := U32(f[3])
	if err != nil {
		return err
	}
	*r = StreamOut{State: f[0], Chunks: chunks, Flags: flags}
	if ok {
		r.Usage = &u
	}
	if len(f[4]) > 0 {
		r.Error = new(Error)
		if err := json.Unmarshal(f[4], r.Error); err != nil {
			return ErrMalformed
		}
	}
	return nil
}

// RetryAfterMS parses a Retry-After header value (delta-seconds, possibly
// fractional) into milliseconds; 0 when absent or unparsable. HTTP dates are
// not parsed here because plugins have no clock; the host handles them.
func RetryAfterMS(v string) int64 {
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 86400 {
		return 0
	}
	return int64(f * 1000)
}
