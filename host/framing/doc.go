// Package framing splits an upstream streaming body into whole events, so
// that a provider plugin never sees a partial event whatever the network's
// chunk boundaries were (sdk/ABI.md §3, StreamIn).
//
// Three framings exist, named as a plugin's manifest declares them
// ("stream_framing"):
//
//   - "sse": text/event-stream, parsed as the WHATWG HTML standard's
//     "event stream interpretation" says ([SSE]). Lines end in LF, CRLF or CR
//     (a CR at the end of one read and an LF at the start of the next are one
//     line end); a blank line dispatches the event; lines starting with ":"
//     are comments; a line without a colon is a field with an empty value;
//     one space after the colon is removed; "data" lines are joined with
//     "\n"; events without a data line are not dispatched; unknown fields are
//     ignored; a UTF-8 BOM at the start is skipped.
//   - "ndjson": one JSON value per "\n"-terminated line ([NDJSON]), as
//     Ollama streams; a trailing "\r" is removed, blank lines are skipped,
//     and a last line without "\n" is still returned.
//   - "aws-eventstream": AWS event-stream binary messages
//     (application/vnd.amazon.eventstream, [EventStream]), as Amazon
//     Bedrock's ConverseStream sends them. Each message is length-prefixed
//     and carries a CRC-32 of its prelude and of the whole message, both
//     checked; Name is the ":event-type" header ("exception:" + the
//     ":exception-type" header for an exception message, "error:" + the
//     ":error-code" header for an error message) and Data the payload.
//
// # End of stream
//
// [Reader.Next] returns io.EOF only at a clean end: for SSE, right after a
// blank line or a comment line. The SSE standard discards an event that the
// stream cut before its blank line; this package discards it too, but
// reports the cut (after a field line of an event, or mid-line) as
// [ErrTruncated], which wraps io.ErrUnexpectedEOF, so a caller can tell a
// broken upstream from a finished one. NDJSON has no such check: its last
// line needs no "\n". An AWS event-stream ends cleanly only between two
// messages; cut anywhere inside one (its prelude included) it ends with
// [ErrTruncated] too, and a corrupt message ends it with [ErrChecksum] (or
// [ErrMalformed] for a message whose CRCs match but whose lengths or headers
// do not parse). A read error of the underlying reader is returned wrapped,
// after every whole event already buffered.
//
// # Memory and speed
//
// Each reader owns one input buffer, grown only as far as the longest line
// needs and never beyond the event limit (8 MiB by default), plus, for SSE,
// a buffer for the joined data. Both are reused, so reading an event
// allocates nothing in the steady state; an [Event]'s slices alias them and
// are valid until the next call of Next or Reset. Line ends are found with
// bytes.IndexByte (vectorized), and the position of the next LF is cached, so
// every input byte is scanned a bounded number of times whatever the chunking
// (even for CR-only line ends or a long line arriving a byte at a time).
//
// An AWS event-stream message is buffered whole (there the limit applies to
// the whole message, prelude and CRCs included) and decoded in place, its
// payload handed out without a copy. Its length is trusted only after the
// prelude CRC matched, and only up to the limit, so a corrupt or hostile
// length can neither make the reader allocate nor make it wait for bytes
// that will never come. The decoding is that of the AWS SDK's
// eventstream.Decoder, which the tests use as the reference; the SDK's
// decoder itself is not used on this path because it reads every field
// through an io.Reader and allocates about 38 times per message.
//
// A line longer than the limit is never buffered whole: a comment or an
// unknown field is skipped as it streams by, while a "data", "event", "id"
// or "retry" line fails with [ErrEventTooLarge].
//
// # Why not bufio.Scanner?
//
// bufio.Scanner stops for good on a too-long token, cannot express "CR, LF or
// CRLF, possibly split across reads" without look-ahead that delays an event
// until the next chunk arrives, and would still need a second pass to join
// data lines. The reader here keeps a one-bit "skip a leading LF" state
// instead of look-ahead, so an event is dispatched as soon as its blank line
// has arrived.
//
// The client-facing side uses [AppendSSE] to write events.
//
// [SSE]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
// [NDJSON]: https://github.com/ndjson/ndjson-spec
package framing
