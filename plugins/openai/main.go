// Command openai is the built-in OpenAI provider plugin: chat completions,
// streamed and not, against api.openai.com or any OpenAI-compatible server
// (the host supplies base_url and injects the bearer credential; the plugin
// never sees a secret). Build it for the hub with
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
