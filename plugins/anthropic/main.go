// Command anthropic is the built-in Anthropic provider plugin: chat
// completions, streamed and not, over Anthropic's Messages API
// (POST /v1/messages). The provider's base_url is the API root WITHOUT
// /v1 (https://api.anthropic.com, the preset's default); the plugin adds
// /v1/messages. The host injects the key as x-api-key (auth
// "header:x-api-key"); the plugin never sees it. Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o anthropic.wasm .
//
// The canonical request (OpenAI chat-completions JSON) becomes a Messages
// request as shared/fixtures/MAPPING.md §1–5 and §9 describe, responses and
// SSE streams become canonical chat.completion objects and chunks (§6, §7),
// and error bodies become normalized errors (§8). All of it is read with
// gjson and written with appends; nothing is decoded into Go values.
//
// Request (OpenAI → Anthropic), choices made where the mapping leaves one:
//
//   - system and developer messages, wherever they are, are hoisted into the
//     top-level "system": one string (the messages joined by a blank line,
//     the text parts of one message concatenated), or text blocks, one per
//     part, when any system part carries cache_control.
//   - Turns are merged so that roles alternate; tool messages become
//     tool_result blocks of a user turn, placed before that turn's other
//     blocks; an assistant turn's text comes before its tool_use blocks. A
//     conversation that does not start with a user turn (or has none) gets
//     a synthetic user turn whose text is ".". A turn that is a single
//     plain text is sent as string content.
//   - Empty text is dropped (Anthropic rejects empty text blocks); a turn
//     left empty disappears. An empty messages array → 400. cache_control on a text, image or file part
//     passes through. A tool message with empty content is a tool_result
//     without content.
//   - Images: a base64 data URL → a base64 source (image/jpeg, png, gif,
//     webp; image/jpg is read as jpeg; other types → 400); an http(s) URL →
//     a url source; any other URL → 400; detail is dropped. A file part
//     with a PDF data URL → a base64 document block; other files, file_id
//     and input_audio → 400. Images in assistant messages → 400.
//   - Tool-call ids are reused; characters outside [A-Za-z0-9_-] (which
//     Anthropic rejects) become "_", identically in the call and in its
//     result. Arguments that are not a JSON object → 400 (not wrapped).
//     The client's reasoning_content in history is dropped (it has no
//     signature Anthropic would accept).
//   - max_tokens: max_completion_tokens or max_tokens; otherwise the
//     "default_max_tokens" setting (4096), lowered to the model's output
//     limit for models known to have a smaller one (Claude 3 family).
//   - temperature is clamped to 0–1; top_p and a non-standard top_k pass
//     through; stop → stop_sequences; user (or safety_identifier) →
//     metadata.user_id; n > 1 → 400; seed, penalties, logprobs,
//     logit_bias, service_tier, metadata and the like are dropped.
//   - tools → {name, description, input_schema} (parameters, or
//     {"type":"object","properties":{}}); "strict" is dropped (only newer
//     models accept it); a tool of a type other than function → 400.
//     tool_choice auto/required/none/function → auto/any/none/tool;
//     parallel_tool_calls → disable_parallel_tool_use (the negation) inside
//     tool_choice ({type:auto} when the client set no choice; not with
//     none). Without tools, tool_choice and parallel_tool_calls are dropped.
//   - reasoning_effort → thinking {type:"enabled", budget_tokens}: minimal
//     and low 1024, medium 4096, high 16384, xhigh 32768; none → no
//     thinking; another value → 400. When max_tokens ≤ budget, max_tokens
//     becomes budget + max_tokens. With thinking on, temperature and top_k
//     are dropped and top_p below 0.95 too (Anthropic rejects them). Thinking
//     is NOT enabled when tool_choice forces a call (required or a named
//     function), which Anthropic rejects with thinking, nor when the last
//     assistant turn has tool calls: Anthropic then requires that turn to
//     start with a signed thinking block, which an OpenAI client cannot
//     send back.
//   - response_format json_schema → output_config.format {type:
//     "json_schema", schema} (Anthropic's structured outputs; models without
//     it answer 400 upstream); json_object and text are ignored.
//   - stream is set from the request flags; model is the upstream model id.
//
// Response and stream (Anthropic → OpenAI):
//
//   - id is Anthropic's msg_… id, model Anthropic's model, created the host
//     clock at request time (UnixMS/1000, carried in the state).
//   - Text blocks are concatenated into content (null when there is none
//     and there are tool calls); tool_use blocks → tool_calls with
//     arguments = the compact JSON of input; thinking blocks →
//     reasoning_content; redacted_thinking and server-tool blocks are
//     dropped. A refusal keeps its text in content (finish_reason
//     content_filter).
//   - stop_reason: end_turn, stop_sequence, pause_turn → stop; tool_use →
//     tool_calls; max_tokens, model_context_window_exceeded → length;
//     refusal → content_filter; anything else → stop.
//   - Usage: input = input_tokens + cache_creation_input_tokens +
//     cache_read_input_tokens; cached = cache_read_input_tokens; cache
//     write = cache_creation_input_tokens; output = output_tokens;
//     reasoning = output_tokens_details.thinking_tokens when present.
//   - Streams: message_start → role chunk; text_delta → content;
//     thinking_delta → reasoning_content; tool_use block start → tool call
//     start with the OpenAI index counting tool_use blocks only;
//     input_json_delta → argument fragments (empty ones skipped; "{}" when a
//     tool block ends without any); message_delta → finish chunk;
//     message_stop → the usage chunk when the client asked for it, then
//     done (with a finish chunk "stop" first if no message_delta came).
//     Text deltas in Anthropic's fixed layout take a fast path of byte
//     comparisons (fast.go); anything else is read with gjson. String
//     literals are copied into chunks only when they are valid JSON, and
//     re-encoded otherwise. Usage is reported to the host at message_start and at every
//     message_delta, so an aborted stream is still metered. ping,
//     signature_delta, citations_delta and unknown events produce nothing.
//   - An in-stream "error" event ends the stream with a 502 whose type is
//     Anthropic's error type, retryable for overloaded_error,
//     rate_limit_error, api_error and timeout_error.
//
// Errors (oai.Normalize): 401/403 → 502 upstream_auth_failed without the
// provider's message; 529 or overloaded_error → 503 retryable; 429
// rate_limit_error → 429 rate_limit_exceeded, retryable, Retry-After
// honoured; 404 not_found_error → 404 (code model_not_found when the message
// names the model); 400 invalid_request_error passes through; 500 api_error
// → 502 retryable; 504 timeout_error → 504. billing_error, and a 400 whose
// message says the credit balance is too low, → 429 insufficient_quota,
// not retryable (the hub's account is out of credit: the same request only
// succeeds after someone pays).
//
// Config ([plugins.anthropic.config], all optional): "version" (the
// anthropic-version header, default 2023-06-01), "beta" (anthropic-beta: a
// string or an array of strings, joined with commas), "default_max_tokens"
// (default 4096). A provider's options table takes the same three keys and
// overrides the config key by key, so one module can serve Anthropic-
// compatible upstreams with other settings.
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
