// Package runtime runs the hub's plugins: sandboxed WebAssembly modules that
// implement ABI v1 (package github.com/aignehub/hub/sdk/abi), on wazero.
//
// # Lifecycle
//
// [Load] gives each plugin its own wazero runtime, so that each has its own
// memory limit and trust level and can be closed on its own. It compiles the
// module through a compilation cache shared by all plugins ([NewCache]),
// validates it before any guest code runs (imports only from hub_v1 and
// wasi_snapshot_preview1 and only functions the host provides, with matching
// signatures; the ABI marker, allocator and describe exports with exact
// signatures), instantiates a first instance, calls hub_describe, checks the
// manifest, and warms the pool. [Plugin.Close] stops handing out instances,
// lets calls in flight finish on the instance they started on, then closes the
// runtime, so a hot swap can load the new version, switch callers to it and
// close the old one without failing a call.
//
// # Pooling
//
// A Go reactor takes milliseconds to instantiate (its runtime initializes),
// and a call takes microseconds, so instances are pooled and never created
// per request in the steady state:
//
//   - Each plugin has a bounded pool of at most PoolSize instances. Load warms
//     MinIdle of them. A call takes an idle instance (the most recently used
//     first, whose memory is warm); when none is idle and fewer than PoolSize
//     exist, it creates one; otherwise it waits until one is free or its
//     context ends. PoolSize therefore also bounds a plugin's concurrency.
//   - One instance runs one call at a time (api.Function is not safe for
//     concurrent use). Because plugins keep no state between calls (per-stream
//     state travels in the records), any instance can serve any call.
//   - Each instance caches its function handles, calls them with one reused
//     []uint64 stack (CallWithStack), and encodes input records into one
//     reused buffer. Results are copied out of guest memory at once; nothing a
//     caller receives aliases guest memory.
//   - A call that fails in a way that leaves the instance suspect — a trap,
//     an exit (a Go panic or out-of-memory abort), a timeout, an oversized or
//     malformed result — discards the instance; the call returns a
//     [*CallError] and a background refill restores MinIdle instances. An
//     error the plugin returns on purpose (an *abi.Error) is an ordinary
//     result: the instance goes back to the pool.
//   - Go's Wasm linear memory never shrinks, so an instance whose memory
//     passed HighWater after a call is closed and replaced rather than
//     returned (Stats.Recycled).
//
// # Sandbox
//
// Each instance has a memory limit and each call a deadline: the earlier of
// its context's deadline and Options.Deadline. Canceling a call's context
// abandons a wait for an instance but does not interrupt a running call:
// calls take microseconds, an interrupted instance must be replaced (which
// takes milliseconds), and a client's disconnect is not a plugin failure.
// Untrusted plugins (the default) run in a runtime built with
// WithCloseOnContextDone(true), which stops a guest stuck in a loop at its
// deadline at the price of a goroutine per guest call and a trip out of
// machine code at every loop back-edge; trusted plugins run without it, and
// an over-deadline call is only reported (and its instance discarded) when
// it returns. WASI gets no
// filesystem, environment, arguments or sockets, a fake clock and a
// deterministic random source. A guest's stdout and stderr go to a small
// per-instance buffer whose tail is attached to the [CallError] when the
// instance dies. The host functions a guest may import are documented where
// they are declared (host.go).
package runtime
