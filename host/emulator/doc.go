// Package emulator is an in-process stand-in for the AI providers the hub
// talks to, so the hub and its provider plugins can be tested end to end
// and benchmarked without a network or an API key. One [Emulator] (an
// [http.Handler]) speaks each provider's own wire format, as recorded in
// shared/fixtures:
//
//	OpenAI and OpenAI-compatible (base URL http://host:port/v1), Authorization: Bearer
//	POST /v1/chat/completions            non-stream, SSE stream, tool calls, reasoning flavours
//	POST /v1/embeddings                  float and base64 (little-endian float32)
//	GET  /v1/models, /v1/models/{id}     the configured models
//	POST /v1/images/generations          OpenAI images; also doubao (Ark) and xAI models
//	     the same under /api/v1 (OpenRouter's base path) and /api/v3 (Ark's),
//	     and POST /chat/completions (DeepSeek's base URL has no /v1)
//
//	Anthropic (base URL http://host:port), x-api-key + anthropic-version
//	POST /v1/messages                    non-stream, SSE stream with event: lines
//
//	Gemini (base URL http://host:port/v1beta), x-goog-api-key or ?key=
//	POST /v1beta/models/{m}:generateContent
//	POST /v1beta/models/{m}:streamGenerateContent?alt=sse   data-only SSE, CRLF (a JSON array without alt=sse)
//	POST /v1beta/models/{m}:countTokens, :embedContent, :batchEmbedContents
//	POST /v1beta/models/{m}:predict      Imagen image models
//
//	Ollama (base URL http://host:port), no authentication
//	POST /api/chat                       NDJSON stream unless "stream": false
//	POST /api/embed, GET /api/tags, GET /api/version
//
//	AWS Bedrock runtime (base URL http://host:port), SigV4 or a bearer API key
//	POST /model/{modelId}/converse, /model/{modelId}/converse-stream (binary event stream)
//
//	Ideogram (base URL http://host:port), Api-Key
//	POST /v1/ideogram-v3/generate        multipart/form-data
//
//	GET  /emulator/images/….png          the PNG behind every image URL the emulator hands out
//
// Answers are deterministic: text cycles the words of Options.Answer,
// reasoning text cycles a fixed sentence, tool calls go to the first
// offered tool (or the forced one) when the last turn is the user's own
// words, with arguments made from the tool's JSON schema; token counts are
// derived from the request (prompt text bytes / 4, at least 1) and the
// number of words or argument fragments produced; IDs come from a
// per-instance sequence. Every image is the same 1x1 PNG.
//
// OpenAI bodies follow the OpenAI fixtures byte for byte in layout: key
// order, 2-space pretty success bodies, 4-space pretty edge errors,
// "data: <json>\n\n" SSE ending in "data: [DONE]", "usage": null on every
// chunk only with stream_options.include_usage, and "obfuscation" padding.
// On the chat endpoint, a model id containing "reasoner", or a request
// with reasoning_effort (not "none") to a model outside OpenAI's own gpt-5
// and o-series, gets reasoning text first, in reasoning_content (DeepSeek)
// or reasoning (OpenRouter, with the Reasoning-Field switch), counted in
// completion_tokens_details.reasoning_tokens; models whose id starts with
// "deepseek-" also report prompt_cache_hit_tokens and
// prompt_cache_miss_tokens.
//
// The other providers' bodies are built with encoding/json in their wire's
// key order:
//
//   - Anthropic: max_tokens is required; stop reasons end_turn, tool_use
//     (a text block, then the tool_use block), max_tokens (the answer
//     would exceed max_tokens) and stop_sequence (a stop_sequences entry
//     occurs in the answer, which is cut before it); thinking (enabled or
//     adaptive) adds a thinking block. Streams are message_start,
//     content_block_start, ping, deltas, content_block_stop, …,
//     message_delta with the cumulative usage, message_stop.
//   - Gemini: function calls have no ids; usageMetadata omits zero counts;
//     models whose id contains "thinking" or "2.5", or starts with
//     "gemini-3", report thoughtsTokenCount (unless thinkingBudget is 0)
//     and send thought parts with includeThoughts; a prompt containing
//     BLOCKME is blocked (promptFeedback, no candidates); MAX_TOKENS when
//     maxOutputTokens is smaller than the answer; parameters holding
//     JSON-Schema-only keywords (additionalProperties, …) are a 400.
//   - Ollama: "think" adds message.thinking; options.num_predict caps the
//     answer (done_reason length); tool_calls carry arguments as objects;
//     a model id with or without ":latest" is the same model; models
//     starting with "gemma" do not support tools.
//   - Bedrock: the SigV4 signature is recomputed with the AWS SDK's signer
//     over the received request (method, escaped path, query, the signed
//     headers, the body's SHA-256) with Options.AWSAccessKeyID and
//     AWSSecretAccessKey, the region and service taken from the credential
//     scope (which must name bedrock, within 5 minutes of now); a wrong
//     signature is 403 InvalidSignatureException, an unknown key 403
//     UnrecognizedClientException. A model id containing "not-ready" is
//     429 ModelNotReadyException. Usage inputTokens excludes cached
//     tokens, totalTokens includes them.
//   - Images: OpenAI sizes are validated per model family, gpt-image models
//     answer b64_json with usage and reject response_format; Imagen
//     :predict returns sampleCount (default 4) images per instance;
//     Ideogram validates num_images (1–8), aspect_ratio, rendering_speed,
//     style_type and seed, and a prompt containing BLOCKME is a 422.
//
// Unknown models (ids starting with "unknown", or not in Options.Models
// when it is set) get each provider's not-found error.
//
// # Switches
//
// Failure modes and timing are set for a whole instance through [Options],
// and per request through X-Emulator-* request headers, so that tests can
// share one emulator. They apply to every provider, errors in its shape:
//
//	X-Emulator-Latency: 50ms     delay before the response headers (bare number: ms)
//	X-Emulator-Chunks: 20        content chunks (stream) or words (non-stream)
//	X-Emulator-Pace: 5ms         delay between two stream events (bare number: ms)
//	X-Emulator-Status: 429       answer with this status and the provider's body for it
//	X-Emulator-Retry-After: 2    Retry-After header (seconds) on a forced status
//	X-Emulator-Quota: 1          a forced 429 is a quota error, not a rate limit
//	X-Emulator-Fail-After: 3     fail the stream after 3 events
//	X-Emulator-Hang: 1           never answer; wait until the client gives up
//	X-Emulator-Cached: 100       report 100 cached prompt tokens
//	X-Emulator-Reasoning-Field: reasoning   OpenRouter's reasoning field instead of reasoning_content
//
// Fail-After counts every stream event; 0 fails right after the response
// headers, and a count beyond the stream still fails it before it
// completes. OpenAI streams are cut (no [DONE]); the others end with their
// in-stream error: Anthropic's event: error (overloaded_error), Gemini's
// {"error":{…}} event (503 UNAVAILABLE), Ollama's {"error":…} line, and a
// Bedrock exception message (internalServerException, throttlingException
// with Quota). A non-stream answer sends half its body and cuts.
//
// Cached tokens come on top of the prompt tokens the emulator counts, in
// each provider's usage shape: OpenAI prompt_tokens_details.cached_tokens
// (within prompt_tokens), Anthropic cache_read_input_tokens (input_tokens
// excludes them), Gemini cachedContentTokenCount (within
// promptTokenCount), Bedrock cacheReadInputTokens (inputTokens excludes
// them); Ollama leaves them out of prompt_eval_count, as a KV-cache hit
// does.
//
// Switches apply in this order: latency, hang, authentication, forced
// status. Image downloads ignore the forced status.
//
// # Recording
//
// With Options.Record set, the emulator keeps the most recent requests
// (method, path and escaped path, query, headers with their credentials,
// body) in a ring buffer; [Emulator.Requests] returns them and
// [Emulator.Reset] clears them. A test can so assert which key the hub
// injected, how it signed and what it forwarded.
//
// # Speed
//
// The hub's benchmarks run against the OpenAI chat endpoint, so its hot
// path builds bodies with append and strconv from pre-escaped pieces
// instead of encoding/json, reuses pooled buffers, and decodes only the
// request fields it needs.
package emulator
