// Package conformance is the plugin conformance kit: it runs a plugin's
// real .wasm module in the hub's own runtime (package runtime, as [runtime.Load]
// loads it for a hub, untrusted) and checks what every plugin must do,
// whatever language it is written in. `hub plugin test FILE.wasm` runs it;
// [Run] is the same from Go.
//
// # Checks
//
// Each check has a stable name and ends PASS, FAIL or SKIP (not applicable):
//
//   - load: the module validates (imports, exports, ABI marker), instantiates
//     and describes itself; nothing else runs when it fails.
//   - manifest: the manifest is ABI 1 with a kind, a name ([a-z0-9_-]), a
//     version, and for a provider known APIs, a valid auth scheme and stream
//     framing; a billing policy declares none of those.
//   - fixture/CASE: one per fixture case: the plugin's answers to the case's
//     inputs equal the case's golden want.json (see below), and obey the ABI:
//     canonical bodies and chunks are JSON, a settlement's items add up to its
//     amount, amounts and holds are not negative.
//   - stream-boundaries: every stream case's upstream body, framed by the
//     host's own framer (package framing) after being split at adversarial
//     boundaries — one byte at a time, inside every multi-byte UTF-8 rune,
//     inside every "data:" field name, with CRLF line ends split between CR
//     and LF, at random cuts — and handed to the plugin one event per call,
//     all events in one call, or in random batches, gives the same chunks,
//     usage, end and error. (The framer makes the split invisible to the
//     plugin, which only ever sees whole events: what the ABI exposes to the
//     plugin is how the events are batched.)
//   - determinism: every case run again on the same instance and on a
//     freshly loaded module gives byte-identical results, opaque state
//     included.
//   - memory: Options.Calls calls (100,000 by default) cycling through the
//     cases on one instance: after a warm-up (a tenth of the calls) the
//     instance's linear memory grows by at most Options.MemoryGrowth, and the
//     instance is never recycled or discarded. A Go plugin whose exports do
//     not let the garbage collector run fails it.
//   - deadline: a call on a large input (a request body of a megabyte; a
//     quote naming a model as long), given less time than it needs, is
//     stopped at its deadline with a timeout error, not run to completion,
//     and the plugin serves the next call as before.
//   - memory-limit: loaded with a small memory limit (Options.MemoryLimit,
//     16 MiB by default) every case still gives the same results, an input
//     larger than the limit fails as an error (never a host crash or a
//     success), and the plugin serves the next call as before.
//
// # Fixtures
//
// The fixtures directory (by default testdata/conformance next to the .wasm
// file, the layout `hub plugin new` generates) holds one directory per case,
// run in name order. A case directory holds:
//
//   - case.json: what the host sends (required; unknown keys are errors).
//   - upstream.json, upstream.txt, upstream.sse, upstream.ndjson or
//     upstream.eventstream (providers, optional): the upstream's body, handed
//     to hub_response (a non-stream case) or framed and handed to
//     hub_stream_event (a stream case; the suffix must match the manifest's
//     stream_framing). Without one, only hub_request runs.
//   - want.json: the golden answers. `hub plugin test -update` writes it from
//     what the plugin answered; review it before committing it.
//
// A provider case.json:
//
//	{
//	  "api": "chat.completions",     // RequestIn.api; default chat.completions
//	  "model": "gpt-4o-mini",        // RequestIn.model (no provider/ prefix)
//	  "stream": true,                // flag STREAM; the upstream body is a stream
//	  "include_usage": true,         // flag INCLUDE_USAGE
//	  "request_id": "req-1",         // default "conformance-CASE"
//	  "provider": "acme",            // default the plugin's manifest name
//	  "options": {},                 // the provider's options; default {}
//	  "time": 1700000000000,         // Unix ms; default 1700000000000
//	  "body": {"model": "…", …},     // the canonical (OpenAI) request; omit for "models"
//	  "upstream": {"status": 200, "headers": ["Content-Type: application/json"]}
//	}
//
// and its want.json:
//
//	{
//	  "request":  {"method": "POST", "path": "/chat/completions",
//	               "headers": ["Content-Type: application/json"], "body": {…}},
//	  "response": {"body": {…}, "usage": {"input_tokens": 9, …}},
//	  "stream":   {"chunks": [{…}, …], "usage": {…}, "done": true}
//	}
//
// A billing case.json has a "quote" (QuoteIn: account_id, key_id, api,
// provider, model, requested_model, est_input_tokens, max_output_tokens,
// images, time, rate, balance, charged_today) and/or a "settle" (SettleIn:
// the same ids and names, time, rate, charged_today, held — default the
// quote's hold —, usage, estimated, aborted); a rate is {"input_per_m",
// "output_per_m", "cached_read_per_m", "cache_write_per_m", "per_image",
// "min_per_call"} or absent (the model has no rate). Its want.json has
// "quote" ({"allow", "reason", "hold", "code"}) and "settle" ({"amount",
// "items": [{"name", "quantity", "amount"}]}). Anywhere an answer may be the
// plugin's error, want.json holds {"error": {…}} (sdk/ABI.md §4) instead.
//
// Bodies that are JSON are compared as JSON values (key order and spacing do
// not matter); other bodies ("body_text") byte for byte; headers as the exact
// list, in order. Money and token counts are int64.
package conformance
