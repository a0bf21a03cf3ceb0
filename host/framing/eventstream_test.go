package framing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/aignehub/hub/sdk/abi"
)

// esEvent is an "event" message as Bedrock's ConverseStream sends it.
func esEvent(typ, payload string) eventstream.Message {
	return eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue(typ)},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
			{Name: ":message-type", Value: eventstream.StringValue("event")},
		},
		Payload: []byte(payload),
	}
}

// esException is an "exception" message.
func esException(typ, payload string) eventstream.Message {
	return eventstream.Message{
		Headers: eventstream.Headers{
			{Name: ":exception-type", Value: eventstream.StringValue(typ)},
			{Name: ":content-type", Value: eventstream.StringValue("application/json")},
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
		},
		Payload: []byte(payload),
	}
}

// esError is an "error" message, its text in headers.
func esError(code, message string) eventstream.Message {
	return eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("error")},
		{Name: ":error-code", Value: eventstream.StringValue(code)},
		{Name: ":error-message", Value: eventstream.StringValue(message)},
	}}
}

// encodeES encodes msgs with the SDK's encoder.
func encodeES(t testing.TB, msgs ...eventstream.Message) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := eventstream.NewEncoder()
	for _, m := range msgs {
		if err := enc.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// converseStream is a Bedrock ConverseStream answer with text and a tool
// call, padded the way Bedrock pads events ("p").
func converseStream(t testing.TB) ([]byte, []ev) {
	msgs := []eventstream.Message{
		esEvent("messageStart", `{"p":"abcdefghijkl","role":"assistant"}`),
		esEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Bonjour"},"p":"abcd"}`),
		esEvent("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":" à tous"},"p":"abcdefghijklmnopqrst"}`),
		esEvent("contentBlockStop", `{"contentBlockIndex":0,"p":"abcdefghijklmnopqrstuvwxyzABCDEF"}`),
		esEvent("contentBlockStart", `{"contentBlockIndex":1,"p":"ab","start":{"toolUse":{"name":"get_weather","toolUseId":"tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"}}}`),
		esEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"city\":"}},"p":"abcdefg"}`),
		esEvent("contentBlockDelta", `{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\"Paris\"}"}},"p":"abcdefghijklmnopq"}`),
		esEvent("contentBlockStop", `{"contentBlockIndex":1,"p":"abcdefghij"}`),
		esEvent("messageStop", `{"p":"abcdefghijklmnopqrstuvwxyzABCDEFGH","stopReason":"tool_use"}`),
		esEvent("metadata", `{"metrics":{"latencyMs":812},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR","usage":{"inputTokens":412,"outputTokens":58,"totalTokens":470}}`),
	}
	var want []ev
	for _, m := range msgs {
		want = append(want, nd(m.Headers.Get(":event-type").String(), string(m.Payload)))
	}
	return encodeES(t, msgs...), want
}

func readES(t testing.TB, r io.Reader, max int) ([]ev, error) {
	t.Helper()
	return collect(t, NewEventStream(r, max))
}

func TestEventStreamNew(t *testing.T) {
	r, err := New(abi.FramingAWSEventStream, strings.NewReader(""), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*EventStream); !ok {
		t.Fatalf("New(%q) = %T", abi.FramingAWSEventStream, r)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("empty stream: %v", err)
	}
}

func TestEventStreamNames(t *testing.T) {
	cases := []struct {
		name string
		msg  eventstream.Message
		want ev
	}{
		{"event", esEvent("contentBlockDelta", `{"a":1}`), nd("contentBlockDelta", `{"a":1}`)},
		{"empty payload", esEvent("messageStart", ``), nd("messageStart", ``)},
		{"exception", esException("throttlingException", `{"message":"Too many requests"}`),
			nd("exception:throttlingException", `{"message":"Too many requests"}`)},
		{"exception named by error code", eventstream.Message{Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("exception")},
			{Name: ":error-code", Value: eventstream.StringValue("InternalFailure")},
		}, Payload: []byte(`{}`)}, nd("exception:InternalFailure", `{}`)},
		{"error with headers only", esError("InternalFailure", "An internal error occurred"),
			nd("error:InternalFailure", "An internal error occurred")},
		{"error with a payload", eventstream.Message{Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("error")},
			{Name: ":error-code", Value: eventstream.StringValue("E")},
			{Name: ":error-message", Value: eventstream.StringValue("header text")},
		}, Payload: []byte(`{"message":"body text"}`)}, nd("error:E", `{"message":"body text"}`)},
		{"no message type", eventstream.Message{Headers: eventstream.Headers{
			{Name: ":event-type", Value: eventstream.StringValue("chunk")},
		}, Payload: []byte("x")}, nd("chunk", "x")},
		{"no headers", eventstream.Message{Payload: []byte("x")}, nd("", "x")},
		{"unknown message type", eventstream.Message{Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("future")},
			{Name: ":event-type", Value: eventstream.StringValue("thing")},
		}, Payload: []byte("x")}, nd("future:thing", "x")},
		{"non-string event type", eventstream.Message{Headers: eventstream.Headers{
			{Name: ":message-type", Value: eventstream.StringValue("event")},
			{Name: ":event-type", Value: eventstream.BytesValue("chunk")},
			{Name: ":date", Value: eventstream.Int64Value(7)},
		}, Payload: []byte("x")}, nd("", "x")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readES(t, bytes.NewReader(encodeES(t, tc.msg)), 0)
			if err != io.EOF || len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %v, %v; want [%v]", got, err, tc.want)
			}
		})
	}
	// Names and data of consecutive messages do not bleed into each other.
	in := encodeES(t, esError("A", "long message text"), esEvent("b", "c"), esException("dd", ""))
	got, err := readES(t, bytes.NewReader(in), 0)
	want := []ev{nd("error:A", "long message text"), nd("b", "c"), nd("exception:dd", "")}
	if err != io.EOF || !sameEvents(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

// TestEventStreamAnyChunking: the stream split in two at every byte, byte
// by byte, and in random chunks reads exactly as it does whole.
func TestEventStreamAnyChunking(t *testing.T) {
	in, want := converseStream(t)
	check := func(how string, r io.Reader, max int) {
		t.Helper()
		got, err := readES(t, r, max)
		if err != io.EOF || !sameEvents(got, want) {
			t.Fatalf("%s: got %v, %v\nwant %v", how, got, err, want)
		}
	}
	check("whole", bytes.NewReader(in), 0)
	for i := 0; i <= len(in); i++ {
		check("split at "+strconv.Itoa(i), splitReader(in, i), 0)
	}
	check("byte by byte", iotest.OneByteReader(bytes.NewReader(in)), 0)
	check("half reads", iotest.HalfReader(bytes.NewReader(in)), 0)
	check("data with EOF", iotest.DataErrReader(bytes.NewReader(in)), 0)
	for seed := range uint64(300) {
		check("chunk seed "+strconv.Itoa(int(seed)), newChunkReader(in, seed), 0)
	}
	// The limit is on whole messages: the largest message fits exactly.
	largest := largestMessage(t, in)
	for seed := range uint64(50) {
		check("at the limit, seed "+strconv.Itoa(int(seed)), newChunkReader(in, seed), largest)
	}
}

// largestMessage returns the length of the longest message of in.
func largestMessage(t testing.TB, in []byte) int {
	t.Helper()
	largest := 0
	for len(in) > 0 {
		n := int(binary.BigEndian.Uint32(in))
		largest = max(largest, n)
		in = in[n:]
	}
	return largest
}

// TestEventStreamTruncated: a stream cut anywhere yields the messages
// before the cut and ends with io.EOF exactly at message boundaries,
// ErrTruncated (an io.ErrUnexpectedEOF) everywhere else.
func TestEventStreamTruncated(t *testing.T) {
	in, want := converseStream(t)
	bounds := map[int]bool{0: true}
	for off := 0; off < len(in); {
		off += int(binary.BigEndian.Uint32(in[off:]))
		bounds[off] = true
	}
	for i := 0; i <= len(in); i++ {
		for _, r := range []io.Reader{bytes.NewReader(in[:i]), iotest.OneByteReader(bytes.NewReader(in[:i]))} {
			got, err := readES(t, r, 0)
			if len(got) > len(want) || !sameEvents(got, want[:len(got)]) {
				t.Fatalf("cut at %d: events %v are not a prefix", i, got)
			}
			if bounds[i] {
				if err != io.EOF {
					t.Fatalf("cut at boundary %d: %v", i, err)
				}
				continue
			}
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut at %d: %v, want ErrTruncated", i, err)
			}
		}
	}
}

// TestEventStreamCorrupt: any flipped bit is a checksum error, after the
// messages before it; no corruption reads as a truncation or a clean end.
func TestEventStreamCorrupt(t *testing.T) {
	in, want := converseStream(t)
	starts := []int{}
	for off := 0; off < len(in); off += int(binary.BigEndian.Uint32(in[off:])) {
		starts = append(starts, off)
	}
	msgAt := func(i int) int { // the message holding byte i
		k := 0
		for k+1 < len(starts) && starts[k+1] <= i {
			k++
		}
		return k
	}
	for i := range in {
		bad := bytes.Clone(in)
		bad[i] ^= 0x10
		got, err := readES(t, bytes.NewReader(bad), 0)
		k := msgAt(i)
		if !sameEvents(got, want[:k]) {
			t.Fatalf("flip at %d: events %v, want the %d before it", i, got, k)
		}
		// A flipped length bit must fail the prelude CRC, never be
		// trusted (as a truncation or an oversized message).
		if !errors.Is(err, ErrChecksum) {
			t.Fatalf("flip at %d: %v, want ErrChecksum", i, err)
		}
		if strings.Contains(err.Error(), "prelude") != (i-starts[k] < esPreludeLen) {
			t.Fatalf("flip at %d: %v names the wrong CRC", i, err)
		}
	}
}

// withCRCs builds a raw message from its parts with correct CRCs.
func withCRCs(total, hlen uint32, rest []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, total)
	b = binary.BigEndian.AppendUint32(b, hlen)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	b = append(b, rest...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func TestEventStreamMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"total below the minimum", withCRCs(15, 0, nil)[:16]},
		{"headers longer than the message", withCRCs(20, 5, []byte("abcd"))},
		{"unknown header type", withCRCs(16+3, 3, []byte{1, 'a', 42})},
		{"short header value", withCRCs(16+6, 6, []byte{1, 'a', 7, 0, 9, 'x'})},
		{"header name cut", withCRCs(16+2, 2, []byte{5, 'a'})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A good message first, to check it is delivered.
			in := append(encodeES(t, esEvent("ok", "1")), tc.in...)
			got, err := readES(t, bytes.NewReader(in), 0)
			if !sameEvents(got, []ev{nd("ok", "1")}) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, %v; want ErrMalformed", got, err)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%v must not read as an end of stream", err)
			}
		})
	}
}

func TestEventStreamTooLarge(t *testing.T) {
	in, want := converseStream(t)
	largest := largestMessage(t, in)
	at := 0
	for off := 0; int(binary.BigEndian.Uint32(in[off:])) != largest; off += int(binary.BigEndian.Uint32(in[off:])) {
		at++
	}
	for seed := range uint64(20) {
		got, err := readES(t, newChunkReader(in, seed), largest-1)
		if !errors.Is(err, ErrEventTooLarge) || !sameEvents(got, want[:at]) {
			t.Fatalf("seed %d: %v, %v", seed, got, err)
		}
	}
	// A huge announced length with a valid prelude CRC fails at once,
	// without reading or buffering the message.
	huge := withCRCs(1<<31, 0, nil)[:12]
	r := NewEventStream(io.MultiReader(bytes.NewReader(huge), iotest.ErrReader(errors.New("must not be read"))), 0)
	if _, err := r.Next(); !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("huge message: %v", err)
	}
	if c := cap(r.src.buf); c > initialBuf {
		t.Fatalf("buffer grew to %d for a refused message", c)
	}
	// A limit below the prelude size refuses every message.
	if got, err := readES(t, bytes.NewReader(in), 5); len(got) != 0 || !errors.Is(err, ErrEventTooLarge) {
		t.Fatalf("limit 5: %v, %v", got, err)
	}
}

// TestEventStreamBoundedMemory: however the stream arrives, the buffers
// stay within the limit.
func TestEventStreamBoundedMemory(t *testing.T) {
	in, _ := converseStream(t)
	big := encodeES(t, esEvent("big", strings.Repeat("x", 100_000)))
	in = append(append(bytes.Clone(in), big...), in...)
	lim := len(big)
	for seed := range uint64(20) {
		r := NewEventStream(newChunkReader(in, seed), lim)
		if _, err := collect(t, r); err != io.EOF {
			t.Fatal(err)
		}
		if c := cap(r.src.buf); c > lim {
			t.Fatalf("buffer %d bytes, limit %d", c, lim)
		}
	}
}

func TestEventStreamReadError(t *testing.T) {
	in, want := converseStream(t)
	boom := errors.New("connection reset")
	cut := len(in) - 10
	got, err := readES(t, io.MultiReader(bytes.NewReader(in[:cut]), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) || errors.Is(err, ErrTruncated) || !sameEvents(got, want[:len(want)-1]) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestEventStreamReset(t *testing.T) {
	in, want := converseStream(t)
	r := NewEventStream(strings.NewReader("junk that is not a stream"), 0)
	if _, err := collect(t, r); err == nil || err == io.EOF {
		t.Fatalf("junk: %v", err)
	}
	r.Reset(bytes.NewReader(in), 0)
	if got, err := collect(t, r); err != io.EOF || !sameEvents(got, want) {
		t.Fatalf("after Reset: %v, %v", got, err)
	}
}

// TestEventStreamNoAllocs: once the buffer has grown, reading messages
// allocates nothing (the SDK's decoder would allocate 38 times per message).
func TestEventStreamNoAllocs(t *testing.T) {
	in, _ := converseStream(t)
	br := bytes.NewReader(in)
	r := NewEventStream(br, 0)
	drain := func() {
		br.Reset(in)
		r.Reset(br, 0)
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				return
			}
		}
	}
	drain()
	if n := testing.AllocsPerRun(20, drain); n != 0 {
		t.Errorf("%v allocations per stream", n)
	}
}

// refEventStream is a plain reading of a whole AWS event-stream, for the
// fuzz test: the AWS SDK's own decoder over each message, after the checks
// that decide which error a broken stream reports (prelude CRC, lengths,
// limit, presence, message CRC), in the reader's order.
func refEventStream(in []byte, max int) ([]ev, error) {
	max = limit(max)
	var out []ev
	for {
		switch {
		case len(in) == 0:
			return out, io.EOF
		case len(in) < 12:
			return out, ErrTruncated
		}
		total, hlen := binary.BigEndian.Uint32(in), binary.BigEndian.Uint32(in[4:])
		if crc32.ChecksumIEEE(in[:8]) != binary.BigEndian.Uint32(in[8:]) {
			return out, ErrChecksum
		}
		if total < 16 || hlen > total-16 {
			return out, ErrMalformed
		}
		if int64(total) > int64(max) {
			return out, ErrEventTooLarge
		}
		if uint64(len(in)) < uint64(total) {
			return out, ErrTruncated
		}
		msg := in[:total]
		in = in[total:]
		if crc32.ChecksumIEEE(msg[:total-4]) != binary.BigEndian.Uint32(msg[total-4:]) {
			return out, ErrChecksum
		}
		m, err := eventstream.NewDecoder().Decode(bytes.NewReader(msg), nil)
		if err != nil {
			return out, ErrMalformed
		}
		str := func(name string) string {
			if v, ok := m.Headers.Get(name).(eventstream.StringValue); ok {
				return string(v)
			}
			return ""
		}
		e := ev{Data: string(m.Payload)}
		switch typ := str(":message-type"); typ {
		case "", "event":
			e.Name = str(":event-type")
		case "exception":
			e.Name = "exception:" + str(":exception-type")
			if str(":exception-type") == "" {
				e.Name = "exception:" + str(":error-code")
			}
		case "error":
			e.Name = "error:" + str(":error-code")
			if e.Data == "" {
				e.Data = str(":error-message")
			}
		default:
			e.Name = typ + ":" + str(":event-type")
		}
		out = append(out, e)
	}
}

// esClass is class with this framing's own errors.
func esClass(err error) string {
	switch {
	case errors.Is(err, ErrChecksum):
		return "checksum"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return class(err)
}

// fixCRCs rewrites the CRCs of every message in b whose bytes are all
// there, so that fuzzed inputs reach the header decoding instead of
// failing the checksums.
func fixCRCs(b []byte) {
	for len(b) >= 12 {
		binary.BigEndian.PutUint32(b[8:], crc32.ChecksumIEEE(b[:8]))
		n := binary.BigEndian.Uint32(b)
		if n < 16 || uint64(n) > uint64(len(b)) {
			return
		}
		binary.BigEndian.PutUint32(b[n-4:], crc32.ChecksumIEEE(b[:n-4]))
		b = b[n:]
	}
}

// FuzzEventStream: whatever the bytes (raw, or with their CRCs repaired so
// the headers get decoded), reading them whole, in random chunks, split in
// two and byte by byte gives the same events and end as the plain
// reference, and memory stays within the limit. lim is the message limit
// (0: the default).
func FuzzEventStream(f *testing.F) {
	in, _ := converseStream(f)
	f.Add(in, uint64(7), uint8(0), false)
	f.Add(in[:200], uint64(3), uint8(120), false)
	f.Add(encodeES(f, esError("E", "m"), esException("x", `{}`)), uint64(1), uint8(0), false)
	f.Add(encodeES(f, eventstream.Message{Headers: eventstream.Headers{
		{Name: ":message-type", Value: eventstream.StringValue("event")},
		{Name: "u", Value: eventstream.UUIDValue{1, 2}},
		{Name: "t", Value: eventstream.BoolValue(true)},
		{Name: "i", Value: eventstream.Int32Value(-1)},
	}}), uint64(2), uint8(0), true)
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint64(0), uint8(0), true)
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, lim uint8, repair bool) {
		if repair {
			in = bytes.Clone(in)
			fixCRCs(in)
		}
		want, wantErr := refEventStream(in, int(lim))
		for _, rd := range []struct {
			name string
			r    io.Reader
		}{
			{"whole", bytes.NewReader(in)},
			{"chunked", newChunkReader(in, seed)},
			{"split", splitReader(in, int(seed%uint64(len(in)+1)))},
			{"bytewise", iotest.OneByteReader(bytes.NewReader(in))},
		} {
			r := NewEventStream(rd.r, int(lim))
			got, err := collect(t, r)
			if !sameEvents(got, want) || esClass(err) != esClass(wantErr) {
				t.Fatalf("%s reading of %s (max %d):\ngot  %v, %s\nwant %v, %s", rd.name, show(in), lim, got, esClass(err), want, esClass(wantErr))
			}
			l := max(limit(int(lim)), esPreludeLen)
			if c := cap(r.src.buf); c > l {
				t.Fatalf("%s: buffer %d bytes, limit %d", rd.name, c, l)
			}
		}
	})
}

func BenchmarkEventStream_Bedrock(b *testing.B) {
	one, want := converseStream(b)
	in := bytes.Repeat(one, 100)
	src := bytes.NewReader(in)
	r := NewEventStream(src, 0)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(in)
		r.Reset(src, 0)
		for {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100*len(want)), "ns/event")
}
