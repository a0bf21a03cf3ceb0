package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RotateResult reports a finished rotation. It holds no key material.
type RotateResult struct {
	// Rewrapped is how many ciphertexts were re-sealed under the new key.
	Rewrapped int
	// OldKeyID and NewKeyID identify the keys, as [Keyring.KeyID] does.
	OldKeyID, NewKeyID string
	// Source is where the old key came from: "env:HUB_MASTER_KEY" or the
	// key file's path.
	Source string
	// Resumed reports that a pending rotation (master.key.next, left by an
	// interrupted run) was finished with its key instead of a new one.
	Resumed bool
	// Action is what the operator must still do, or "" when nothing: for an
	// environment key, put the new key in HUB_MASTER_KEY and restart.
	Action string
}

// Rotate re-encrypts every stored secret under a new master key.
//
// rewrap must call reseal once for every stored ciphertext, with the aad it
// was sealed with, and store what reseal returns in its place, all in one
// transaction that it rolls back if reseal or anything else fails (the
// hub's rewrap is store.RewrapCiphertexts). It returns how many ciphertexts
// it rewrote. reseal opens a ciphertext sealed under the old key or the new
// one (so that running a rotation again is harmless) and seals it under the
// new key; its errors wrap [ErrTampered] or [ErrUnknownKey].
//
// With a key file (HUB_MASTER_KEY unset; lookupEnv nil means
// [os.LookupEnv]), Rotate writes a new random key to master.key.next (0600,
// synced), runs rewrap, then renames master.key.next over master.key and
// syncs the directory. If rewrap fails, master.key.next is removed and
// nothing has changed. If master.key.next already exists, a previous
// rotation was interrupted: Rotate finishes it with that key (whether or not
// its transaction had committed) and keeps the file if rewrap fails. Do not
// run two rotations of one data directory at once. The package doc explains
// why every crash leaves a state that [Keyring.Reconcile] or another
// rotation settles.
//
// With HUB_MASTER_KEY set, the new key must be given in HUB_NEW_MASTER_KEY
// (same formats); nothing is written to disk, and the result's Action tells
// the operator to set HUB_MASTER_KEY to the new key and restart the hub.
func Rotate(dataDir string, lookupEnv func(string) (string, bool), rewrap func(reseal func(ciphertext []byte, aad string) ([]byte, error)) (int, error)) (RotateResult, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if rewrap == nil {
		return RotateResult{}, errors.New("rotate master key: no rewrap function")
	}
	var (
		res RotateResult
		err error
	)
	if v, ok := lookupEnv(EnvMasterKey); ok {
		res, err = rotateEnv(v, lookupEnv, rewrap)
	} else {
		res, err = rotateFile(dataDir, rewrap)
	}
	if err != nil {
		return RotateResult{}, fmt.Errorf("rotate master key: %w", err)
	}
	return res, nil
}

// resealer returns the reseal function of a rotation from one key to another.
func resealer(from, to *key) func([]byte, string) ([]byte, error) {
	return func(ciphertext []byte, aad string) ([]byte, error) {
		id, err := checkHeader(ciphertext)
		if err != nil {
			return nil, fmt.Errorf("reseal secret: %w", err)
		}
		var k *key
		switch id {
		case from.id:
			k = from
		case to.id:
			k = to
		default:
			return nil, fmt.Errorf("reseal secret: %w (neither the old key %s nor the new key %s)", ErrUnknownKey, from.idString(), to.idString())
		}
		pt, err := k.open(ciphertext, aad)
		if err != nil {
			return nil, fmt.Errorf("reseal secret: %w", err)
		}
		defer clear(pt)
		return to.seal(pt, aad), nil
	}
}

func rotateEnv(oldValue string, lookupEnv func(string) (string, bool), rewrap func(func([]byte, string) ([]byte, error)) (int, error)) (RotateResult, error) {
	from, err := envKey(EnvMasterKey, oldValue)
	if err != nil {
		return RotateResult{}, err
	}
	newValue, ok := lookupEnv(EnvNewMasterKey)
	if !ok || strings.TrimSpace(newValue) == "" {
		return RotateResult{}, fmt.Errorf("the master key comes from %s, so the new key must be given in %s (generate one with `openssl rand -hex 32`); nothing was changed",
			EnvMasterKey, EnvNewMasterKey)
	}
	to, err := envKey(EnvNewMasterKey, newValue)
	if err != nil {
		return RotateResult{}, err
	}
	if to.id == from.id {
		return RotateResult{}, fmt.Errorf("%s holds the current master key (id %s); give a new one (generate one with `openssl rand -hex 32`)", EnvNewMasterKey, from.idString())
	}
	n, err := rewrap(resealer(from, to))
	if err != nil {
		return RotateResult{}, fmt.Errorf("%w; nothing was changed", err)
	}
	return RotateResult{
		Rewrapped: n,
		OldKeyID:  from.idString(),
		NewKeyID:  to.idString(),
		Source:    "env:" + EnvMasterKey,
		Action: fmt.Sprintf("set %s to the value of %s (key id %s), unset %s, and restart every hub process: until then they cannot open the re-encrypted credentials",
			EnvMasterKey, EnvNewMasterKey, to.idString(), EnvNewMasterKey),
	}, nil
}

func rotateFile(dataDir string, rewrap func(func([]byte, string) ([]byte, error)) (int, error)) (RotateResult, error) {
	if dataDir == "" {
		return RotateResult{}, fmt.Errorf("%s is unset and there is no data directory for the key file", EnvMasterKey)
	}
	path := filepath.Join(dataDir, KeyFile)
	next := nextPath(path)
	rawOld, _, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return RotateResult{}, fmt.Errorf("no master key file at %s (the hub creates one on first start): nothing to rotate", path)
	}
	if err != nil {
		return RotateResult{}, err
	}
	from, err := newKey(rawOld)
	clear(rawOld)
	if err != nil {
		return RotateResult{}, err
	}

	rawNew, _, err := readKeyFile(next)
	resumed := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rawNew = generateKey()
		if err := writeKeyFile(next, rawNew, false); err != nil {
			if errors.Is(err, fs.ErrExist) {
				err = fmt.Errorf("%s appeared while starting: another rotation is running (or was interrupted an instant ago); run the command again once it is over", next)
			}
			return RotateResult{}, err
		}
	case err != nil:
		return RotateResult{}, err
	}
	defer clear(rawNew)
	to, err := newKey(rawNew)
	if err != nil {
		return RotateResult{}, err
	}
	if resumed && to.id == from.id { // a leftover copy of the current key
		return RotateResult{}, fmt.Errorf("%s holds the current master key (id %s): remove it and run the command again", next, from.idString())
	}

	n, err := rewrap(resealer(from, to))
	if err != nil {
		if resumed {
			return RotateResult{}, fmt.Errorf("%w; the pending rotation's key is kept in %s: run the command again to finish it", err, next)
		}
		if rerr := os.Remove(next); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return RotateResult{}, fmt.Errorf("%w; nothing was changed, but removing %s failed: %w", err, next, rerr)
		}
		if serr := syncDir(dataDir); serr != nil {
			return RotateResult{}, fmt.Errorf("%w; nothing was changed, but %w", err, serr)
		}
		return RotateResult{}, fmt.Errorf("%w; nothing was changed", err)
	}

	// Committed: make the new key the master key.
	err = os.Rename(next, path)
	if errors.Is(err, fs.ErrNotExist) {
		// Someone removed master.key.next meanwhile (a Reconcile that read
		// the key ids before the commit): the key is still in hand.
		err = writeKeyFile(path, rawNew, true)
	}
	if err == nil {
		err = syncDir(dataDir)
	}
	if err != nil {
		if _, serr := os.Stat(next); serr == nil {
			return RotateResult{}, fmt.Errorf("the credentials are re-encrypted under key %s, but installing it as %s failed (%w): %s holds it; run the command again, or start the hub, to finish",
				to.idString(), path, err, next)
		}
		return RotateResult{}, fmt.Errorf("the credentials are re-encrypted under key %s, but installing it as %s failed: %w", to.idString(), path, err)
	}
	return RotateResult{
		Rewrapped: n,
		OldKeyID:  from.idString(),
		NewKeyID:  to.idString(),
		Source:    path,
		Resumed:   resumed,
	}, nil
}
