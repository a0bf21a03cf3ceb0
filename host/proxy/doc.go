// Package proxy is the hub's request path after a surface has parsed and
// authenticated a call: route the model to a provider, let the provider's
// Wasm plugin build the upstream request, send it with the host's own HTTP
// client (the host injects the credential; the plugin never sees it), hand
// the response, or the stream framed into whole events, back to the plugin,
// write canonical output to the client through a Sink, and record the call.
//
// The canonical wire form inside the hub is OpenAI chat-completions JSON; a
// Sink renders it in the surface's own format.
package proxy
