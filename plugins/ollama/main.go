// Command ollama is the built-in Ollama provider plugin: chat completions
// (streamed as NDJSON and not), embeddings and the model list, over
// Ollama's native API (/api/chat, /api/embed, /api/tags) of a local server
// or of Ollama's cloud. base_url is the server's root, without /api (e.g.
// http://127.0.0.1:11434). A local server needs no credential: the host
// sends none when the provider has none; Ollama's cloud takes a bearer key,
// which the host injects. Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ollama.wasm .
//
// The canonical request (OpenAI chat-completions JSON) becomes an Ollama
// chat request as shared/fixtures/MAPPING.md describes: roles kept
// (developer → system), text parts concatenated, data-URL images as raw
// base64 in the message's "images", tool-call arguments as objects, tool
// results with tool_name looked up from the call id, sampling parameters in
// "options", response_format as "format", reasoning_effort as "think", and
// "stream" always sent explicitly (Ollama streams by default). Responses and
// NDJSON stream lines become canonical chat.completion objects and chunks;
// {"error": …} bodies and lines become normalized errors. Text and thinking
// lines in Ollama's own layout take a fast path (fast.go) that reads them
// without gjson; every other line is read with gjson, and tests hold both
// readers to the same output.
//
// Choices made where the mapping leaves one:
//
//   - reasoning_effort → think: "low"/"medium"/"high" as the level string
//     (what Ollama's own /v1 layer sends for reasoning_effort), "minimal" →
//     "low", "xhigh" → "high", "none" → false;
//     another value is a 400. Without reasoning_effort, a non-standard
//     top-level "think" (bool or level) the client sent passes through.
//   - Tool-call arguments that are not a JSON object → 400 (Ollama needs an
//     object; nothing is wrapped).
//   - An https image URL (or a data URL that is not base64) → 400: the
//     plugin has no network to fetch it; send a base64 data URL.
//     input_audio and file parts → 400; an assistant turn's refusal parts
//     count as text; assistant reasoning_content is sent back as thinking.
//   - tool_choice "none" omits the tools; a named function sends only that
//     tool (Ollama cannot force a call); "required" sends the tools as
//     "auto" would (Ollama cannot force a call either).
//   - n > 1 → 400 (Ollama answers one choice). Non-standard top_k passes
//     into options; user, parallel_tool_calls, logprobs and the like are
//     dropped.
//   - Embeddings: input a string or an array of strings (token arrays →
//     400), dimensions, and a non-standard truncate; encoding_format
//     "base64" is encoded here from Ollama's floats.
//   - Models: GET /api/tags → {"object":"list","data":[{"id": name,
//     "object":"model","created": modified_at,"owned_by":"ollama"}]}.
//   - The response id is "chatcmpl-" + the hub's request id; created is the
//     first line's created_at (the host clock when it cannot be parsed).
//   - Usage: prompt_eval_count → input tokens (missing ⇒ 0), eval_count →
//     output tokens (thinking included). Ollama reports no cached or
//     reasoning token counts, so both stay 0.
//
// Config ([plugins.ollama.config], all optional): keep_alive (string such
// as "5m" or seconds), num_ctx (int), options (object of extra Ollama
// options such as repeat_penalty), headers (extra request headers). A
// provider's options table takes keep_alive, num_ctx and options too, and
// overrides the config key by key; values the request sets win over both,
// and num_ctx wins over an options.num_ctx.
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
