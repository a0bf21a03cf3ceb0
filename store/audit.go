package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// An Actor is who makes a change: the audit log's "who". Put one in the
// context of a mutating method with [WithActor] and the method appends an
// audit row in the same transaction as the change.
type Actor struct {
	// Name identifies the actor: "key:12:sk-hub-AbCdEf" for an admin API
	// key, "cli:root" for the command line, "config" for seeding from
	// hub.toml. It must not be empty: a mutating method given an actor
	// with an empty name fails, rather than change something unaudited.
	Name string
	// KeyID is the ID of the admin API key acting; zero means none.
	KeyID int64
}

type actorKey struct{}

// WithActor returns a copy of ctx that carries a as the actor of the
// changes made with it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor that ctx carries, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// An AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         int64     // set by the database
	At         time.Time // zero means now, in AppendAudit
	Actor      string    // an Actor's Name
	ActorKeyID int64     // zero: none
	// Action is what was done, "noun.verb": "provider.create",
	// "credential.update", "key.revoke", "master_key.rotate", …
	Action string
	// Target names the object acted on: "openai", "openai/openai-1",
	// "key:12", "account:3", "gpt-4o"; empty when there is none.
	Target string
	// Detail is a JSON object of the fields set. It never holds a secret:
	// a credential's secret appears as its masked hint. Empty means {}.
	Detail json.RawMessage
}

// AppendAudit appends e to the audit log, for actions that change nothing
// in the store itself (a master key rotation's outcome, a credential
// test). An empty e.Actor is taken from ctx's [Actor]; e.Actor and
// e.Action must then be non-empty, and e.Detail, if set, a JSON object.
//
// The store's own mutating methods need no AppendAudit: they audit
// themselves, in their own transaction, when ctx carries an Actor.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	if e.Actor == "" {
		if a, ok := ActorFrom(ctx); ok {
			e.Actor, e.ActorKeyID = a.Name, a.KeyID
		}
	}
	if e.At.IsZero() {
		e.At = now()
	}
	err := s.write(ctx, func(conn *sqlite.Conn) error { return insertAudit(conn, e) })
	if err != nil {
		return fmt.Errorf("append audit %q: %w", e.Action, err)
	}
	return nil
}

// An AuditFilter selects audit entries for [Store.ListAudit]. Zero fields
// match everything.
type AuditFilter struct {
	// Since and Until bound At: Since <= At < Until. Zero means unbounded.
	Since, Until time.Time
	// Action matches exactly, or, when it ends in "*", as a prefix:
	// "provider.*" matches every provider action.
	Action string
	Actor  string // matches exactly
	Target string // matches exactly
	// BeforeID pages backwards: only entries with a smaller ID. Pass the
	// last ID of a page to get the next one.
	BeforeID int64
	// Limit is the most entries returned. Zero or negative means 100;
	// more than 1000 means 1000.
	Limit int
}

// Audit log paging bounds.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// ListAudit returns the audit entries matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultAuditLimit
	case limit > maxAuditLimit:
		limit = maxAuditLimit
	}
	action, prefix := f.Action, ""
	if p, ok := strings.CutSuffix(action, "*"); ok {
		action, prefix = "", p
	}
	bound := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	var out []AuditEntry
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "audit_list.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":since":         bound(f.Since),
				":until":         bound(f.Until),
				":action":        action,
				":action_prefix": prefix,
				":actor":         f.Actor,
				":target":        f.Target,
				":before_id":     f.BeforeID,
				":limit":         limit,
			},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				out = append(out, AuditEntry{
					ID:         stmt.GetInt64("id"),
					At:         timeCol(stmt, "at"),
					Actor:      stmt.GetText("actor"),
					ActorKeyID: stmt.GetInt64("actor_key_id"), // NULL reads as 0
					Action:     stmt.GetText("action"),
					Target:     stmt.GetText("target"),
					Detail:     json.RawMessage(stmt.GetText("detail")),
				})
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// insertAudit validates e and appends it, in the caller's transaction.
func insertAudit(conn *sqlite.Conn, e AuditEntry) error {
	switch {
	case e.Actor == "":
		return errors.New("audit: empty actor")
	case e.Action == "":
		return errors.New("audit: empty action")
	}
	detail := "{}"
	if len(e.Detail) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Detail); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return fmt.Errorf("audit %s: detail is not a JSON object", e.Action)
		}
		detail = buf.String()
	}
	var keyID any
	if e.ActorKeyID != 0 {
		keyID = e.ActorKeyID
	}
	return sqlitex.ExecuteFS(conn, queries, "audit_insert.sql", &sqlitex.ExecOptions{
		Named: map[string]any{
			":at":           e.At.UnixMilli(),
			":actor":        e.Actor,
			":actor_key_id": keyID,
			":action":       e.Action,
			":target":       e.Target,
			":detail":       detail,
		},
	})
}

// audit appends an audit row for ctx's actor, if it carries one, in the
// caller's transaction, so that the row commits or rolls back with the
// change it describes. detail is marshaled to a JSON object (a map's keys
// come out sorted); it must never hold a secret.
func audit(ctx context.Context, conn *sqlite.Conn, action, target string, detail map[string]any) error {
	a, ok := ActorFrom(ctx)
	if !ok {
		return nil
	}
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return insertAudit(conn, AuditEntry{
		At:         now(),
		Actor:      a.Name,
		ActorKeyID: a.KeyID,
		Action:     action,
		Target:     target,
		Detail:     b,
	})
}

// auditTime is how a time appears in an audit detail: RFC 3339 in UTC, or
// null for the zero time ("never").
func auditTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}
