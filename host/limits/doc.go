// Package limits enforces API keys' request limits on the request path, in
// memory, and matches models against a key's allow-list.
//
// # What is limited
//
// Three limits per key ([Limits]); zero means unlimited:
//
//   - Concurrency: requests in flight at once. [Limiter.Acquire] takes a
//     slot, [Permit.Release] frees it.
//   - RPM: requests admitted in the last 60 seconds. Every admitted request
//     counts, whatever its outcome upstream.
//   - TPM: tokens (input + output) in the last 60 seconds, counted from the
//     usage the upstream reported, when the request ends
//     ([Permit.Release]). Token counts are not known when a request starts,
//     so TPM refuses new requests only once the window has reached the
//     limit; requests already admitted may take it over.
//
// Acquire checks them in that order and a refused call changes nothing. The
// limits are passed on every call, so a key whose limits were edited is
// held to its new limits on its next request; the window keeps counting
// what happened under the old ones.
//
// # Precision
//
// Each key's window is 60 one-second buckets, by Unix second. A request, or the tokens of a released request, count from their
// second until the start of the 60th whole second after it: between 59 and
// 60 seconds. So at most RPM requests are admitted in any 59-second span
// (at most RPM + the requests of one second in a 60-second span), and
// [Refusal].RetryAfter, the time until the window drops below the limit,
// is exact at that precision and rounded up to whole seconds: a client that
// waits it is admitted unless other requests took the room. The
// concurrency RetryAfter is a fixed 1 s hint.
//
// The limiter reads the monotonic clock (the wall time at [New] plus the
// monotonic time since), which costs half a time.Now and is not disturbed
// by steps of the wall clock. An [Options].Now clock that goes back is
// treated as standing still at the newest second seen.
//
// # Cost and memory
//
// Key state lives in a map split in 256 shards, each with its own lock, so
// requests of different keys rarely contend; a lock is held only for a few
// counter updates (no I/O, no allocation but a new key's state). Acquire
// allocates the 32-byte Permit; Release allocates nothing. An admitted
// request's Acquire and Release together take about 100 ns on one core, two
// clock reads being half of it (BenchmarkAcquireRelease; the cost of a
// refusal is in BenchmarkRefused).
//
// A key's state is about 800 bytes. It is dropped once the key has been
// unused (no Acquire, no Release) for [Options].IdleTTL, at least the
// window's 60 seconds, and has no request in flight. There is no background
// goroutine: Acquire sweeps one shard every IdleTTL/2/256 (all of them
// after a lull; a sweep holds one shard's lock for one pass over its
// keys), and a shard's map is rebuilt once it holds a quarter of its
// peak, since Go maps keep their memory after deletes. Memory is therefore
// bounded by the keys used in the last 1.5 × IdleTTL plus those with
// requests in flight.
//
// # Per process
//
// Limits are per process: the state is not shared, so each replica of a
// hub enforces each key's limits on its own, and N replicas behind a load
// balancer admit up to N times the limits. A restart forgets the windows.
//
// # Model allow-list
//
// [ModelAllowed] matches the names a call is known by against a key's
// allowed_models entries: exact names, or prefixes ending in "*".
package limits
