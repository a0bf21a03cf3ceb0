// Command openai is the built-in OpenAI provider plugin: chat completions,
// streamed and not, embeddings, image generation and the model list, against
// api.openai.com or any OpenAI-compatible server (the host supplies base_url
// and injects the bearer credential; the plugin never sees a secret).
//
// One module serves every OpenAI-compatible provider: the provider's options
// (abi.RequestIn.Options) name a flavor — openai, compatible, deepseek, xai,
// openrouter, doubao, poe — whose quirks it applies (see flavor.go): DeepSeek
// rejects its own reasoning_content sent back in history; OpenRouter takes
// attribution headers and a provider-routing object and calls reasoning
// "reasoning"; xAI's image API takes no size; Doubao watermarks images unless
// told not to; each flavor serves only the APIs its upstream has.
//
// Build it for the hub with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o openai.wasm .
//
// The canonical request inside the hub is OpenAI chat-completions JSON, so
// this plugin is mostly a careful pass-through: it sets the upstream model
// id, asks for stream usage (stream_options.include_usage) so every call is
// metered, strips that usage chunk again when the client did not ask for it,
// extracts usage, and normalizes upstream errors.
package main

import "github.com/aignehub/hub/sdk/provider"

func init() { provider.Register(newPlugin(provider.Config())) }

// main is required by the Go toolchain; a reactor module never runs it.
func main() {}
