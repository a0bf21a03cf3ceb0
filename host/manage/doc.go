// Package manage is the hub's administrative operations: providers and
// their credentials, API keys, accounts and their credits (grants,
// adjustments, the ledger and its verification), model rates, usage
// statistics and the call log, the audit log and the master key rotation.
//
// It exists so that the admin REST API (host/admin) and the command line
// (cmd/hub) share one implementation: the same validation, the same
// defaults, the same audit trail and the same rule that a secret goes in
// and never comes out. Both are thin: they decode input into the Spec
// types, call a [Service] method and render its View types (whose JSON
// tags are the admin API's wire format), and map its errors:
//
//   - *[ValidationError]: bad input, naming the field (400);
//   - an error wrapping store.ErrNotFound: no such object (404);
//   - an error wrapping store.ErrExists: the name is taken (409);
//   - anything else: an internal failure (500).
//
// # Audit
//
// The Service does not audit by itself: every store method it calls
// appends its audit row in the transaction of the change when the context
// carries a store.Actor (store.WithActor): the admin API puts the admin
// key there ("key:12:sk-hub-AbCdEf"), the CLI "cli:USER". Without an
// actor, changes are not audited. [Service.AppendAudit] records events
// that change nothing, such as a credential test.
//
// # Secrets
//
// A credential's secret is given as "env:NAME", stored as that reference
// and read from the hub's environment when the hub starts or reloads, or
// as a literal, sealed at once under the master key (secrets.Keyring)
// with the credential's provider and name as additional data, so that the
// ciphertext opens for that credential only. The store keeps the
// ciphertext and a masked hint ("****abcd"); no view, error, audit detail
// or log line ever holds the secret, and [CredentialSpec] prints masked.
// Because the ciphertext is bound to the credential's name, credentials
// are never renamed: add a new one and delete the old.
//
// # Providers and presets
//
// A provider names a plugin: an entry of hub.toml's [plugins], a builtin
// plugin, or a preset (config.Presets: "deepseek", "bedrock", …), which
// stands for its plugin module and fills in the default base URL and
// options, as it does in hub.toml. The stored provider keeps the module
// name. Providers and credentials seeded from hub.toml (managed_by
// "config") can be changed here too, but the next start re-applies
// hub.toml over them; those made here (managed_by "api") are left alone by
// the seeding.
//
// A billing plugin (config.Config.IsBillingPlugin: "credits", or the
// [billing] policy's entry) prices calls and serves none: a provider
// naming one is refused.
//
// # Credits
//
// Amounts are int64 micro-credits everywhere; views add a decimal copy in
// credits ("balance" and "balance_credits"), and [ParseAmount] reads
// decimal credits exactly. A grant goes through Options.Granter when the
// hub runs with billing on (its billing.Biller, so that its in-memory
// balances stay exact), else straight to the store, which a running hub
// notices within a second; an adjustment always goes to the store. Both
// are audited with ctx's actor ("credits.grant", "credits.adjust"), in
// the transaction that posts them. An account created here (by
// CreateAccount, or for a key by CreateKey) gets Options.NewAccountGrant.
//
// # Usage and calls
//
// [Service.Usage] reads the hourly or daily rollups of the call log,
// grouped by any of model, provider, account, key and time;
// [Service.CallsPage] lists calls newest first, paged by a cursor
// ([CallCursor]); [Service.Call] shows one call with its upstream
// attempts. Durations are shown both in µs, exact, and in ms. Both export
// CSV too.
//
// After a successful change the Service calls Options.Changed (providers,
// credentials) or Options.KeysChanged (API keys), so that a running hub
// rebuilds its routing or drops its cached keys at once; other processes
// (the CLI) are noticed through the store's version counters.
package manage
