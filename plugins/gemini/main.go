// Command gemini is the built-in Google Gemini provider plugin (Generative
// Language API, v1beta): chat completions (streamed and not), embeddings and
// image generations, translated between the hub's canonical OpenAI JSON and
// Gemini's wire format. The hub's provider is "google" (alias "gemini");
// build the plugin with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o gemini.wasm .
//
// # Endpoints
//
// The provider's base_url is https://generativelanguage.googleapis.com,
// without a version: the plugin's paths carry it (/v1beta by default; the
// api_version option changes it). The host injects the key as the
// x-goog-api-key header.
//
//	chat           POST /v1beta/models/{model}:generateContent
//	chat, stream   POST /v1beta/models/{model}:streamGenerateContent?alt=sse
//	embeddings     POST /v1beta/models/{model}:batchEmbedContents
//	images         POST /v1beta/models/{model}:predict          (imagen-* models)
//	               POST /v1beta/models/{model}:generateContent  (other models,
//	               e.g. gemini-2.5-flash-image, with responseModalities IMAGE)
//
// # Chat requests (OpenAI → Gemini, MAPPING.md §1–5)
//
//   - system and developer messages, wherever they are, are hoisted into
//     systemInstruction (one text part per message). A conversation of only
//     system messages sends them as the user turn instead.
//   - assistant → model; tool results → functionResponse parts of a user
//     turn; consecutive turns of one role are merged; a conversation that
//     starts with a model turn gets a synthetic user turn {"text":"."}.
//   - A tool result's name comes from the tool_call_id (oai.ToolNames), or
//     the message's own "name"; no match is a 400. Its content is sent as the
//     response object when it is a JSON object, else as {"result":"<text>"}.
//   - Assistant tool_calls become functionCall parts; arguments that are not
//     a JSON object are a 400 (no {"_raw"} wrapping).
//   - Images: a data URL becomes inlineData; a Files-API URI
//     (https://generativelanguage.googleapis.com/…/files/…) becomes fileData;
//     any other URL is a 400 ("Gemini needs inline images; send a data URL"):
//     a plugin cannot fetch. input_audio and file parts become inlineData
//     (file_data a data URL, or bare base64 taken as a PDF); file_id and
//     unknown part types are a 400. Empty text parts are dropped (Gemini
//     rejects them), as are refusal parts of past assistant messages.
//   - Tools: all functions go in one Tool's functionDeclarations. parameters
//     are sanitized to Gemini's OpenAPI subset by an allowlist (type,
//     format (enum/date-time/int32/int64/float/double), title, description,
//     nullable, enum (strings only), const → enum, properties, required,
//     items, anyOf/oneOf → anyOf, min/max*, pattern, default, example,
//     propertyOrdering; a type array ["x","null"] becomes type x +
//     nullable). A schema using $ref, or every schema when the
//     function_schema option is "json_schema", is sent verbatim as
//     parametersJsonSchema instead. An object schema without properties is
//     omitted (Gemini rejects an empty OBJECT).
//   - tool_choice → toolConfig.functionCallingConfig: auto AUTO, none NONE,
//     required ANY, a named function ANY + allowedFunctionNames.
//     parallel_tool_calls has no equivalent and is ignored.
//   - generationConfig: max_completion_tokens/max_tokens → maxOutputTokens,
//     temperature, top_p → topP, top_k → topK, stop → stopSequences, n →
//     candidateCount (n > 1 with stream is a 400: the canonical stream has
//     one choice), seed, presence_penalty, frequency_penalty;
//     response_format json_object → responseMimeType application/json,
//     json_schema → that plus responseJsonSchema (the schema verbatim).
//   - reasoning_effort → thinkingConfig: none → thinkingBudget 0; minimal
//     512, low 1024, medium 8192, high/xhigh 24576, each with
//     includeThoughts true (so the thoughts come back as reasoning_content;
//     the include_thoughts option turns that off). Other values are a 400.
//   - Ignored: logprobs, top_logprobs, user, metadata, store, service_tier,
//     modalities, audio, prediction, web_search_options.
//
// # Thought signatures
//
// Gemini's thoughtSignature on a functionCall part is returned to the client
// as tool_calls[i].extra_content.google.thought_signature (the convention of
// Google's own OpenAI-compatible endpoint), and read back from there when the
// client replays the assistant message. A replayed call without one, sent to
// a Gemini 3 or later model (which rejects unsigned calls), gets Google's
// documented placeholder "skip_thought_signature_validator" on the first
// call of each model turn (option thought_signature_fallback forces it on or
// off). Signatures on text parts are dropped.
//
// # Responses (Gemini → OpenAI, MAPPING.md §6)
//
// id = responseId (else "chatcmpl-" and a stable hash of the request id),
// model = modelVersion, created = the host's clock. One choice per
// candidate; text parts concatenated, thought parts → reasoning_content,
// functionCall parts → tool_calls with ids oai.ToolCallID(request id,
// ordinal) (ordinals count calls across the response, or the stream).
// finishReason: STOP → stop (tool_calls when the candidate made calls),
// MAX_TOKENS → length, SAFETY, RECITATION, BLOCKLIST, PROHIBITED_CONTENT,
// SPII and IMAGE_* blocks → content_filter, anything else (including
// MALFORMED_FUNCTION_CALL) → stop. A blocked prompt (no candidates,
// promptFeedback.blockReason) is a completion with empty content and
// finish_reason content_filter. Usage: prompt = promptTokenCount +
// toolUsePromptTokenCount, cached = cachedContentTokenCount, completion =
// candidatesTokenCount + thoughtsTokenCount, reasoning = thoughtsTokenCount
// (Gemini omits zero counts). Image (inlineData) parts of a chat answer are
// dropped.
//
// # Streams
//
// Gemini's SSE stream has no terminator: it ends when the connection
// closes. Every event is a whole GenerateContentResponse with the new text,
// whole function calls and cumulative usage. The plugin emits the role
// chunk on the first event, content / reasoning_content deltas, one whole
// tool-call delta per functionCall (index k counting calls across the
// stream), and, on the event that carries finishReason (which also carries
// the final usageMetadata), the finish chunk, the usage chunk when the
// client asked for it, and StreamDone. usageMetadata is reported to the
// host on every event (the last wins); the usage chunk shows the final
// event's usageMetadata. A stream whose connection closes
// before a finishReason is therefore a broken stream for the host, as it
// should be. An {"error":…} event ends the stream with oai.StreamError.
// Text and thought events in Gemini's usual layout are read by fast paths
// (fast.go, scan.go) that need no gjson; every other event is read with
// gjson, and tests hold all readers to the same output.
//
// # Embeddings
//
// input (a string or an array of strings; token arrays are a 400) → one
// batchEmbedContents request per input with model "models/{model}",
// dimensions → outputDimensionality, and the embedding_task_type option →
// taskType. Vectors are written as floats or, for encoding_format base64,
// as little-endian float32 base64. Gemini reports no usage, so prompt
// tokens are estimated as ceil(input bytes / 4).
//
// # Images
//
// prompt, n and size → Imagen's {"instances":[{"prompt"}],"parameters":
// {"sampleCount","aspectRatio"}} (or, for Gemini image models, a
// generateContent with responseModalities IMAGE and imageConfig.aspectRatio;
// n > 1 is a 400 there). size maps to the nearest aspect ratio the model
// supports (1024x1024 → 1:1, 1792x1024 → 16:9, 1024x1792 → 9:16, …).
// Gemini returns bytes, never URLs: images are b64_json, and when the client
// asked for response_format "url" each is returned as a data: URL in "url".
// Filtered images are skipped; when none is left the answer is a 400
// content_policy_violation. Usage.Images counts the images.
//
// # Errors
//
// Google's {"error":{code,message,status,details}} goes through
// oai.Normalize: API_KEY_INVALID (a 400 upstream) and 401/403 → 502
// upstream_auth_failed; RESOURCE_EXHAUSTED → 429 rate_limit_error,
// retryable, with Retry-After from the header or the RetryInfo retryDelay;
// UNAVAILABLE → 503 upstream_overloaded; NOT_FOUND → 404 model_not_found;
// INTERNAL and other 5xx → 502; other 4xx pass through.
//
// # Configuration
//
// Plugin config ([plugins.gemini.config]) and per-provider options (the
// provider's options table; options win) accept: headers (extra request
// headers, config only), api_version ("v1beta"), function_schema
// ("parameters" or "json_schema"), include_thoughts (bool),
// thought_signature_fallback (bool), safety_settings (Gemini's
// safetySettings array, sent verbatim), embedding_task_type (e.g.
// "RETRIEVAL_DOCUMENT").
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
