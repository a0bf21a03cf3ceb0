package manage_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// noEnv is a lookupEnv with nothing set, so that tests never see the
// environment's HUB_MASTER_KEY.
func noEnv(string) (string, bool) { return "", false }

// env is a hub under test: a real store and a real file-based keyring in
// temporary directories.
type env struct {
	svc         *manage.Service
	st          *store.Store
	kr          *secrets.Keyring
	dbPath      string
	dataDir     string
	changed     atomic.Int64
	keysChanged atomic.Int64
	now         atomic.Pointer[time.Time]
	closeStore  func() error // idempotent
}

type envOpts struct {
	noKeyring bool
	cfg       *config.Config
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	e := &env{dataDir: t.TempDir()}
	e.dbPath = filepath.Join(e.dataDir, "hub.db")
	st, err := store.Open(context.Background(), e.dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	e.closeStore = func() (err error) {
		once.Do(func() { err = st.Close() })
		return err
	}
	t.Cleanup(func() { e.closeStore() })
	e.st = st
	if !o.noKeyring {
		if e.kr, err = secrets.Load(e.dataDir, noEnv); err != nil {
			t.Fatal(err)
		}
	}
	e.svc = manage.New(manage.Options{
		Store:       st,
		Keyring:     e.kr,
		Config:      o.cfg,
		Changed:     func() { e.changed.Add(1) },
		KeysChanged: func() { e.keysChanged.Add(1) },
		Now: func() time.Time {
			if t := e.now.Load(); t != nil {
				return *t
			}
			return time.Now()
		},
	})
	return e
}

// actor is the context of the tests' changes.
func actor() context.Context {
	return store.WithActor(context.Background(), store.Actor{Name: "cli:test"})
}

func ptr[T any](v T) *T { return &v }

// wantField fails unless err is a *manage.ValidationError on field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *manage.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v, want a ValidationError on %q", err, field)
	}
	if ve.Field != field {
		t.Fatalf("error = %v: field %q, want %q", err, ve.Field, field)
	}
	if ve.Error() != ve.Field+": "+ve.Message {
		t.Errorf("Error() = %q", ve.Error())
	}
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

func mustProvider(t *testing.T, e *env, spec manage.ProviderSpec) manage.ProviderView {
	t.Helper()
	p, err := e.svc.CreateProvider(actor(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
