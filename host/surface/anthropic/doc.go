// Package anthropic is the hub's Anthropic Messages surface, as pure
// conversions: an inbound POST /v1/messages body becomes the hub's
// canonical request (OpenAI chat-completions JSON), so that any provider
// serves it; the canonical response, stream chunks and errors become
// Anthropic's message JSON, SSE events and error bodies. The HTTP handler
// (host/server) authenticates, calls these and runs the proxy engine.
//
// The mapping follows shared/fixtures/MAPPING.md and is the inverse of the
// built-in anthropic provider plugin (plugins/anthropic), so that a request
// that comes in as Anthropic and goes out to Anthropic keeps its meaning.
//
// # Request (Anthropic → canonical)
//
//   - model, stream (with stream_options.include_usage, so the engine
//     always gets the usage chunk), temperature, top_p and stop_sequences
//     (→ stop) are carried over; top_k is kept as the hub's non-standard
//     canonical top_k (read by the anthropic, gemini, bedrock and ollama
//     plugins); max_tokens, which Anthropic requires, becomes
//     max_completion_tokens (the field every current OpenAI model
//     accepts); metadata.user_id → user.
//   - system, a string or text blocks, becomes the first message, role
//     system: a string, or text parts when it has several blocks or a block
//     has cache_control.
//   - user turns: text → text parts (cache_control kept, as the canonical
//     form carries it); image with a base64 source → an image_url part
//     with a data URL, with a url source → an image_url part with the URL;
//     document with a base64 PDF → a file part (file_data data URL), with a
//     plain-text or content source → text (and image) parts; a document by
//     URL or file id is a 400; tool_result blocks → role tool
//     messages (tool_call_id = tool_use_id), placed before the turn's other
//     content, with string content, text blocks joined by "\n", or text and
//     image parts when the result holds an image. is_error has no canonical
//     equivalent and is dropped. A turn of a single plain text is sent as a
//     string.
//   - assistant turns: text blocks are concatenated into content; tool_use
//     → tool_calls (id kept, input → the arguments string); thinking →
//     reasoning_content (its signature is dropped); redacted_thinking is
//     dropped.
//   - tools (custom tools, with or without type "custom") → function tools
//     (input_schema → parameters, strict kept); Anthropic's server tools
//     (web search, bash, text editor, …) are a 400: no canonical provider
//     runs them. tool_choice auto/any/tool/none → auto/required/{function}/
//     none and disable_parallel_tool_use → parallel_tool_calls false; both
//     only when there are tools, as OpenAI rejects them otherwise.
//   - thinking {type: enabled, budget_tokens} → reasoning_effort: below
//     4096 low, below 16384 medium, else high (the plugin maps these back to
//     1024, 4096 and 16384); adaptive → medium; disabled → none set.
//     output_config.effort (low, medium, high; max → high) wins over it;
//     output_config.format json_schema → response_format json_schema.
//   - Validation follows Anthropic's rules and message style ("max_tokens:
//     Field required"); unknown top-level members are ignored.
//
// # Response (canonical → Anthropic)
//
// Content blocks come in the order thinking (reasoning_content), text,
// tool_use (arguments parsed into input; arguments that are not a JSON
// object are kept as {"_raw": "<arguments>"}). finish_reason stop →
// end_turn, length → max_tokens, tool_calls → tool_use, content_filter →
// refusal. The matched stop sequence is not known to the canonical form:
// stop_sequence is always null and a stop by a stop sequence reads as
// end_turn. Usage: input_tokens = prompt_tokens − cached − cache-write
// tokens (Anthropic's input excludes them), cache_read_input_tokens =
// cached_tokens, cache_creation_input_tokens = cache_write_tokens,
// output_tokens = completion_tokens. The message id is the upstream's when
// it is an Anthropic one (msg_…), else one made from the hub's request id;
// model is the upstream's model.
//
// # Stream
//
// [StreamEncoder] writes Anthropic's exact event sequence: message_start
// (input_tokens there is the caller's estimate, as the canonical usage
// only comes at the end), content_block_start, ping (once, after the
// first block start), content_block_delta (text_delta, thinking_delta,
// input_json_delta), content_block_stop, then message_delta with
// stop_reason and the exact cumulative usage (input, cache and output
// tokens, as current Anthropic streams repeat them) and message_stop. A
// failure after the first event is an "event: error" and the stream ends
// without message_stop.
//
// # Errors
//
// Errors are {"type":"error","error":{"type","message"},"request_id"} with
// Anthropic's status codes and types (see [ErrorStatus]); Retry-After is
// kept.
//
// # count_tokens
//
// [CountTokens] is a local estimate, as no tokenizer for Claude is
// available offline; see its documentation for the method.
// [EstimateTokens] is the same estimate for message_start.
package anthropic
