// Package server is the hub's HTTP front: the httprouter routes, the
// middleware every request passes (request id, panic recovery), and the
// inbound API surfaces. Each surface authenticates the caller, parses its
// API into the canonical request, and hands it to the proxy engine with a
// Sink that renders canonical output in the surface's own wire format.
//
// The OpenAI surface serves POST /v1/chat/completions, /v1/embeddings,
// /v1/images/generations and GET /v1/models. The Anthropic surface serves
// POST /v1/messages and /v1/messages/count_tokens, converting with
// host/surface/anthropic, so any provider can serve an Anthropic client.
// The admin API (/api/admin/) and the user API (/api/usage, /api/calls,
// /api/account, /api/keys) are mounted from host/admin; the dashboard's
// session API (/api/session) and its web app from host/dashboard: a GET no
// route takes goes to the app when it matches (Options.Dashboard), else
// answers the JSON 404.
package server
