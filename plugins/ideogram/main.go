// Command ideogram is the built-in Ideogram provider plugin: OpenAI image
// generation (POST /v1/images/generations) served by Ideogram 3.0's
// "Generate" endpoint, POST /v1/ideogram-v3/generate on
// https://api.ideogram.ai. The host injects the key as the Api-Key header;
// the plugin never sees it. Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o ideogram.wasm .
//
// # Request
//
// The canonical request {model, prompt, n, size, quality, style,
// response_format, user} becomes a multipart/form-data body that the plugin
// writes itself (deterministic: the boundary is "hub-" and the request id's
// letters, digits, '-' and '_', lengthened only if a value contains it).
// Parts, in this order, each only when it has a value:
//
//	prompt           the prompt
//	num_images       n (default 1; 1..10 is passed on, and Ideogram answers
//	                 its own 400 above its limit, 8 at the time of writing)
//	aspect_ratio     from size, see below; or the client's aspect_ratio
//	resolution       the client's resolution (instead of aspect_ratio)
//	rendering_speed  see below
//	magic_prompt     the client's magic_prompt, else the configured default (AUTO)
//	style_type       from style, see below; or the client's style_type
//	style_preset     the client's style_preset
//	negative_prompt  the client's negative_prompt
//	seed             the client's seed (an integer 0..2147483647)
//
// negative_prompt, seed, aspect_ratio ("16x9" or "16:9"), resolution
// ("1344x768"), rendering_speed, magic_prompt, style_type and style_preset
// are Ideogram parameters a client may add to the OpenAI body; enum values
// are upper-cased and otherwise left to Ideogram to validate. user,
// background, moderation, output_format and output_compression have no
// Ideogram counterpart and are ignored.
//
// size "WxH" maps to the supported aspect ratio nearest to W/H (compared as
// logarithms, so 2:1 and 1:2 are equally far from 1:1). For OpenAI's sizes:
//
//	256x256, 512x512, 1024x1024  1x1
//	1792x1024 (and 1344x768)     16x9
//	1024x1792                    9x16
//	1536x1024                    3x2
//	1024x1536                    2x3
//	1280x800                     16x10
//	1152x896                     5x4
//
// The supported ratios are 1x3 3x1 1x2 2x1 9x16 16x9 10x16 16x10 2x3 3x2
// 3x4 4x3 4x5 5x4 1x1. size "auto" or absent sends no aspect_ratio
// (Ideogram's default, 1x1); a size that is not "WxH" is a 400.
//
// rendering_speed, first that applies: the operator's rendering_speed
// (provider options, then plugin config) forces it; a model suffix
// (ideogram-v3-turbo, V_3_QUALITY, …) picks it; the client's
// rendering_speed; quality "low" → TURBO, "standard"/"medium" → DEFAULT,
// "hd"/"high" → QUALITY ("auto" or absent: Ideogram's default, DEFAULT).
// Another quality is a 400, even when it would not decide the speed.
//
// style "natural" → REALISTIC, "vivid" → GENERAL (Ideogram's own default,
// its closest match to DALL-E 3's dramatic default); Ideogram's own style
// types (auto, general, realistic, design, fiction) are accepted in any
// case. Another style is a 400 (as is a malformed size), even when the
// client's style_type (or aspect_ratio) takes precedence.
//
// Models: the v3 endpoint has no model field, so the model only selects the
// endpoint. Accepted (case, '-', '_', '.' and spaces ignored): V_3,
// ideogram-v3, ideogram-3.0, v3, each optionally suffixed -turbo, -flash,
// -default or -quality (which sets rendering_speed). Anything else (V_2,
// ideogram-v4, …) is a 400 invalid_request_error, code model_not_supported.
//
// response_format "b64_json" cannot be honoured: Ideogram returns
// short-lived URLs and a plugin cannot fetch them. It is a 400 (param
// response_format) unless the operator sets url_for_b64_json, in which
// case the URLs are returned anyway.
//
// # Response
//
// {"created":"<RFC 3339>","data":[{url,prompt,resolution,is_image_safe,seed,
// style_type}]} becomes {"created":<unix seconds>,"data":[{"url":…}]}, with
// "revised_prompt" when Ideogram's prompt differs from the client's (magic
// prompt rewrote it). created falls back to the host's clock at request
// time. Images with is_image_safe false (or without a URL) are dropped; when
// none remain the answer is a 400 invalid_request_error with code
// content_policy_violation, as OpenAI answers a rejected prompt. Usage
// reports Images = the number of images returned.
//
// # Errors
//
// Ideogram answers {"error":"…"}, {"detail":"…"}, a validation
// {"detail":[{"loc":[…],"msg":…}]} or plain text. They go through
// oai.Normalize: 400 and validation 422 pass through with the message; a
// 422 safety rejection becomes a 400 content_policy_violation; 401/403 are
// the hub's credential failing (502 upstream_auth_failed); 402 (no credit)
// is a 429 insufficient_quota, not retryable; 429 is retryable with
// Retry-After; 5xx are retryable 502s.
//
// # Configuration
//
// Plugin config ([plugins.ideogram.config]) and per-provider options (which
// override the config key by key):
//
//	rendering_speed   "FLASH", "TURBO", "DEFAULT" or "QUALITY": forced on
//	                  every request (cost control); unset by default
//	magic_prompt      "AUTO" (default), "ON" or "OFF": the default when the
//	                  client sends none
//	url_for_b64_json  true: answer a b64_json request with URLs instead of a 400
//
// Ideogram does not stream: StreamEvent always fails, and a stream request
// is a 400.
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
