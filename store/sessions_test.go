package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret-one", "one"))
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("token-1"))
	exp := time.Now().Add(time.Hour)
	sess, err := s.CreateSession(ctx, Session{TokenHash: hash, KeyID: k.ID, CSRF: "csrf-1", ExpiresAt: exp})
	if err != nil {
		t.Fatal(err)
	}
	if sess.CreatedAt.IsZero() || !sess.ExpiresAt.Equal(time.UnixMilli(exp.UnixMilli())) {
		t.Errorf("created %+v", sess)
	}
	got, key, err := s.SessionByHash(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if got != sess || key.ID != k.ID || key.Hash != k.Hash || key.AccountID != acct.ID || key.Role != RoleUser {
		t.Errorf("SessionByHash = %+v, %+v; want %+v, key %d", got, key, sess, k.ID)
	}

	// The key is read as it is now: a revocation shows at once.
	if err := s.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, key, err := s.SessionByHash(ctx, hash); err != nil || key.RevokedAt.IsZero() {
		t.Errorf("after revocation: %+v, %v", key, err)
	}

	if _, _, err := s.SessionByHash(ctx, sha256.Sum256([]byte("nope"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
	if err := s.DeleteSession(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SessionByHash(ctx, hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
	if err := s.DeleteSession(ctx, hash); err != nil {
		t.Errorf("deleting twice: %v", err)
	}

	for _, bad := range []Session{
		{TokenHash: [32]byte{}, KeyID: k.ID, CSRF: "c", ExpiresAt: exp},
		{TokenHash: hash, KeyID: k.ID, CSRF: "", ExpiresAt: exp},
		{TokenHash: hash, KeyID: k.ID, CSRF: "c", ExpiresAt: time.Now().Add(-time.Second)},
		{TokenHash: hash, KeyID: 999, CSRF: "c", ExpiresAt: exp},
	} {
		if _, err := s.CreateSession(ctx, bad); err == nil {
			t.Errorf("CreateSession(%+v) succeeded", bad)
		}
	}
	if n := queryInt(t, s, "SELECT count(*) FROM sessions"); n != 0 {
		t.Errorf("%d sessions after failed creations", n)
	}
}

// TestSessionsPruned checks that creating a session deletes the expired
// ones and a key's oldest beyond MaxSessionsPerKey.
func TestSessionsPruned(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	acct, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	k1, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret-one", "one"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := s.CreateAPIKey(ctx, newKey(acct.ID, "secret-two", "two"))
	if err != nil {
		t.Fatal(err)
	}
	create := func(key int64, name string, ttl time.Duration) [32]byte {
		t.Helper()
		h := sha256.Sum256([]byte(name))
		if _, err := s.CreateSession(ctx, Session{TokenHash: h, KeyID: key, CSRF: "c", ExpiresAt: time.Now().Add(ttl)}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	short := create(k2.ID, "short", 20*time.Millisecond)
	other := create(k2.ID, "other", time.Hour)
	var first [32]byte
	for i := range MaxSessionsPerKey {
		h := create(k1.ID, fmt.Sprint("k1-", i), time.Hour)
		if i == 0 {
			first = h
		}
		time.Sleep(2 * time.Millisecond) // distinct created_at
	}
	if n := queryInt(t, s, "SELECT count(*) FROM sessions"); n != MaxSessionsPerKey+1 {
		t.Fatalf("%d sessions, want %d (the short one expired)", n, MaxSessionsPerKey+1)
	}
	if _, _, err := s.SessionByHash(ctx, short); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired session kept: %v", err)
	}
	create(k1.ID, "one-more", time.Hour)
	if _, _, err := s.SessionByHash(ctx, first); !errors.Is(err, ErrNotFound) {
		t.Errorf("the key's oldest session kept past the cap: %v", err)
	}
	if _, _, err := s.SessionByHash(ctx, other); err != nil {
		t.Errorf("another key's session went: %v", err)
	}
	if n := queryInt(t, s, "SELECT count(*) FROM sessions WHERE key_id = "+fmt.Sprint(k1.ID)); n != MaxSessionsPerKey {
		t.Errorf("key 1 has %d sessions, want %d", n, MaxSessionsPerKey)
	}
}

func TestUpdateModelRates(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	for _, r := range []ModelRate{
		{Model: "a", InputPerM: 100, OutputPerM: 200},
		{Model: "b", InputPerM: 10},
		{Model: "c", PerImage: 7},
	} {
		if _, err := s.SetModelRate(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	double := func(r ModelRate) (ModelRate, error) {
		r.InputPerM *= 2
		r.OutputPerM *= 2
		r.PerImage *= 2
		return r, nil
	}
	n := len(auditLog(t, s))
	got, err := s.UpdateModelRates(ctx, []string{"b", "a"}, double, map[string]any{"multiply": "2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Model != "b" || got[0].InputPerM != 20 || got[1].Model != "a" || got[1].OutputPerM != 400 {
		t.Errorf("UpdateModelRates = %+v", got)
	}
	log := auditLog(t, s)[n:]
	if len(log) != 2 || log[0].Action != "rate.set" || log[0].Target != "b" || string(log[0].Detail) != `{"cache_write_per_m":0,"cached_read_per_m":0,"input_per_m":20,"min_per_call":0,"multiply":"2","output_per_m":0,"per_image":0}` {
		t.Errorf("audit %+v", log)
	}

	// A missing model or a failing update changes nothing at all.
	for name, tc := range map[string]struct {
		models []string
		update func(ModelRate) (ModelRate, error)
	}{
		"missing":  {[]string{"a", "zzz"}, double},
		"failing":  {nil, func(r ModelRate) (ModelRate, error) { return r, errors.New("boom") }},
		"negative": {nil, func(r ModelRate) (ModelRate, error) { r.InputPerM = -1; return r, nil }},
	} {
		if _, err := s.UpdateModelRates(ctx, tc.models, tc.update, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if r, _ := s.ModelRate(ctx, "a"); r.InputPerM != 200 {
		t.Errorf("a failed bulk change wrote: %+v", r)
	}
	if _, err := s.UpdateModelRates(ctx, []string{"zzz"}, double, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing model: %v, want ErrNotFound", err)
	}

	all, err := s.UpdateModelRates(ctx, nil, double, nil)
	if err != nil || len(all) != 3 || all[0].InputPerM != 400 || all[2].PerImage != 14 {
		t.Errorf("all = %+v, %v", all, err)
	}
}
