// Package server is the hub's HTTP front: the httprouter routes, the
// middleware every request passes (request id, panic recovery), and the
// inbound API surfaces. Each surface authenticates the caller, parses its
// API into the canonical request, and hands it to the proxy engine with a
// Sink that renders canonical output in the surface's own wire format.
//
// The OpenAI surface serves POST /v1/chat/completions and GET /v1/models.
package server
