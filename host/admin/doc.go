// Package admin is the hub's admin REST API: JSON over HTTP under
// /api/admin/, for managing providers, credentials, API keys, accounts and
// their credits, and model rates, reading the ledger, usage statistics,
// the call log and the audit log, and seeing the running hub's provider
// health and plugins. It also serves the user API ([NewUser]): what any
// API key may read about its own account.
//
// It exists to put the operations of host/manage on the network: each
// route decodes its input, calls one manage.Service method and writes the
// result, so the API and the command line behave the same. The package
// adds what only the network needs: authentication, the admin role,
// limits on the request, and the mapping of errors to HTTP.
//
// # Access
//
// Every request, to any path under /api/admin/ (unknown ones included),
// is authenticated first with the hub's API keys (Authorization: Bearer,
// or x-api-key): no key or a bad one is a 401, and a key without the
// admin role is a 403 permission_error. Only then is the path routed, so a
// caller without an admin key cannot probe which routes exist. The admin
// key then acts: its changes are audited in the same transaction as
// themselves, with the actor "key:ID:PREFIX" (store.WithActor).
//
// # Requests and responses
//
// Bodies are JSON objects of at most Options.MaxBody bytes (1 MiB by
// default); an unknown field is an error, so a typo never passes
// silently. A literal credential secret is accepted in a body and never
// returned: responses carry only its masked hint. Success answers are JSON
// (201 for a creation, 204 with no body for a deletion); lists are
// {"data":[...]}. Errors have OpenAI's shape,
// {"error":{"message","type","param","code"}}: 400 invalid_request_error
// with param naming the field, 404 not_found_error, 409 with code
// "already_exists", 405 with an Allow header, 413 for a body too large.
//
// # Routes
//
//	GET    /api/admin/providers                              {"data":[provider]}
//	POST   /api/admin/providers                              201 provider
//	GET    /api/admin/providers/:name                        provider, with its credentials
//	PATCH  /api/admin/providers/:name                        provider (set fields change)
//	DELETE /api/admin/providers/:name                        204, credentials included
//	GET    /api/admin/providers/:name/credentials            {"data":[credential]}
//	POST   /api/admin/providers/:name/credentials            201 credential
//	GET    /api/admin/providers/:name/credentials/:id        credential
//	PATCH  /api/admin/providers/:name/credentials/:id        credential
//	DELETE /api/admin/providers/:name/credentials/:id        204
//	POST   /api/admin/providers/:name/credentials/:id/test   check result, audited as credential.test
//	GET    /api/admin/state                                  {"data":[provider health]}
//	GET    /api/admin/model-rates                            {"data":[rate]}
//	POST   /api/admin/model-rates                            rate (201 new, 200 replaced)
//	POST   /api/admin/model-rates/bulk                       {"data":[rate]}: {"models":[…]} or {"all":true}, times "multiply"
//	GET    /api/admin/model-rates/unpriced                   {"data":[{"model","provider","name"}]}: routed models without a rate
//	GET    /api/admin/model-rates/*model                     rate; model may hold "/"
//	DELETE /api/admin/model-rates/*model                     204
//	GET    /api/admin/keys[?account_id=N]                    {"data":[key]}
//	POST   /api/admin/keys                                   201 {"key":"sk-hub-…", key…}, the key shown once
//	GET    /api/admin/keys/:id                               key
//	PATCH  /api/admin/keys/:id                               key
//	DELETE /api/admin/keys/:id                               204; revokes the key
//	GET    /api/admin/keys/:id/usage                         current window use and limits
//	GET    /api/admin/accounts                               {"data":[account]}
//	POST   /api/admin/accounts                               201 account
//	GET    /api/admin/accounts/:id                           account
//	PATCH  /api/admin/accounts/:id                           account (rename)
//	POST   /api/admin/accounts/:id/credits                   201 {"account_id","amount","amount_credits","balance","balance_credits"}
//	POST   /api/admin/accounts/:id/adjustments               201, the same
//	GET    /api/admin/accounts/:id/ledger?since=&until=&before=&limit=
//	                                                         {"data":[entry],"next_before":ID}
//	GET    /api/admin/ledger/verify                          {"ok":bool,"problems":[…],…} (200 either way)
//	GET    /api/admin/usage?bucket=&since=&until=&account_id=&key_id=&provider=&model=&group_by=&format=
//	                                                         {"data":[row]}, or CSV
//	GET    /api/admin/calls?since=&until=&account_id=&key_id=&provider=&model=&status=&limit=&before=&format=
//	                                                         {"data":[call],"next_before":CURSOR}, or CSV
//	GET    /api/admin/calls/:request_id                      call, with its upstream attempts
//	GET    /api/admin/plugins                                {"data":[plugin]}, with last_reload and rollback
//	POST   /api/admin/plugins/:name/reload                   reload result (422 with the failed step), audited as plugin.reload
//	POST   /api/admin/plugins/:name/rollback                 reload result (409 without a previous version), audited as plugin.rollback
//	GET    /api/admin/audit?since=&until=&action=&actor=&target=&before=&limit=
//	                                                         {"data":[entry],"next_before":ID}
//
// The audit log is newest first; since and until are RFC 3339 times
// (since <= at < until), action matches exactly or, ending in "*", as a
// prefix ("provider.*"), limit is 1..1000 (default 100), and next_before,
// present when the page is full, is the before= of the next page.
//
// # Credits, usage and calls
//
// Money is int64 micro-credits; every amount is shown both so ("balance")
// and as decimal credits ("balance_credits": "12.5"). A grant or
// adjustment takes "amount", decimal credits as a string ("12.5"; "-1.5"
// for an adjustment: a JSON number is refused, as it is not exact), or
// "amount_micro", an integer of micro-credits; a grant may take
// "expires_at". Both are audited (credits.grant, credits.adjust). An
// adjustment that would take the balance below zero is a 400.
//
// Usage rows come from the hourly (bucket=hour, the default) or daily
// (bucket=day, UTC) rollups; group_by is a comma-separated list of model,
// provider, account, key and time, and the dimensions not grouped by are
// summed over and absent from the rows. Calls are listed newest first;
// next_before is an opaque cursor, the before= of the next page. Durations
// are given in µs (exact) and ms; charges as "charged" (micro-credits) and
// "charged_credits". format=csv answers text/csv as an attachment
// (usage.csv, calls.csv) with durations in µs and amounts in
// micro-credits; a calls export without limit holds every matching call,
// and takes since and until rather than before. Times are RFC 3339.
//
// # The user API
//
// [NewUser] serves GET /api/usage, GET /api/calls (the parameters above)
// and GET /api/account (the account with its balance, and the calling
// key, never the key itself) to any valid key, user or admin, confined to
// the key's own account: account_id may name that account and no other
// (403). Credential IDs are not shown there. [UserPaths] lists its paths
// for the hub's server to mount. It also serves one call by request ID
// (GET /api/calls/:request_id, another account's is a 404) and the
// account's keys: GET and POST /api/keys, DELETE /api/keys/:id. A key
// created there is a user key of the caller's account that can do no
// more than the caller; changes are audited as the caller's.
//
// A call asked for by request ID that is not in the database yet may
// have just ended (the recorder batches): both APIs flush the recorder
// ([Options].Recorder) and look again for up to two seconds.
//
// A bulk rate change multiplies every amount of the chosen rates by an
// exact decimal string (at most 6 digits each side of the point), rounding
// to the nearest micro-credit, halves up, in one transaction; each changed
// rate is audited as rate.set with "multiply". The unpriced listing needs
// [Options].Models; a model literally named "unpriced" is read through
// the listing of every rate.
//
// # Not over HTTP: the master key rotation
//
// Rotating the master key is deliberately not an API route; the CLI
// (`hub credentials rotate-master-key`) does it. The rotation writes the
// new key next to the old one in the data directory (or takes it from
// HUB_NEW_MASTER_KEY) and must run where that directory and environment
// are, as the operator who owns them; over HTTP it would have to be done
// by whichever hub process received the call, with a key file that other
// hubs sharing the database cannot see, and an environment-held key cannot
// be replaced from inside the process at all. It is an operator action
// with a crash-recovery story tied to the local files (see host/secrets),
// not something an API key should be able to trigger from afar.
package admin
