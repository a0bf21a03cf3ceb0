// Package emulator is an in-process stand-in for the OpenAI API, so the hub
// can be tested and benchmarked without a network or an API key.
//
// An [Emulator] is an [http.Handler] serving, under the /v1 prefix (point a
// provider's base URL at http://host:port/v1):
//
//	POST /v1/chat/completions   non-stream, SSE stream, tool calls
//	POST /v1/embeddings         float and base64 (little-endian float32)
//	GET  /v1/models             the configured models
//	GET  /v1/models/{id}        one model
//
// Every body follows the wire format of the OpenAI fixtures in
// shared/fixtures/openai: key order, 2-space pretty success bodies, 4-space
// pretty edge errors with a trailing newline, "data: <compact json>\n\n" SSE
// framing ending in "data: [DONE]", "usage": null on every chunk only when
// stream_options.include_usage is set, and an "obfuscation" padding field.
// Answers are deterministic: the text cycles the words of Options.Answer,
// token counts are derived from the request (content bytes / 4, at least 1)
// and the number of words or argument fragments produced, and IDs come from
// a per-instance sequence.
//
// # Switches
//
// Failure modes and timing are set for a whole instance through [Options],
// and per request through X-Emulator-* request headers, so that tests can
// share one emulator:
//
//	X-Emulator-Latency: 50ms     delay before the response headers (bare number: ms)
//	X-Emulator-Chunks: 20        content chunks (stream) or words (non-stream)
//	X-Emulator-Pace: 5ms         delay between two stream events (bare number: ms)
//	X-Emulator-Status: 429       answer with this status and its fixture body
//	X-Emulator-Retry-After: 2    Retry-After header (seconds) on a forced status
//	X-Emulator-Quota: 1          a forced 429 is insufficient_quota, not rate_limit_exceeded
//	X-Emulator-Fail-After: 3     cut the connection after 3 SSE events, no [DONE]
//	X-Emulator-Hang: 1           never answer; wait until the client gives up
//
// Fail-After counts every SSE event, the role chunk included; 0 cuts right
// after the response headers, and a count beyond the stream still cuts it
// before [DONE]. On a non-stream answer it sends half the body. Switches
// apply in this order: latency, hang, authentication, forced status.
//
// # Recording
//
// With Options.Record set, the emulator keeps the most recent requests
// (method, path, headers with Authorization, body) in a ring buffer;
// [Emulator.Requests] returns them and [Emulator.Reset] clears them. A test can so assert which key the hub
// injected and what it forwarded.
//
// # Speed
//
// The hub's benchmarks run against this handler, so the hot path builds its
// bodies with append and strconv from pre-escaped pieces instead of
// encoding/json, reuses pooled buffers, and decodes only the request fields
// it needs.
package emulator
