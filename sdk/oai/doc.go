// Package oai is the hub's canonical wire form for provider plugins.
//
// Inside the hub every request and response is OpenAI JSON: chat completions
// (and their stream chunks), embeddings and image generations. A provider
// plugin reads the canonical request and writes the canonical response and
// chunks; this package holds what every adapter needs for that, so that no
// two plugins carry their own copy:
//
//   - append-only writers for chat completions, stream chunks, usage,
//     embeddings and image responses (no reflection, no intermediate maps:
//     a stream event costs a few appends);
//   - readers over the canonical request (messages, content parts, data
//     URLs, stop sequences, output caps, tool choice, tool arguments), built
//     on gjson;
//   - the gateway's mapping of an upstream HTTP failure to a normalized
//     [abi.Error] with its retryable flag and Retry-After hint;
//   - stable tool-call ids for providers whose wire format has none.
//
// Raw arguments named raw are JSON texts taken verbatim from the input (for
// example gjson.Result.Raw of a string), copied into the output without
// decoding and re-encoding them.
package oai
