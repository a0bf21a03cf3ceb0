// Package dashboard serves the hub's web dashboard: the built React app
// (web/dist, embedded in the binary) at "/", and the session API the app
// signs in with at /api/session.
//
// It exists so that the dashboard needs no second server and no API of its
// own: the app is static files, and everything it shows or changes goes
// through the hub's ordinary APIs (/api/admin/…, /api/usage, /api/calls,
// /api/keys, /v1/chat/completions), authenticated by a session cookie that
// acts as the API key the user signed in with (host/auth).
//
// # The app ([NewApp])
//
// index.html is served for "/" and, as a single-page app's fallback, for
// any other GET whose Accept names text/html and whose path is not the
// hub's: /v1/…, /api/…, /assets/…, /healthz, /readyz and /__blocklet__.js
// keep their JSON 404s. Files under /assets/ carry a content hash in their
// names and are cached for a year (Cache-Control: public, max-age=31536000,
// immutable); index.html and the app's other files are revalidated every
// time (no-cache) against their ETag. Text files are gzipped once, on
// first request, when the client accepts it and it saves space. HTML
// answers carry a strict Content-Security-Policy (scripts, styles and
// connections from the hub's own origin only; no inline script; no
// framing), X-Frame-Options DENY, Referrer-Policy no-referrer and
// X-Content-Type-Options nosniff. When the app is not built (no
// index.html), "/" answers a short page saying so, with status 200, so a
// hub built without npm still works.
//
// # Sessions ([NewSessions])
//
//	POST   /api/session  {"key":"sk-hub-…"} → 200 session, and the cookie
//	GET    /api/session  → 200 session, or 401
//	DELETE /api/session  → 204, the session ended and the cookie cleared
//
// A session body is {"role","account_id","account_name","key_id",
// "key_prefix","csrf","expires_at"}. The cookie (hub_session, HttpOnly,
// SameSite=Strict, Path=/, Secure over TLS) holds an opaque random token,
// never the key; the database keeps only the token's SHA-256. Failed
// sign-ins are limited per client IP (429 with Retry-After past the
// limit). A sign-in from another origin is refused (403), like every
// state-changing request a session authenticates without its CSRF token.
package dashboard
