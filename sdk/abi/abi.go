// Package abi is the wire contract between the hub and its plugins: ABI version 1.
//
// It is a leaf package. It imports only the standard library, and both sides
// depend on it: the host runtime (github.com/aignehub/hub/runtime) to call
// plugins, and the guest SDK (github.com/aignehub/hub/sdk/provider) to implement
// them. Nothing here touches wazero, SQLite or the network.
//
// The normative, language-neutral description is sdk/ABI.md; the constants and
// codecs here implement exactly that document. In short:
//
//   - A plugin is a WebAssembly reactor module. It exports a marker function
//     named [ExportMarker], an allocator [ExportAlloc], [ExportDescribe], and the
//     calls of its kind ([ExportRequest], [ExportResponse], [ExportStreamEvent]
//     for providers). It may import only [ImportModule] and
//     wasi_snapshot_preview1.
//   - Inputs are a [Record] written by the host into memory obtained from the
//     guest's allocator; results are a packed u64 (ptr<<32 | len) pointing at a
//     status byte followed by a [Record], copied out by the host at once.
package abi

// Version is the ABI version this package implements.
const Version = 1

// Module names a plugin may import from. Any other import fails validation.
const (
	// ImportModule is the host module of ABI v1.
	ImportModule = "hub_v1"
	// WASIModule is allowed so that ordinary toolchains (Go wasip1, Rust
	// wasm32-wasip1, AssemblyScript with WASI) work. The host gives it no
	// filesystem, no environment, no sockets, and a fake clock and random
	// source unless the operator grants otherwise.
	WASIModule = "wasi_snapshot_preview1"
)

// Exports of every ABI v1 plugin.
const (
	// ExportMarker is "hub_abi_v1": () -> (). Its presence declares ABI v1.
	// The host never relies on what it does; it may do nothing.
	ExportMarker = "hub_abi_v1"
	// ExportAlloc is "hub_alloc": (size i32) -> (ptr i32). It returns the
	// address of at least size writable bytes in the guest's memory that stay
	// valid until the next export call returns. The host writes the input of
	// that call there. A return of 0 with size > 0 means out of memory.
	ExportAlloc = "hub_alloc"
	// ExportDescribe is "hub_describe": () -> (packed i64). The result's
	// record holds one field: the [Manifest] as JSON.
	ExportDescribe = "hub_describe"
)

// Exports of provider plugins (Manifest.Kind == KindProvider). Each takes
// (ptr i32, len i32) of an input record and returns a packed i64 result.
const (
	// ExportRequest is "hub_request": canonical request -> upstream request.
	// Input fields: [RequestIn]. Result fields on success: [RequestOut].
	ExportRequest = "hub_request"
	// ExportResponse is "hub_response": upstream response -> canonical
	// response, or a normalized error for a non-2xx status.
	// Input fields: [ResponseIn]. Result fields on success: [ResponseOut].
	ExportResponse = "hub_response"
	// ExportStreamEvent is "hub_stream_event": one whole upstream stream
	// event (framed by the host) -> zero or more canonical chunks.
	// Input fields: [StreamIn]. Result fields on success: [StreamOut].
	ExportStreamEvent = "hub_stream_event"
)

// Imports in [ImportModule] ("hub_v1"). A plugin imports only what it uses.
const (
	// ImportLog is "log": (level i32, ptr i32, len i32) -> (). Writes a UTF-8
	// message to the host's log, attributed to the plugin. Levels are
	// [LogDebug]..[LogError]; the host truncates long messages and rate-limits.
	ImportLog = "log"
	// ImportConfig is "config": (ptr i32, cap i32) -> (len i32). Copies up to
	// cap bytes of the plugin's config JSON (the [plugins.NAME.config] table
	// of hub.toml, "{}" when none) to ptr and returns the full length, so a
	// guest can call again with a bigger buffer.
	ImportConfig = "config"
)

// Log levels for [ImportLog].
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Result status bytes: the first byte of every packed result.
const (
	// StatusOK: the fields that follow are the export's success fields.
	StatusOK byte = 0
	// StatusError: one field follows, an [Error] as JSON.
	StatusError byte = 1
)

// Plugin kinds.
const (
	KindProvider = "provider"
	KindBilling  = "billing"
)

// APIs a provider may declare in Manifest.APIs.
const (
	APIChatCompletions = "chat.completions"
	APIEmbeddings      = "embeddings"
	APIImages          = "images.generations"
	// APIModels lists the upstream's models: the request is usually a GET
	// with no body, and the response an OpenAI model list
	// ({"object":"list","data":[{"id","object":"model","created","owned_by"}]}).
	APIModels = "models"
)

// Auth schemes a provider may declare. The host injects the credential; the
// plugin never sees it.
const (
	// AuthNone: no credential is sent.
	AuthNone = "none"
	// AuthBearer: "Authorization: Bearer <secret>".
	AuthBearer = "bearer"
	// AuthHeaderPrefix + name: the secret as the value of header <name>,
	// e.g. "header:x-api-key".
	AuthHeaderPrefix = "header:"
	// AuthQueryPrefix + name: the secret as query parameter <name>.
	AuthQueryPrefix = "query:"
	// AuthSigV4Prefix + service: AWS Signature Version 4 for that signing
	// service (e.g. "sigv4:bedrock"), computed by the host from an access
	// key pair credential ("ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]")
	// and the provider's region.
	AuthSigV4Prefix = "sigv4:"
)

// Stream framings a provider may declare; the host splits the upstream body
// into whole events before calling [ExportStreamEvent].
const (
	// FramingSSE: text/event-stream. Event = the "event:" name and the
	// joined "data:" lines (LF or CRLF line ends).
	FramingSSE = "sse"
	// FramingNDJSON: one JSON value per line; event name is empty.
	FramingNDJSON = "ndjson"
	// FramingAWSEventStream: AWS event-stream binary messages
	// (application/vnd.amazon.eventstream), CRC-checked by the host. Event =
	// the ":event-type" header and the payload; an exception message is
	// named "exception:" + its ":exception-type", an error message
	// "error:" + its ":error-code" (with the ":error-message" header as the
	// data when the payload is empty).
	FramingAWSEventStream = "aws-eventstream"
)

// Manifest is what [ExportDescribe] returns, as JSON.
type Manifest struct {
	// ABI must equal [Version].
	ABI int `json:"abi"`
	// Kind is KindProvider or KindBilling.
	Kind string `json:"kind"`
	// Name is the plugin's name (lowercase, [a-z0-9_-]).
	Name string `json:"name"`
	// Version is the plugin's own version (semver recommended).
	Version string `json:"version"`
	// APIs the provider serves (APIChatCompletions, ...).
	APIs []string `json:"apis,omitempty"`
	// Auth is the auth scheme the host applies (AuthBearer, ...).
	Auth string `json:"auth,omitempty"`
	// StreamFraming is FramingSSE, FramingNDJSON or FramingAWSEventStream;
	// empty means no streaming.
	StreamFraming string `json:"stream_framing,omitempty"`
	// ConfigSchema optionally describes the accepted config (JSON Schema).
	ConfigSchema any `json:"config_schema,omitempty"`
	// Capabilities the plugin asks the operator for (e.g. "secret", "clock").
	Capabilities []string `json:"capabilities,omitempty"`
	// Description is a one-line human description.
	Description string `json:"description,omitempty"`
}

// Error is the normalized error a plugin returns with [StatusError], as JSON.
// It is also how a provider maps an upstream error body.
type Error struct {
	// Status is the HTTP status the hub should answer with (e.g. 400, 429,
	// 502). Zero means 502 (a plugin failure is an upstream-side failure).
	Status int `json:"status,omitempty"`
	// Type is the OpenAI-style error type ("invalid_request_error",
	// "rate_limit_error", "authentication_error", "server_error", ...).
	Type string `json:"type,omitempty"`
	// Code is the machine code ("rate_limit_exceeded", "model_not_found").
	Code string `json:"code,omitempty"`
	// Param names the offending request field, if any.
	Param string `json:"param,omitempty"`
	// Message is safe to show to the client. It never contains a secret.
	Message string `json:"message"`
	// Retryable says the same request may succeed later or elsewhere
	// (429 rate limit, 5xx, overloaded); false for 4xx and insufficient quota.
	Retryable bool `json:"retryable,omitempty"`
	// RetryAfterMS is the upstream's Retry-After hint in milliseconds.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

func (e *Error) Error() string {
	if e.Code != "" {
		return e.Type + " (" + e.Code + "): " + e.Message
	}
	if e.Type != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}
