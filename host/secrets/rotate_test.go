package secrets

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A fakeDB stands in for the credentials table: its rewrap mimics
// store.RewrapCiphertexts, one transaction that applies every re-sealed
// ciphertext or none.
type fakeDB struct {
	mu   sync.Mutex
	rows []fakeRow
	// failAfter > 0 fails the transaction after that many reseals.
	failAfter int
	// beforeCommit and afterCommit, when set, run at those points; an error
	// stops rewrap there (before: rolled back; after: committed, as when the
	// process dies before returning).
	beforeCommit, afterCommit func() error
}

type fakeRow struct {
	provider, name, secret string
	ct                     []byte
}

var errInjected = errors.New("injected failure")

func newFakeDB(t *testing.T, kr *Keyring, n int) *fakeDB {
	t.Helper()
	db := &fakeDB{}
	for i := range n {
		db.add(t, kr, "prov", fmt.Sprintf("cred-%d", i), fmt.Sprintf("sk-secret-number-%d-abcdefgh", i))
	}
	return db
}

func (db *fakeDB) add(t *testing.T, kr *Keyring, provider, name, secret string) {
	t.Helper()
	ct, err := kr.Seal([]byte(secret), AAD(provider, name))
	if err != nil {
		t.Fatal(err)
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.rows = append(db.rows, fakeRow{provider, name, secret, ct})
}

func (db *fakeDB) rewrap(reseal func([]byte, string) ([]byte, error)) (int, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	next := slices.Clone(db.rows)
	for i := range next {
		ct, err := reseal(next[i].ct, AAD(next[i].provider, next[i].name))
		if err != nil {
			return 0, fmt.Errorf("rewrap credential %s/%s: %w", next[i].provider, next[i].name, err)
		}
		next[i].ct = ct
		if db.failAfter > 0 && i+1 == db.failAfter {
			return 0, errInjected
		}
	}
	if db.beforeCommit != nil {
		if err := db.beforeCommit(); err != nil {
			return 0, err
		}
	}
	db.rows = next
	if db.afterCommit != nil {
		if err := db.afterCommit(); err != nil {
			return 0, err
		}
	}
	return len(next), nil
}

func (db *fakeDB) snapshot() []fakeRow {
	db.mu.Lock()
	defer db.mu.Unlock()
	rows := slices.Clone(db.rows)
	for i := range rows {
		rows[i].ct = bytes.Clone(rows[i].ct)
	}
	return rows
}

func (db *fakeDB) keyIDs() []string { return idsOf(db.snapshot()) }

// idsOf returns the key id of every row's ciphertext.
func idsOf(rows []fakeRow) []string {
	var ids []string
	for _, r := range rows {
		id, _ := KeyIDOf(r.ct)
		ids = append(ids, id)
	}
	return ids
}

// assertOpens checks that kr opens every row to its secret, under the key
// wantKeyID ("" for any).
func assertOpens(t *testing.T, kr *Keyring, rows []fakeRow, wantKeyID string) {
	t.Helper()
	for _, r := range rows {
		pt, err := kr.Open(r.ct, AAD(r.provider, r.name))
		if err != nil || string(pt) != r.secret {
			t.Errorf("Open %s/%s = %q, %v; want its secret", r.provider, r.name, pt, err)
		}
		if id, _ := KeyIDOf(r.ct); wantKeyID != "" && id != wantKeyID {
			t.Errorf("%s/%s is sealed under key %s, want %s", r.provider, r.name, id, wantKeyID)
		}
	}
}

// copyDir snapshots a data directory, as a crash would leave it.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, e.Name())
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// newRotation makes a data directory with a key file and a database of n
// credentials sealed under its key.
func newRotation(t *testing.T, n int) (dir string, kr *Keyring, db *fakeDB) {
	t.Helper()
	dir = t.TempDir()
	kr = loadDir(t, dir)
	return dir, kr, newFakeDB(t, kr, n)
}

// crashAfterCommit rotates the key of dir and crashes once db has committed,
// before the rename; it returns a copy of the data directory as the crash
// left it.
func crashAfterCommit(t *testing.T, dir string, db *fakeDB) string {
	t.Helper()
	var snapDir string
	db.afterCommit = func() error { snapDir = copyDir(t, dir); return errors.New("crash") }
	defer func() { db.afterCommit = nil }()
	if _, err := Rotate(dir, noEnv, db.rewrap); err == nil {
		t.Fatal("no crash")
	}
	return snapDir
}

// assertCurrentKey reloads dir and checks that its key is wantKeyID with no
// rotation pending; it returns the reloaded keyring.
func assertCurrentKey(t *testing.T, dir, wantKeyID string) *Keyring {
	t.Helper()
	fresh := loadDir(t, dir)
	if fresh.KeyID() != wantKeyID || fresh.RotationPending() {
		t.Errorf("reloaded %s: key %s (pending %v), want %s, none pending", dir, fresh.KeyID(), fresh.RotationPending(), wantKeyID)
	}
	return fresh
}

// assertSettled reloads dir and checks that it opens every row of db under
// wantKeyID and that Reconcile accepts the key ids in use.
func assertSettled(t *testing.T, dir string, db *fakeDB, wantKeyID string) {
	t.Helper()
	fresh := loadDir(t, dir)
	assertOpens(t, fresh, db.snapshot(), wantKeyID)
	if err := fresh.Reconcile(db.keyIDs()); err != nil {
		t.Errorf("Reconcile after the rotation: %v", err)
	}
}

// assertSealsUnder checks that kr seals a new secret under wantKeyID.
func assertSealsUnder(t *testing.T, kr *Keyring, wantKeyID string) {
	t.Helper()
	ct, err := kr.Seal([]byte("new secret"), "n")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := KeyIDOf(ct); id != wantKeyID {
		t.Errorf("sealed under %s, want %s", id, wantKeyID)
	}
}

// assertUnchanged checks that every row of before has the same ciphertext
// in after.
func assertUnchanged(t *testing.T, before, after []fakeRow) {
	t.Helper()
	for i := range before {
		if !bytes.Equal(before[i].ct, after[i].ct) {
			t.Errorf("ciphertext of %s changed", before[i].name)
		}
	}
}

func TestRotateFile(t *testing.T) {
	dir, kr, db := newRotation(t, 3)
	oldID := kr.KeyID()
	oldKeyFile := readFile(t, filepath.Join(dir, KeyFile))
	before := db.snapshot()

	res, err := Rotate(dir, noEnv, db.rewrap)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rewrapped != 3 || res.OldKeyID != oldID || res.NewKeyID == oldID || res.Source != filepath.Join(dir, KeyFile) || res.Resumed || res.Action != "" {
		t.Errorf("Rotate = %+v", res)
	}
	if s := fmt.Sprintf("%+v", res); strings.Contains(s, strings.TrimSpace(string(oldKeyFile))) {
		t.Error("the result shows the old key")
	}
	assertFiles(t, dir, KeyFile)
	if m := keyFileMode(t, filepath.Join(dir, KeyFile)); m != 0o600 {
		t.Errorf("new key file mode = %04o, want 0600", m)
	}
	if bytes.Equal(readFile(t, filepath.Join(dir, KeyFile)), oldKeyFile) {
		t.Fatal("master.key was not replaced")
	}

	fresh := assertCurrentKey(t, dir, res.NewKeyID)
	for _, r := range before {
		if pt, err := fresh.Open(r.ct, AAD(r.provider, r.name)); pt != nil || !errors.Is(err, ErrUnknownKey) {
			t.Errorf("the new keyring opens the old ciphertext of %s: %q, %v", r.name, pt, err)
		}
	}
	assertSettled(t, dir, db, res.NewKeyID)
}

// TestRotateFailureChangesNothing makes the transaction fail in the ways it
// can: each must leave master.key, every ciphertext and the directory as
// they were.
func TestRotateFailureChangesNothing(t *testing.T) {
	stranger := envKeyring(t, bytes.Repeat([]byte{5}, KeySize))
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, db *fakeDB, kr *Keyring)
		want  error
	}{
		{"store fails mid-transaction", func(t *testing.T, db *fakeDB, kr *Keyring) { db.failAfter = 2 }, errInjected},
		{"store fails at commit", func(t *testing.T, db *fakeDB, kr *Keyring) {
			db.beforeCommit = func() error { return errInjected }
		}, errInjected},
		{"a tampered ciphertext", func(t *testing.T, db *fakeDB, kr *Keyring) {
			db.rows[2].ct[len(db.rows[2].ct)-1] ^= 1
		}, ErrTampered},
		{"a ciphertext moved to another credential", func(t *testing.T, db *fakeDB, kr *Keyring) {
			db.rows[1].ct = db.rows[0].ct
		}, ErrTampered},
		{"a ciphertext under an unknown key", func(t *testing.T, db *fakeDB, kr *Keyring) {
			db.add(t, stranger, "prov", "foreign", "sk-foreign-secret-123")
		}, ErrUnknownKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, kr, db := newRotation(t, 4)
			keyFile := readFile(t, filepath.Join(dir, KeyFile))
			tc.setup(t, db, kr)
			before := db.snapshot()

			res, err := Rotate(dir, noEnv, db.rewrap)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Rotate = %+v, %v; want %v", res, err, tc.want)
			}
			if !strings.Contains(err.Error(), "nothing was changed") {
				t.Errorf("error %q does not say that nothing changed", err)
			}
			assertNoLeak(t, err, strings.TrimSpace(string(keyFile)), before[0].secret)
			assertFiles(t, dir, KeyFile)
			if !bytes.Equal(readFile(t, filepath.Join(dir, KeyFile)), keyFile) {
				t.Error("master.key changed")
			}
			assertUnchanged(t, before, db.snapshot())
			assertCurrentKey(t, dir, kr.KeyID())
		})
	}
}

func TestRotateWithoutKeyFile(t *testing.T) {
	dir := t.TempDir()
	db := &fakeDB{}
	if _, err := Rotate(dir, noEnv, db.rewrap); err == nil || !strings.Contains(err.Error(), "nothing to rotate") {
		t.Fatalf("Rotate = %v", err)
	}
	assertFiles(t, dir)
}

// TestRotateCrash stops a rotation at each step, as a crash would, and
// starts again from a copy of the data directory and the database as the
// crash left them: whether the next start reconciles or the operator runs
// the rotation again, every ciphertext must open, under one key on disk.
func TestRotateCrash(t *testing.T) {
	type crashed struct {
		dir       string
		rows      []fakeRow
		oldID     string
		committed bool
	}
	crash := func(t *testing.T, point string) crashed {
		dir, kr, db := newRotation(t, 3)
		c := crashed{oldID: kr.KeyID()}
		snap := func() error {
			c.dir, c.rows = copyDir(t, dir), db.rows // db.mu is held by rewrap
			return errors.New("crash")
		}
		switch point {
		case "after .next is written":
			db.beforeCommit = snap
		case "mid-transaction":
			n := 0
			crashing := func(reseal func([]byte, string) ([]byte, error)) (int, error) {
				return db.rewrap(func(ct []byte, aad string) ([]byte, error) {
					if n++; n == 2 {
						return nil, snap()
					}
					return reseal(ct, aad)
				})
			}
			if _, err := Rotate(dir, noEnv, crashing); err == nil {
				t.Fatal("the crash did not stop the rotation")
			}
			c.rows = slices.Clone(c.rows)
			return c
		case "after commit, before rename":
			db.afterCommit = snap
			c.committed = true
		default:
			t.Fatalf("unknown crash point %q", point)
		}
		if _, err := Rotate(dir, noEnv, db.rewrap); err == nil {
			t.Fatal("the crash did not stop the rotation")
		}
		c.rows = slices.Clone(c.rows)
		return c
	}

	for _, point := range []string{"after .next is written", "mid-transaction", "after commit, before rename"} {
		t.Run(point, func(t *testing.T) {
			t.Run("start reconciles", func(t *testing.T) {
				c := crash(t, point)
				assertFiles(t, c.dir, KeyFile, KeyFile+".next")
				kr := loadDir(t, c.dir)
				if !kr.RotationPending() || kr.KeyID() != c.oldID {
					t.Errorf("after the crash: pending %v, key %s; want pending, old key %s", kr.RotationPending(), kr.KeyID(), c.oldID)
				}
				assertOpens(t, kr, c.rows, "") // both keys open before reconciling
				ids := idsOf(c.rows)
				if err := kr.Reconcile(ids); err != nil {
					t.Fatal(err)
				}
				assertFiles(t, c.dir, KeyFile)
				if kr.RotationPending() {
					t.Error("still pending after Reconcile")
				}
				wantID := c.oldID
				if c.committed {
					wantID = ids[0]
					if wantID == c.oldID {
						t.Fatal("the committed rows are under the old key")
					}
				}
				if kr.KeyID() != wantID {
					t.Errorf("after Reconcile the key is %s, want %s", kr.KeyID(), wantID)
				}
				fresh := assertCurrentKey(t, c.dir, wantID)
				assertOpens(t, fresh, c.rows, wantID)
				assertSealsUnder(t, fresh, wantID)
				if err := fresh.Reconcile(ids); err != nil {
					t.Errorf("second Reconcile: %v", err)
				}
			})
			t.Run("rotation resumes", func(t *testing.T) {
				c := crash(t, point)
				db := &fakeDB{rows: c.rows}
				pending, err := readState(filepath.Join(c.dir, KeyFile), nil)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Rotate(c.dir, noEnv, db.rewrap)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Resumed || res.NewKeyID != pending.pending.idString() || res.OldKeyID != c.oldID || res.Rewrapped != len(c.rows) {
					t.Errorf("Rotate = %+v; want resumed with the pending key %s", res, pending.pending.idString())
				}
				assertFiles(t, c.dir, KeyFile)
				assertSettled(t, c.dir, db, res.NewKeyID)
			})
		})
	}

	t.Run("while writing a key file", func(t *testing.T) {
		dir, kr, db := newRotation(t, 2)
		// What a crash between creating and linking the temporary file leaves.
		tmp := filepath.Join(dir, "."+KeyFile+".next.tmp-123")
		if err := os.WriteFile(tmp, []byte(GenerateKeyHex()[:20]), 0o600); err != nil {
			t.Fatal(err)
		}
		again := loadDir(t, dir)
		if again.RotationPending() || again.KeyID() != kr.KeyID() {
			t.Errorf("a temporary file was taken for a key")
		}
		if _, err := Rotate(dir, noEnv, db.rewrap); err != nil {
			t.Fatal(err)
		}
		fresh := loadDir(t, dir)
		assertOpens(t, fresh, db.snapshot(), fresh.KeyID())
	})
}

// TestReconcileMixed: the rotation committed and then a process that had
// not noticed sealed a secret under the old key, before the crash.
func TestReconcileMixed(t *testing.T) {
	dir, _, db := newRotation(t, 2)
	snapDir := crashAfterCommit(t, dir, db)

	kr := loadDir(t, snapDir)
	db.add(t, kr, "prov", "straggler", "sk-straggler-secret-xyz") // sealed under master.key: the old key
	err := kr.Reconcile(db.keyIDs())
	if !errors.Is(err, ErrRotationIncomplete) || !strings.Contains(err.Error(), "rotate-master-key") {
		t.Fatalf("Reconcile = %v; want ErrRotationIncomplete with a hint", err)
	}
	assertFiles(t, snapDir, KeyFile, KeyFile+".next")
	assertOpens(t, kr, db.snapshot(), "")

	res, err := Rotate(snapDir, noEnv, db.rewrap)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Rewrapped != 3 {
		t.Errorf("Rotate = %+v", res)
	}
	assertSettled(t, snapDir, db, res.NewKeyID)
}

func TestReconcileUnknownKey(t *testing.T) {
	for _, kind := range []string{"file", "env"} {
		t.Run(kind, func(t *testing.T) {
			kr, err := Load(t.TempDir(), noEnv)
			if kind == "env" {
				kr, err = Load("", env(EnvMasterKey, GenerateKeyHex()))
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := kr.Reconcile(nil); err != nil {
				t.Errorf("Reconcile(nil) = %v", err)
			}
			if err := kr.Reconcile([]string{kr.KeyID(), kr.KeyID()}); err != nil {
				t.Errorf("Reconcile(current key) = %v", err)
			}
			err = kr.Reconcile([]string{kr.KeyID(), "", "0011223344556677", "0011223344556677"})
			if !errors.Is(err, ErrUnknownKey) || strings.Count(err.Error(), "0011223344556677") != 1 {
				t.Errorf("Reconcile(unknown key) = %v; want ErrUnknownKey naming the id once", err)
			}
		})
	}
}

// TestOpenAfterAnotherProcessRotated: a running hub keeps working while the
// CLI rotates the key file under it.
func TestOpenAfterAnotherProcessRotated(t *testing.T) {
	t.Run("open", func(t *testing.T) {
		dir, hub, db := newRotation(t, 2)
		old := db.snapshot()
		res, err := Rotate(dir, noEnv, db.rewrap) // the CLI
		if err != nil {
			t.Fatal(err)
		}
		assertOpens(t, hub, db.snapshot(), res.NewKeyID) // re-reads the file once
		if hub.KeyID() != res.NewKeyID {
			t.Errorf("the hub seals under %s, want %s", hub.KeyID(), res.NewKeyID)
		}
		assertOpens(t, hub, old, res.OldKeyID) // keys it had stay usable
		assertSealsUnder(t, hub, res.NewKeyID)
	})
	t.Run("seal", func(t *testing.T) {
		dir := t.TempDir()
		hub := loadDir(t, dir)
		res, err := Rotate(dir, noEnv, (&fakeDB{}).rewrap)
		if err != nil {
			t.Fatal(err)
		}
		assertSealsUnder(t, hub, res.NewKeyID) // after another process rotated
	})
	t.Run("pending", func(t *testing.T) {
		// The CLI has written master.key.next and committed, not renamed.
		dir, hub, db := newRotation(t, 2)
		var rows []fakeRow
		db.afterCommit = func() error {
			rows = slices.Clone(db.rows)
			assertOpens(t, hub, rows, "")
			return nil
		}
		if _, err := Rotate(dir, noEnv, db.rewrap); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatal("afterCommit did not run")
		}
	})
	t.Run("unknown stays unknown", func(t *testing.T) {
		hub := loadDir(t, t.TempDir())
		ct, _ := envKeyring(t, bytes.Repeat([]byte{3}, KeySize)).Seal([]byte("x"), "x")
		if _, err := hub.Open(ct, "x"); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Open = %v; want ErrUnknownKey", err)
		}
	})
}

func TestRotateEnv(t *testing.T) {
	oldRaw := generateKey()
	oldHex, newHex := hex.EncodeToString(oldRaw), GenerateKeyHex()
	old := envKeyring(t, oldRaw)
	db := newFakeDB(t, old, 3)
	dir := t.TempDir()

	t.Run("no new key", func(t *testing.T) {
		_, err := Rotate(dir, env(EnvMasterKey, oldHex), db.rewrap)
		if err == nil || !strings.Contains(err.Error(), EnvNewMasterKey) || !strings.Contains(err.Error(), "openssl rand -hex 32") {
			t.Fatalf("Rotate = %v; want an error naming %s with a hint", err, EnvNewMasterKey)
		}
		assertNoLeak(t, err, oldHex)
	})
	t.Run("bad new key", func(t *testing.T) {
		_, err := Rotate(dir, env(EnvMasterKey, oldHex, EnvNewMasterKey, newHex[:40]), db.rewrap)
		if err == nil || !strings.Contains(err.Error(), EnvNewMasterKey) {
			t.Fatalf("Rotate = %v", err)
		}
		assertNoLeak(t, err, oldHex, newHex[:40])
	})
	t.Run("same key", func(t *testing.T) {
		_, err := Rotate(dir, env(EnvMasterKey, oldHex, EnvNewMasterKey, strings.ToUpper(oldHex)), db.rewrap)
		if err == nil {
			t.Fatal("rotation to the same key accepted")
		}
		assertNoLeak(t, err, oldHex)
	})
	if t.Failed() {
		return
	}
	assertOpens(t, old, db.snapshot(), old.KeyID()) // none of the above changed anything

	t.Run("rotate", func(t *testing.T) {
		for range 2 { // a second run is harmless
			res, err := Rotate(dir, env(EnvMasterKey, oldHex, EnvNewMasterKey, newHex), db.rewrap)
			if err != nil {
				t.Fatal(err)
			}
			if res.Rewrapped != 3 || res.OldKeyID != old.KeyID() || res.Source != "env:HUB_MASTER_KEY" ||
				!strings.Contains(res.Action, EnvMasterKey) || !strings.Contains(res.Action, res.NewKeyID) {
				t.Errorf("Rotate = %+v", res)
			}
			if s := fmt.Sprintf("%+v", res); strings.Contains(s, newHex) || strings.Contains(s, oldHex) {
				t.Error("the result shows a key")
			}
		}
		assertFiles(t, dir)
		next, err := Load(dir, env(EnvMasterKey, newHex))
		if err != nil {
			t.Fatal(err)
		}
		assertOpens(t, next, db.snapshot(), next.KeyID())
		for _, r := range db.snapshot() {
			if _, err := old.Open(r.ct, AAD(r.provider, r.name)); !errors.Is(err, ErrUnknownKey) {
				t.Errorf("the old key opens a re-sealed ciphertext: %v", err)
			}
		}
		if err := old.Reconcile(db.keyIDs()); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Reconcile with the old key = %v; want ErrUnknownKey", err)
		}
	})
	t.Run("failure", func(t *testing.T) {
		third := GenerateKeyHex()
		before := db.snapshot()
		db.failAfter = 1
		defer func() { db.failAfter = 0 }()
		if _, err := Rotate(dir, env(EnvMasterKey, newHex, EnvNewMasterKey, third), db.rewrap); !errors.Is(err, errInjected) {
			t.Fatalf("Rotate = %v", err)
		}
		assertUnchanged(t, before, db.snapshot())
	})
}

func TestRotateResumedFailureKeepsPendingKey(t *testing.T) {
	dir, _, db := newRotation(t, 2)
	snapDir := crashAfterCommit(t, dir, db)
	next := readFile(t, filepath.Join(snapDir, KeyFile+".next"))

	db.failAfter = 1
	_, err := Rotate(snapDir, noEnv, db.rewrap)
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "run the command again") {
		t.Fatalf("Rotate = %v", err)
	}
	assertFiles(t, snapDir, KeyFile, KeyFile+".next")
	if !bytes.Equal(readFile(t, filepath.Join(snapDir, KeyFile+".next")), next) {
		t.Error("the pending key changed")
	}
	assertOpens(t, loadDir(t, snapDir), db.snapshot(), "")
}

// TestRotateNextRemovedMeanwhile: another process reconciles with key ids
// read before the commit and removes master.key.next; the rotation still
// installs its key, which it holds.
func TestRotateNextRemovedMeanwhile(t *testing.T) {
	dir, _, db := newRotation(t, 2)
	idsBefore := db.keyIDs()
	db.beforeCommit = func() error {
		other, err := Load(dir, noEnv)
		if err != nil {
			return err
		}
		if !other.RotationPending() {
			t.Error("the other process does not see the pending rotation")
		}
		return other.Reconcile(idsBefore)
	}
	res, err := Rotate(dir, noEnv, db.rewrap)
	if err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir, KeyFile)
	fresh := assertCurrentKey(t, dir, res.NewKeyID)
	assertOpens(t, fresh, db.snapshot(), res.NewKeyID)
}

func TestReconcileSettledByAnotherProcess(t *testing.T) {
	dir, _, db := newRotation(t, 2)
	snapDir := crashAfterCommit(t, dir, db)
	ids := db.keyIDs()

	a := loadDir(t, snapDir)
	b := loadDir(t, snapDir)
	if err := a.Reconcile(ids); err != nil {
		t.Fatal(err)
	}
	if err := b.Reconcile(ids); err != nil {
		t.Fatalf("the second process's Reconcile: %v", err)
	}
	if a.KeyID() != ids[0] || b.KeyID() != ids[0] || b.RotationPending() {
		t.Errorf("keys %s and %s (pending %v), want %s", a.KeyID(), b.KeyID(), b.RotationPending(), ids[0])
	}
	assertFiles(t, snapDir, KeyFile)
}

func TestLeftoverCopyOfCurrentKey(t *testing.T) {
	dir := t.TempDir()
	loadDir(t, dir)
	data := readFile(t, filepath.Join(dir, KeyFile))
	if err := os.WriteFile(filepath.Join(dir, KeyFile+".next"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Rotate(dir, noEnv, (&fakeDB{}).rewrap); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Rotate with a copy of the current key pending = %v", err)
	}
	kr := loadDir(t, dir)
	if err := kr.Reconcile([]string{kr.KeyID()}); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir, KeyFile)
}

func TestWriteKeyFileDoesNotClobber(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, KeyFile)
	if err := writeKeyFile(path, testKey, false); err != nil {
		t.Fatal(err)
	}
	err := writeKeyFile(path, bytes.Repeat([]byte{1}, KeySize), false)
	if !errors.Is(err, os.ErrExist) {
		t.Fatalf("second exclusive write = %v; want ErrExist", err)
	}
	raw, _, err := readKeyFile(path)
	if err != nil || !bytes.Equal(raw, testKey) {
		t.Errorf("key file = %x, %v; want the first key", raw, err)
	}
	assertFiles(t, dir, KeyFile)
}
