// Command bedrock is the built-in Amazon Bedrock provider plugin: chat
// completions, streamed and not, over the Bedrock Runtime Converse API
// (POST /model/{modelId}/converse and /converse-stream), which serves every
// Bedrock model that takes messages (Anthropic Claude, Amazon Nova, Meta
// Llama, Mistral, Cohere, …) in one shape. The provider's base_url is
// https://bedrock-runtime.{region}.amazonaws.com (the preset fills in the
// region). The host signs each request with AWS Signature Version 4 for the
// service "bedrock" (auth "sigv4:bedrock") from an
// ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN] credential and the
// provider's region, and splits the binary AWS event-stream of
// ConverseStream into events (stream_framing "aws-eventstream"); the plugin
// never sees a secret. Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o bedrock.wasm .
//
// Request (OpenAI → Converse), choices made where the mapping leaves one:
//
//   - The model id goes in the path, escaped as one segment: every byte but
//     RFC 3986's unreserved characters is %-escaped, so
//     "anthropic.claude-3-5-haiku-20241022-v1:0" is sent as
//     "…-v1%3A0" and an inference-profile ARN's "/" as "%2F" (url.PathEscape
//     would leave ':' alone). The host's SigV4 signer escapes the escaped
//     path once more for the canonical request ("%253A"), as AWS requires
//     of every service but S3.
//   - system and developer messages, wherever they are, are hoisted into
//     "system": one {text} block per non-empty text part.
//   - Turns are merged so that roles alternate (MAPPING.md §2); tool
//     messages become toolResult blocks of a user turn, placed before that
//     turn's other blocks; an assistant turn's text comes before its
//     toolUse blocks. A conversation that does not start with a user turn
//     (or has none) gets a synthetic user turn whose text is ".". Empty text
//     is dropped and a turn left empty disappears.
//   - Images: only base64 data URLs (png, jpeg (also image/jpg), gif, webp)
//     → {image:{format, source:{bytes}}}; an https URL → 400 (Converse takes
//     bytes, and a plugin cannot fetch); other types → 400. A file part
//     with a data URL in file.file_data → a document block (pdf, csv, doc,
//     docx, xls, xlsx, html, txt, md; named after the file name reduced to
//     the characters Converse allows, or "document-<part>"); other files
//     and input_audio → 400. cache_control on a part (the Anthropic
//     extension) adds a {cachePoint:{type:"default"}} block after it.
//   - Assistant tool_calls → toolUse {toolUseId (the OpenAI id), name,
//     input}; arguments that are not a JSON object → 400 (not wrapped).
//     A tool message → toolResult {toolUseId, content}: string content is
//     one {text} block, an array's text and image parts are blocks, empty
//     content is an empty list; no status is sent. reasoning_content in
//     history is dropped.
//   - inferenceConfig: maxTokens from max_completion_tokens or max_tokens
//     (Converse needs none: the model's default applies), temperature and
//     topP as given (not clamped: the model's own range applies), stop →
//     stopSequences. A non-standard top_k → additionalModelRequestFields
//     {"top_k":…} (the name Anthropic models take). n > 1 → 400; seed,
//     penalties, logprobs, user, parallel_tool_calls, reasoning_effort and
//     the like are dropped (reasoning is model-specific on Bedrock: pass it
//     through the provider option additional_model_request_fields).
//   - tools → toolConfig.tools [{toolSpec:{name, description,
//     inputSchema:{json: parameters or {"type":"object","properties":{}}}}}];
//     a tool of a type other than function → 400. tool_choice auto →
//     {auto:{}}, required → {any:{}}, a function → {tool:{name}}, unset →
//     no toolChoice, none → no toolConfig at all (Converse has no "none").
//     Bedrock rejects a conversation holding toolUse/toolResult blocks
//     without a toolConfig, so a client that sends tool history must not
//     send tool_choice none.
//   - response_format json_schema → outputConfig.textFormat {type:
//     "json_schema", structure:{jsonSchema:{schema: the schema as a JSON
//     string, name, description}}} (Bedrock's structured output; models
//     without it answer 400 upstream); json_object and text are dropped.
//   - Per-provider options (the provider's options table in hub.toml):
//     additional_model_request_fields (an object merged into
//     additionalModelRequestFields; its top_k wins over the request's),
//     guardrail_config (sent as guardrailConfig) and performance_config
//     (sent as performanceConfig), all passed through verbatim. The plugin
//     takes no config of its own.
//
// Response and stream (Converse → OpenAI):
//
//   - id is "chatcmpl-" + the hub's request id (Converse returns none),
//     model the upstream model id, created the host clock at request time
//     (UnixMS/1000, carried in the state).
//   - text blocks are concatenated into content (null when there is none and
//     there are tool calls); toolUse blocks → tool_calls with the toolUseId
//     as id and arguments = the compact JSON of input; reasoningContent
//     → reasoning_content.
//   - stopReason: end_turn, stop_sequence → stop; tool_use → tool_calls;
//     max_tokens, model_context_window_exceeded → length;
//     guardrail_intervened, content_filtered → content_filter; anything
//     else → stop. A stop with tool calls is tool_calls.
//   - usage: prompt_tokens = inputTokens + cacheReadInputTokens +
//     cacheWriteInputTokens, because Bedrock's inputTokens, like
//     Anthropic's, counts only the tokens not read from or written to the
//     prompt cache (see testdata/README.md); cached_tokens =
//     cacheReadInputTokens, cache_write_tokens = cacheWriteInputTokens;
//     completion_tokens = outputTokens (which includes any reasoning;
//     Bedrock reports no reasoning count).
//   - Stream events: messageStart → the role chunk; contentBlockStart with
//     start.toolUse → a tool call's first delta (id, name, arguments "");
//     its OpenAI index is its ordinal among the toolUse blocks, not
//     Bedrock's contentBlockIndex; contentBlockDelta delta.text → content,
//     delta.toolUse.input → an arguments fragment (empty ones skipped; a
//     tool block without any gets "{}" at its contentBlockStop),
//     delta.reasoningContent.text → reasoning_content (signatures and
//     redacted reasoning are dropped); messageStop → the finish chunk;
//     metadata (Bedrock's last event) → usage, always reported to the host
//     and sent as the usage chunk when the client asked for it, then the
//     end of the stream. Unknown events are ignored.
//   - In-stream errors: an exception message (host event
//     "exception:<type>") ends the stream with a 502 after the chunks so
//     far: throttlingException (rate_limit_error),
//     serviceUnavailableException (upstream_overloaded),
//     internalServerException and modelStreamErrorException ("retry your
//     request", the API reference says) are retryable; validationException
//     (invalid_request_error) and the others are not. An error message
//     ("error:<code>") is a non-retryable upstream_error.
//   - Error responses ({"message":…} with x-amzn-ErrorType
//     "Name:http://internal.amazon.com/coral/…", or __type/code in the
//     body) → oai.Normalize: ThrottlingException and
//     ServiceQuotaExceededException → 429 rate_limit_error (retryable,
//     Retry-After honoured); ValidationException → 400
//     invalid_request_error (code context_length_exceeded for "too long"
//     inputs); AccessDeniedException, UnrecognizedClientException,
//     InvalidSignatureException, IncompleteSignatureException,
//     MissingAuthenticationTokenException, ExpiredTokenException → 502
//     upstream_auth_failed (the hub's credential; the message is not
//     passed on); ResourceNotFoundException → 404 model_not_found;
//     ModelNotReadyException, ServiceUnavailableException → 503
//     upstream_overloaded (retryable); InternalServerException,
//     ModelErrorException → 502 (retryable); ModelTimeoutException → 504
//     (retryable).
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
