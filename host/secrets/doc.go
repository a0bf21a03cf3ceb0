// Package secrets encrypts provider credentials at rest under the hub's
// master key, with AES-256-GCM from the standard library.
//
// It exists so that the database (and every copy and backup of it) holds
// provider API keys only as ciphertext: reading them back needs the master
// key too, which lives apart from the database, in the environment or in a
// file only the hub's user can read. The store keeps ciphertexts as opaque
// bytes; this package is the only one that sees both a key and a secret.
//
// # Ciphertext format
//
// A sealed secret is
//
//	0x01 | key id (8 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext | tag (16 bytes)
//
// The version byte 0x01 names this layout. The key id is the first 8 bytes
// of SHA-256("aignehub-master-key-id" || key): it says which key opens the
// ciphertext (so that a keyring can hold several during a rotation) and
// identifies a key in logs and messages without revealing it. The nonce is
// random for every seal (a key must not seal more than 2^32 secrets, far
// beyond any hub's credentials and rotations). GCM authenticates the
// version and key id together with the caller's additional data, which is
// [AAD](provider, credential): a ciphertext copied to another credential's
// row, or altered in any bit, or cut short, does not open ([ErrTampered]),
// and a ciphertext under a key that the keyring lacks is [ErrUnknownKey];
// the plaintext is never returned in either case. Errors never contain
// key, plaintext or ciphertext bytes, and a [Keyring] prints as its source
// and key id. Secrets are shown only through [Mask].
//
// # Key sources
//
// The master key comes from the environment variable HUB_MASTER_KEY when
// it is set: 32 bytes as 64 hex characters or as base64 (standard or URL
// alphabet, padded or not), made for example by `openssl rand -hex 32`.
// Nothing is written to disk then. Otherwise it is the file master.key in
// the data directory, created at the first start with a random key (64 hex
// characters and a newline) and mode 0600. A key file that group or others
// may read is refused, with the chmod that fixes it. The file is created
// atomically: the key is written to a temporary file, synced, and
// hard-linked to master.key (which, unlike a rename, fails if another
// process created master.key meanwhile, so two processes starting at once
// agree on one key), and the directory is synced. A missing master.key is
// created again only if no rotation's master.key.next is next to it.
//
// Losing the master key loses the secrets: back the key up apart from the
// database.
//
// # Rotation
//
// `hub credentials rotate-master-key` calls [Rotate], which re-encrypts
// every ciphertext in the database under a new key in one database
// transaction (store.RewrapCiphertexts). For a key file it goes:
//
//  1. write the new key to master.key.next (0600, synced, created
//     exclusively);
//  2. in one transaction, open every ciphertext with the old key and seal
//     it with the new one; commit;
//  3. rename master.key.next over master.key and sync the directory.
//
// If step 2 fails it is rolled back, master.key.next is removed, and
// nothing has changed. For an environment key, the new key comes from
// HUB_NEW_MASTER_KEY, step 2 is the whole rotation, and the operator then
// sets HUB_MASTER_KEY to the new key and restarts the hub.
//
// # Crash safety
//
// The database alone knows whether step 2 committed, so [Load] does not
// decide: finding master.key.next, it loads both keys. Every ciphertext
// opens with one of them, by key id, committed or not; sealing still uses
// master.key. The hub then reads the key ids in use ([KeyIDOf] of every
// stored ciphertext) and calls [Keyring.Reconcile], which settles it:
//
//   - crash before or during step 2 (master.key.next exists, the database
//     is all under the old key): no ciphertext uses the new key, so
//     master.key.next is removed. The rotation did not happen.
//   - crash after the commit, before or during step 3 (master.key.next
//     exists, the database is all under the new key): the new key is in
//     use and the old one is not, so master.key.next is renamed over
//     master.key. The rotation is finished.
//   - crash after step 3: there is no master.key.next; nothing to do.
//   - crash while writing a key file: only a temporary file
//     (.master.key.next.tmp-*) is left, which nothing reads.
//
// Reconcile also reports ([ErrUnknownKey]) ciphertexts under a key that
// is not loaded at all, such as after master.key was lost (and a new one
// generated) or after an environment rotation when HUB_MASTER_KEY still
// holds the old key: the hub should not start sealing under a key that is
// not the one its credentials use.
//
// Running [Rotate] again settles an interrupted rotation as well: finding
// master.key.next, it finishes the rotation with that key (reseal opens
// ciphertexts under either key), and keeps the file if it fails again.
//
// # Other processes
//
// The hub and its admin commands may run at once against one data
// directory. A file-based keyring that meets a ciphertext under a key it
// does not know re-reads the key files once before failing, so a running
// hub keeps opening credentials after a rotation made by the CLI; keys it
// loaded before stay usable for opening until it exits. Before sealing, it
// checks (two stats) that master.key is still the file it read, and
// re-reads it otherwise, so that it does not seal under a key that has been
// rotated away. Two narrow windows remain: a secret sealed under the old key
// in the instant between another process's commit and its rename, or sealed
// before the rotation began and written after it commits, is stored under
// the old key in a database rotated to the new one. While master.key.next
// is still there, Reconcile reports this as [ErrRotationIncomplete] and
// running the rotation again re-encrypts it; once the old key is gone, the
// secret is [ErrUnknownKey] and must be set again. (Closing them needs the
// database to record the current key id and refuse a write under another.)
// A rotation with an environment key cannot reach running hubs: they must
// be restarted with the new key.
package secrets
