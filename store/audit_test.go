package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// testActor is the actor of the audited test changes.
var testActor = Actor{Name: "key:7:sk-hub-Tester", KeyID: 7}

// actorCtx returns a context carrying testActor.
func actorCtx() context.Context { return WithActor(context.Background(), testActor) }

// auditLog returns the whole audit log, oldest first.
func auditLog(t testing.TB, s *Store) []AuditEntry {
	t.Helper()
	es, err := s.ListAudit(context.Background(), AuditFilter{Limit: maxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// auditSince returns the audit entries after the first n, oldest first.
func auditSince(t testing.TB, s *Store, n int) []AuditEntry {
	t.Helper()
	return auditLog(t, s)[n:]
}

// summary renders entries as "action target" lines for comparisons.
func summary(es []AuditEntry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s\n", e.Action, e.Target)
	}
	return b.String()
}

// detail decodes an entry's detail.
func detail(t testing.TB, e AuditEntry) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatalf("detail of %s %s: %v", e.Action, e.Target, err)
	}
	return d
}

func TestActorContext(t *testing.T) {
	if _, ok := ActorFrom(context.Background()); ok {
		t.Error("ActorFrom(Background) reported an actor")
	}
	a, ok := ActorFrom(actorCtx())
	if !ok || a != testActor {
		t.Errorf("ActorFrom = %+v, %v; want %+v", a, ok, testActor)
	}
}

func TestAppendAudit(t *testing.T) {
	s, _ := openTest(t, Options{})
	at := time.UnixMilli(1_700_000_000_000)
	tests := []struct {
		name    string
		ctx     context.Context
		e       AuditEntry
		wantErr bool
		want    AuditEntry // ID ignored
	}{
		{
			name: "full",
			ctx:  context.Background(),
			e:    AuditEntry{At: at, Actor: "cli:root", Action: "credential.test", Target: "openai/k1", Detail: json.RawMessage(` { "ok" : true } `)},
			want: AuditEntry{At: at, Actor: "cli:root", Action: "credential.test", Target: "openai/k1", Detail: json.RawMessage(`{"ok":true}`)},
		},
		{
			name: "actor from context",
			ctx:  actorCtx(),
			e:    AuditEntry{At: at, Action: "master_key.rotate"},
			want: AuditEntry{At: at, Actor: testActor.Name, ActorKeyID: testActor.KeyID, Action: "master_key.rotate", Detail: json.RawMessage(`{}`)},
		},
		{
			name: "explicit actor wins",
			ctx:  actorCtx(),
			e:    AuditEntry{At: at, Actor: "config", Action: "x.y"},
			want: AuditEntry{At: at, Actor: "config", Action: "x.y", Detail: json.RawMessage(`{}`)},
		},
		{name: "no actor", ctx: context.Background(), e: AuditEntry{Action: "x.y"}, wantErr: true},
		{name: "empty actor name", ctx: WithActor(context.Background(), Actor{}), e: AuditEntry{Action: "x.y"}, wantErr: true},
		{name: "no action", ctx: actorCtx(), e: AuditEntry{}, wantErr: true},
		{name: "detail not JSON", ctx: actorCtx(), e: AuditEntry{Action: "x.y", Detail: json.RawMessage(`{`)}, wantErr: true},
		{name: "detail not an object", ctx: actorCtx(), e: AuditEntry{Action: "x.y", Detail: json.RawMessage(`[1]`)}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(auditLog(t, s))
			err := s.AppendAudit(tt.ctx, tt.e)
			after := auditSince(t, s, before)
			if tt.wantErr {
				if err == nil {
					t.Fatal("AppendAudit succeeded")
				}
				if len(after) != 0 {
					t.Errorf("failed AppendAudit wrote %v", after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != 1 {
				t.Fatalf("%d entries appended", len(after))
			}
			got := after[0]
			if got.ID == 0 {
				t.Error("ID not set")
			}
			got.ID = 0
			if !got.At.Equal(tt.want.At) || got.Actor != tt.want.Actor || got.ActorKeyID != tt.want.ActorKeyID ||
				got.Action != tt.want.Action || got.Target != tt.want.Target || string(got.Detail) != string(tt.want.Detail) {
				t.Errorf("stored %+v (detail %s)\nwant %+v (detail %s)", got, got.Detail, tt.want, tt.want.Detail)
			}
		})
	}

	// A zero At is now.
	before := time.Now().Add(-time.Millisecond)
	if err := s.AppendAudit(actorCtx(), AuditEntry{Action: "x.now"}); err != nil {
		t.Fatal(err)
	}
	es, err := s.ListAudit(context.Background(), AuditFilter{Action: "x.now"})
	if err != nil || len(es) != 1 {
		t.Fatalf("ListAudit = %v, %v", es, err)
	}
	if es[0].At.Before(before) || es[0].At.After(time.Now()) {
		t.Errorf("zero At stored as %v", es[0].At)
	}
}

func TestListAudit(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	base := time.UnixMilli(1_700_000_000_000)
	entries := []AuditEntry{
		{At: base, Actor: "config", Action: "provider.create", Target: "openai"},
		{At: base.Add(1 * time.Second), Actor: "cli:root", Action: "provider.update", Target: "openai"},
		{At: base.Add(2 * time.Second), Actor: "key:1:sk-hub-A", ActorKeyID: 1, Action: "key.create", Target: "key:2"},
		{At: base.Add(3 * time.Second), Actor: "key:1:sk-hub-A", ActorKeyID: 1, Action: "provider.delete", Target: "azure"},
		{At: base.Add(4 * time.Second), Actor: "cli:root", Action: "providerx.odd", Target: "openai"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListAudit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(entries) {
		t.Fatalf("%d entries", len(all))
	}
	ids := map[string]int64{} // by action
	for _, e := range all {
		ids[e.Action] = e.ID
	}

	tests := []struct {
		name string
		f    AuditFilter
		want []string // actions, newest first
	}{
		{"all", AuditFilter{}, []string{"providerx.odd", "provider.delete", "key.create", "provider.update", "provider.create"}},
		{"action exact", AuditFilter{Action: "provider.update"}, []string{"provider.update"}},
		{"action prefix", AuditFilter{Action: "provider.*"}, []string{"provider.delete", "provider.update", "provider.create"}},
		{"action everything", AuditFilter{Action: "*"}, []string{"providerx.odd", "provider.delete", "key.create", "provider.update", "provider.create"}},
		{"actor", AuditFilter{Actor: "cli:root"}, []string{"providerx.odd", "provider.update"}},
		{"target", AuditFilter{Target: "openai"}, []string{"providerx.odd", "provider.update", "provider.create"}},
		{"since", AuditFilter{Since: base.Add(3 * time.Second)}, []string{"providerx.odd", "provider.delete"}},
		{"until is exclusive", AuditFilter{Until: base.Add(1 * time.Second)}, []string{"provider.create"}},
		{"window", AuditFilter{Since: base.Add(time.Second), Until: base.Add(3 * time.Second)}, []string{"key.create", "provider.update"}},
		{"before id", AuditFilter{BeforeID: ids["key.create"]}, []string{"provider.update", "provider.create"}},
		{"limit", AuditFilter{Limit: 2}, []string{"providerx.odd", "provider.delete"}},
		{"combined", AuditFilter{Actor: "cli:root", Target: "openai", Action: "provider.*"}, []string{"provider.update"}},
		{"no match", AuditFilter{Target: "nothing"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := s.ListAudit(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.Action)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Paging with BeforeID walks the whole log once.
	var paged []int64
	for before := int64(0); ; {
		page, err := s.ListAudit(ctx, AuditFilter{BeforeID: before, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			paged = append(paged, e.ID)
		}
		before = page[len(page)-1].ID
	}
	if len(paged) != len(entries) {
		t.Errorf("paging saw %v", paged)
	}

	// The key ID round-trips; none reads as 0.
	if es, _ := s.ListAudit(ctx, AuditFilter{Action: "key.create"}); len(es) != 1 || es[0].ActorKeyID != 1 {
		t.Errorf("key.create entry = %+v", es)
	}
	if es, _ := s.ListAudit(ctx, AuditFilter{Action: "provider.create"}); len(es) != 1 || es[0].ActorKeyID != 0 {
		t.Errorf("provider.create entry = %+v", es)
	}
}

func TestListAuditLimits(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})
	for i := range maxAuditLimit + 5 {
		if err := s.AppendAudit(ctx, AuditEntry{Actor: "cli:root", Action: "x.y", Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ limit, want int }{
		{0, defaultAuditLimit},
		{-3, defaultAuditLimit},
		{7, 7},
		{maxAuditLimit + 1, maxAuditLimit},
	} {
		es, err := s.ListAudit(ctx, AuditFilter{Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != tt.want {
			t.Errorf("Limit %d: %d entries, want %d", tt.limit, len(es), tt.want)
		}
	}
}

// TestAuditInTransaction checks that a change and its audit row commit or
// roll back together.
func TestAuditInTransaction(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})
	if _, err := s.CreateProvider(ctx, Provider{Name: "openai", Plugin: "openai"}); err != nil {
		t.Fatal(err)
	}
	n := len(auditLog(t, s))
	if n != 1 {
		t.Fatalf("%d audit rows after one change", n)
	}

	// A change that fails leaves no audit row.
	if _, err := s.CreateProvider(ctx, Provider{Name: "openai", Plugin: "openai"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	// A failing audit fails the change: an actor with no name.
	noName := WithActor(context.Background(), Actor{})
	if _, err := s.CreateProvider(noName, Provider{Name: "anthropic", Plugin: "anthropic"}); err == nil {
		t.Fatal("a change with an unnamed actor succeeded")
	}
	if _, err := s.ProviderByName(context.Background(), "anthropic"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the change of a failed audit was kept: %v", err)
	}
	// Without an actor, changes are not audited.
	if _, err := s.CreateProvider(context.Background(), Provider{Name: "gemini", Plugin: "gemini"}); err != nil {
		t.Fatal(err)
	}
	if after := auditSince(t, s, n); len(after) != 0 {
		t.Errorf("unexpected audit rows:\n%s", summary(after))
	}
}

// TestAuditHammer races audited key updates against standalone entries and
// readers; every change must have exactly its audit row.
func TestAuditHammer(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{PoolSize: 6})
	acct, err := s.EnsureAccount(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	const (
		keys     = 4
		perKey   = 40
		appends  = 100
		checkers = 2
	)
	var ids []int64
	for i := range keys {
		k, err := s.CreateAPIKey(context.Background(), newKey(acct.ID, fmt.Sprint("hammer-", i), ""))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	v0, err := s.KeysVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var writers, readers sync.WaitGroup
	for _, id := range ids {
		writers.Go(func() {
			for i := range perKey {
				rpm := i + 1 // always a change
				if _, err := s.UpdateAPIKey(ctx, id, APIKeyPatch{RPM: &rpm}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Go(func() {
		for i := range appends {
			if err := s.AppendAudit(ctx, AuditEntry{Action: "credential.test", Target: fmt.Sprint(i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range checkers {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.ListAudit(context.Background(), AuditFilter{Action: "key.*", Limit: 10}); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.ListAPIKeys(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	readers.Wait()

	updates, err := s.ListAudit(context.Background(), AuditFilter{Action: "key.update", Limit: maxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(updates) != keys*perKey {
		t.Errorf("%d key.update rows, want %d", len(updates), keys*perKey)
	}
	tests, err := s.ListAudit(context.Background(), AuditFilter{Action: "credential.test", Limit: maxAuditLimit})
	if err != nil || len(tests) != appends {
		t.Errorf("%d credential.test rows, %v; want %d", len(tests), err, appends)
	}
	if v, err := s.KeysVersion(ctx); err != nil || v != v0+keys*perKey {
		t.Errorf("KeysVersion = %d, %v; want %d", v, err, v0+keys*perKey)
	}
	for _, id := range ids {
		k, err := s.APIKeyByID(ctx, id)
		if err != nil || k.RPM != perKey {
			t.Errorf("key %d: RPM %d, %v; want %d", id, k.RPM, err, perKey)
		}
	}
}
