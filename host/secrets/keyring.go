package secrets

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// A Keyring holds the master key that seals credential secrets, and the
// other keys that may open them: the new key of a pending rotation and, in a
// running process, the keys that another process rotated away. It is safe
// for concurrent use.
//
// Its String form names the source and the key id, never the key.
type Keyring struct {
	source string
	path   string // the key file; "" for an environment key

	mu sync.Mutex // serializes reloads and Reconcile
	st atomic.Pointer[state]
}

// A state is one immutable view of the keys.
type state struct {
	current *key // seals; from master.key or the environment
	pending *key // from master.key.next; nil when no rotation is pending
	byID    map[[idSize]byte]*key
	// The stats of master.key and master.key.next as read (nil: absent),
	// to notice another process's changes. Unused for an environment key.
	master, next os.FileInfo
}

func newState(current, pending *key, retired map[[idSize]byte]*key) *state {
	st := &state{current: current, pending: pending, byID: make(map[[idSize]byte]*key, 2+len(retired))}
	for id, k := range retired {
		st.byID[id] = k
	}
	st.byID[current.id] = current
	if pending != nil {
		st.byID[pending.id] = pending
	}
	return st
}

// Load returns the hub's master keyring.
//
// When lookupEnv (nil means [os.LookupEnv]) has [EnvMasterKey], that is the
// key: 32 bytes as 64 hex characters or as base64 (standard or URL
// alphabet, padded or not). Anything else, the empty string included, is an
// error, whose message does not contain the value.
//
// Otherwise the key is in dataDir/[KeyFile]. When that file does not exist,
// Load creates dataDir (0700) if needed and writes a new random key to the
// file, with mode 0600, atomically. When it exists, it must not be
// accessible by group or others. A key file left by an interrupted
// rotation (KeyFile + ".next") is loaded too, so that every credential
// opens whether or not the rotation committed; the caller must then call
// [Keyring.Reconcile] before sealing anything (see the package doc).
func Load(dataDir string, lookupEnv func(string) (string, bool)) (*Keyring, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if v, ok := lookupEnv(EnvMasterKey); ok {
		k, err := envKey(EnvMasterKey, v)
		if err != nil {
			return nil, fmt.Errorf("load master key: %w", err)
		}
		kr := &Keyring{source: "env:" + EnvMasterKey}
		kr.st.Store(newState(k, nil, nil))
		return kr, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("load master key: %s is unset and there is no data directory for the key file", EnvMasterKey)
	}
	path := filepath.Join(dataDir, KeyFile)
	if err := ensureKeyFile(dataDir, path); err != nil {
		return nil, fmt.Errorf("load master key: %w", err)
	}
	st, err := readState(path, nil)
	if err != nil {
		return nil, fmt.Errorf("load master key: %w", err)
	}
	kr := &Keyring{source: path, path: path}
	kr.st.Store(st)
	return kr, nil
}

// envKey parses the key in the environment variable name.
func envKey(name, value string) (*key, error) {
	raw, err := parseKey(value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer clear(raw)
	return newKey(raw)
}

// ensureKeyFile creates the key file at path with a new key unless it
// exists.
func ensureKeyFile(dataDir, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // exists, or an error that reading it will report
	}
	if _, err := os.Stat(nextPath(path)); err == nil {
		return fmt.Errorf("%s is missing but %s exists: refusing to create a new master key; restore %s (or rename %s to it if the rotation that wrote it had committed)",
			path, nextPath(path), KeyFile, filepath.Base(nextPath(path)))
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	raw := generateKey()
	defer clear(raw)
	err := writeKeyFile(path, raw, false)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process created it first: use theirs
	}
	return err
}

// readState reads the key file at path and the pending rotation's key file
// next to it, if any. The keys of prev that the files no longer hold are
// kept for opening (retired).
func readState(path string, prev *state) (*state, error) {
	raw, fi, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	current, err := newKey(raw)
	clear(raw)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	var pending *key
	rawNext, fiNext, err := readKeyFile(nextPath(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		pending, err = newKey(rawNext)
		clear(rawNext)
		if err != nil {
			return nil, fmt.Errorf("master key file %s: %w", nextPath(path), err)
		}
		if pending.id == current.id {
			pending = nil // a leftover copy of the current key; Reconcile removes it
		}
	}
	var retired map[[idSize]byte]*key
	if prev != nil {
		retired = prev.byID
	}
	st := newState(current, pending, retired)
	st.master, st.next = fi, fiNext
	return st, nil
}

// changed reports whether the key files differ from those st was read from.
func (kr *Keyring) changed(st *state) bool {
	fi, err := os.Stat(kr.path)
	if err != nil || !sameFile(st.master, fi) {
		return true
	}
	fi, err = os.Stat(nextPath(kr.path))
	if errors.Is(err, fs.ErrNotExist) {
		return st.next != nil
	}
	return err != nil || !sameFile(st.next, fi)
}

// refresh re-reads the key files of a file-based keyring if they changed
// since they were read, and returns the state to use. On error it returns
// the state it has.
func (kr *Keyring) refresh() (*state, error) {
	if st := kr.st.Load(); !kr.changed(st) {
		return st, nil
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	st := kr.st.Load() // another goroutine may have reloaded meanwhile
	if !kr.changed(st) {
		return st, nil
	}
	nst, err := readState(kr.path, st)
	if err != nil {
		return st, err
	}
	kr.st.Store(nst)
	return nst, nil
}

// KeyID returns the id of the key that seals: the first 8 bytes of
// SHA-256("aignehub-master-key-id" || key), in hex. It identifies a key
// without revealing it.
func (kr *Keyring) KeyID() string { return kr.st.Load().current.idString() }

// Source returns where the key comes from: "env:HUB_MASTER_KEY" or the key
// file's path.
func (kr *Keyring) Source() string { return kr.source }

// RotationPending reports whether a rotation's new key file
// (KeyFile + ".next") was found: [Keyring.Reconcile] settles it.
func (kr *Keyring) RotationPending() bool { return kr.st.Load().next != nil }

// Known reports whether the keyring can open ciphertexts sealed under the
// key with this id.
func (kr *Keyring) Known(keyID string) bool {
	b, err := hex.DecodeString(keyID)
	if err != nil || len(b) != idSize {
		return false
	}
	_, ok := kr.st.Load().byID[[idSize]byte(b)]
	return ok
}

// String describes the keyring by source and key id.
func (kr *Keyring) String() string {
	return fmt.Sprintf("secrets.Keyring{source: %s, key id: %s}", kr.source, kr.KeyID())
}

// GoString is String, so that %#v shows no key material either.
func (kr *Keyring) GoString() string { return kr.String() }

// Seal encrypts plaintext under the current master key, binding it to aad
// (pass [AAD] of the credential). Every call uses a new random nonce, so
// sealing the same plaintext twice gives different ciphertexts.
//
// A file-based keyring first checks that the key file is still the one it
// read, and re-reads it if not (another process rotated the key), so that
// it does not seal under a key that is no longer on disk. It fails if the
// file changed and cannot be read.
func (kr *Keyring) Seal(plaintext []byte, aad string) ([]byte, error) {
	st := kr.st.Load()
	if kr.path != "" {
		var err error
		if st, err = kr.refresh(); err != nil {
			return nil, fmt.Errorf("seal secret: the master key file changed and cannot be re-read: %w", err)
		}
	}
	return st.current.seal(plaintext, aad), nil
}

// Open decrypts a ciphertext made by [Keyring.Seal] with the same aad. It
// fails with an error wrapping [ErrTampered] when the ciphertext is not
// authentic (altered, truncated, of an unknown format, or sealed with another
// aad) and [ErrUnknownKey] when the key it was sealed under is not in the
// keyring. A file-based keyring that does not know the key re-reads the key
// files first, once, in case another process rotated the key.
func (kr *Keyring) Open(ciphertext []byte, aad string) ([]byte, error) {
	id, err := checkHeader(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	st := kr.st.Load()
	k := st.byID[id]
	if k == nil && kr.path != "" {
		st, err = kr.refresh()
		k = st.byID[id]
		if k == nil && err != nil {
			return nil, fmt.Errorf("open secret: %w; re-reading the master key file failed: %w", ErrUnknownKey, err)
		}
	}
	if k == nil {
		return nil, fmt.Errorf("open secret: %w", ErrUnknownKey)
	}
	pt, err := k.open(ciphertext, aad)
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	return pt, nil
}

// Reconcile settles a pending rotation and checks that every key in use is
// loaded. keyIDsInUse are the key ids ([KeyIDOf]) of every stored
// ciphertext, in any order, repeated or not ("" entries, for ciphertexts
// too damaged to carry one, are ignored). Call it at start-up, after
// [Load] and before sealing anything; it is a no-op for a keyring without
// a pending rotation, except for the check.
//
// With a pending rotation (master.key.next):
//
//   - if no ciphertext uses the new key, the rotation never committed:
//     master.key.next is removed and the keyring keeps the old key;
//   - if some use the new key and none the old, it committed:
//     master.key.next is renamed over master.key and the keyring seals
//     with the new key from now on;
//   - if both are in use (the rotation committed, then a process that had
//     not noticed sealed a secret under the old key), nothing changes and
//     the error wraps [ErrRotationIncomplete]: running the rotation again
//     finishes it.
//
// Then, if some ciphertext uses a key the keyring does not hold, the error
// wraps [ErrUnknownKey]: those credentials cannot be opened until that key
// is restored (HUB_MASTER_KEY or master.key), or they are set again.
func (kr *Keyring) Reconcile(keyIDsInUse []string) error {
	var errs []error
	if kr.path != "" {
		if err := kr.reconcileFiles(keyIDsInUse); err != nil {
			errs = append(errs, err)
		}
	}
	st := kr.st.Load()
	var unknown []string
	for _, id := range keyIDsInUse {
		if id != "" && !kr.Known(id) && !slices.Contains(unknown, id) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		errs = append(errs, fmt.Errorf("credentials are sealed under key id(s) %s, which %s does not hold (current key id %s): %w",
			strings.Join(unknown, ", "), kr.source, st.current.idString(), ErrUnknownKey))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reconcile master key: %w", err)
	}
	return nil
}

func (kr *Keyring) reconcileFiles(keyIDsInUse []string) error {
	kr.mu.Lock()
	defer kr.mu.Unlock()
	st := kr.st.Load()
	if kr.changed(st) { // another process may have settled it already
		nst, err := readState(kr.path, st)
		if err != nil {
			return err
		}
		kr.st.Store(nst)
		st = nst
	}
	if st.next == nil {
		return nil
	}
	next := nextPath(kr.path)
	usesOld, usesNew := false, false
	if st.pending != nil {
		oldID, newID := st.current.idString(), st.pending.idString()
		for _, id := range keyIDsInUse {
			usesOld = usesOld || id == oldID
			usesNew = usesNew || id == newID
		}
	}
	switch {
	case !usesNew: // never committed (or a leftover copy of the current key)
		if err := os.Remove(next); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("discard uncommitted rotation: %w", err)
		}
		if err := syncDir(filepath.Dir(kr.path)); err != nil {
			return fmt.Errorf("discard uncommitted rotation: %w", err)
		}
		retired := maps.Clone(st.byID)
		if st.pending != nil {
			delete(retired, st.pending.id) // it never sealed anything
		}
		nst := newState(st.current, nil, retired)
		nst.master = st.master
		kr.st.Store(nst)
		return nil
	case !usesOld: // committed: finish it
		if err := os.Rename(next, kr.path); err != nil {
			return fmt.Errorf("finish committed rotation: %w", err)
		}
		if err := syncDir(filepath.Dir(kr.path)); err != nil {
			return fmt.Errorf("finish committed rotation: %w", err)
		}
		nst, err := readState(kr.path, st)
		if err != nil {
			return fmt.Errorf("finish committed rotation: %w", err)
		}
		kr.st.Store(nst)
		return nil
	default:
		return fmt.Errorf("%w: credentials are sealed under both the old key (id %s, %s) and the new key (id %s, %s); run `hub credentials rotate-master-key` to re-encrypt them all under the new key",
			ErrRotationIncomplete, st.current.idString(), KeyFile, st.pending.idString(), filepath.Base(next))
	}
}
