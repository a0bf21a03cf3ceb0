// Package aigne is the hub's AIGNE Hub v2 surface, as pure conversions, so
// that AIGNE apps (the official client @aigne/aigne-hub 0.10.16 with
// @aigne/core, and @blocklet/aigne-hub's older calls) switch to this hub by
// changing only its URL. AIGNE requests become the hub's canonical form
// (OpenAI chat-completions, embeddings and images JSON), so any provider
// serves them; canonical answers, stream chunks and errors become the shapes
// the AIGNE clients read. The HTTP handlers (host/server) authenticate, call
// these and run the proxy engine.
//
// Every shape here was taken from the clients' compiled source and AIGNE
// Hub's public source (github.com/AIGNE-io/aigne-hub); the comments cite
// file and line.
//
// # Discovery
//
// The client never calls a fixed path: AIGNEHubChatModel first fetches
// GET <origin>/__blocklet__.js?type=json and looks for the component whose
// did is [HubDID]; its mountPoint, joined to the origin, is the base of
// every call. [Blocklet] answers with the hub as that component, mounted at
// "/". GET /api/ai/models (and /api/ai-providers/models) lists the models
// in the client's schema, prices as decimal credits per token
// ([ModelList]); GET /api/v2/status says whether the hub (or one model) can
// serve ([Status]).
//
// # POST /api/v2/chat (the AIGNE framework invoke format)
//
// The body is {input: ChatModelInput, agent: "$CHAT_MODEL", options:
// {streaming, userContext, memories, returnProgressChunks}}. [ChatToCanonical]
// converts it as @aigne/openai's OpenAIChatModel would build its request:
//
//   - model: input.modelOptions.model (or the body's "model", which old
//     clients send); the hub routes it, so "openai/gpt-4o-mini" and
//     "gpt-4o-mini" both work.
//   - messages: role agent → assistant (system, user, tool kept); content a
//     string, or parts: text → text, url → image_url, file (base64) →
//     image_url data URL for images (image/png when no MIME type is given),
//     a canonical file part (file_data) for other types; local → 400.
//     cacheControl on a part or a message → cache_control (the message's on
//     its last part). toolCalls (object arguments) → tool_calls (arguments
//     the JSON text); toolCallId → tool_call_id; name kept.
//   - tools → function tools (parameters default to an empty object
//     schema); toolChoice auto/none/required or a tool → tool_choice;
//     modelOptions.parallelToolCalls → parallel_tool_calls (both only with
//     tools).
//   - responseFormat json_schema {name, description, schema, strict} →
//     response_format json_schema; the answer's text then comes back parsed
//     as "json", which the client validates against the schema.
//   - modelOptions: temperature, topP → top_p, topK → top_k,
//     frequencyPenalty, presencePenalty, maxTokens → max_completion_tokens,
//     reasoningEffort (a level, or a token budget mapped to a level as
//     @aigne/openai does). modalities and cacheConfig have no canonical
//     equivalent and are dropped (the automatic cache breakpoints
//     @aigne/anthropic sets are not emulated: only explicit cacheControl
//     travels).
//   - options.streaming → stream with stream_options.include_usage.
//
// The non-stream answer ([ChatOutput]) is the ChatModelOutput itself:
// {text, thoughts, json, toolCalls (arguments parsed into objects), usage
// {inputTokens, outputTokens, cacheReadInputTokens,
// cacheCreationInputTokens, aigneHubCredits}, model}. The stream
// ([StreamEncoder]) is SSE "data: <AgentResponseDelta>" events, read by
// @aigne/core's EventStreamParser and AgentResponseStreamParser; a failure
// after the first event is "event: error" with {"message"} ([AppendErrorEvent]),
// which the parser turns into a thrown Error. Before any output, errors are
// HTTP errors with {"error":{"message","type","code"}} ([WriteError]), which
// @aigne/transport's BaseClient throws with that message and type. Running
// out of credits reads as type "NOT_ENOUGH", AIGNE Hub's credit error.
//
// # POST /api/v2/chat/completions (the legacy camelCase format)
//
// See [LegacyToCanonical]: {model, prompt | messages (toolCalls with string
// arguments, toolCallId, imageUrl parts), stream, temperature, topP,
// presencePenalty, frequencyPenalty, maxTokens, tools, toolChoice,
// responseFormat}, answered as SSE chunks when the client accepts
// text/event-stream, as bare text when it asks for a stream otherwise, or
// as one {role, text, content, toolCalls} object.
//
// # Embeddings and images
//
// POST /api/v2/embeddings takes {model, input} and answers {data}
// ([EmbeddingsToCanonical], [EmbeddingsOutput]). POST /api/v2/image takes
// the invoke format of AIGNEHubImageModel and answers an ImageModelOutput
// {images: [{type: url | file, …}], usage, model} ([ImageToCanonical],
// [ImageOutput]); POST /api/v2/image/generations is the legacy form
// ([ImageGenerationsToCanonical], [ImageGenerationsOutput]). Image editing
// has no canonical API and is a 400. Video (/api/v2/video) is not served.
package aigne
