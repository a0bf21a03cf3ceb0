package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// A Provider is an upstream model provider served by a provider plugin.
type Provider struct {
	ID      int64
	Name    string // unique, non-empty, like "openai" or "azure-eu"
	Plugin  string // the provider plugin that serves it; non-empty
	BaseURL string
	// Config is the plugin's per-provider configuration, a JSON value.
	// Empty means {}.
	Config    json.RawMessage
	Enabled   bool
	CreatedAt time.Time
	// UpdatedAt is when Plugin, BaseURL, Config or Enabled last changed.
	UpdatedAt time.Time
}

// UpsertProvider creates the provider named p.Name or updates its Plugin,
// BaseURL, Config and Enabled, and returns the stored row. Upserting an
// unchanged provider writes nothing and leaves UpdatedAt alone, so seeding
// from the config file on every start is cheap.
func (s *Store) UpsertProvider(ctx context.Context, p Provider) (Provider, error) {
	switch {
	case p.Name == "":
		return Provider{}, errors.New("upsert provider: empty name")
	case p.Plugin == "":
		return Provider{}, fmt.Errorf("upsert provider %q: empty plugin", p.Name)
	}
	config := "{}"
	if len(p.Config) > 0 {
		if !json.Valid(p.Config) {
			return Provider{}, fmt.Errorf("upsert provider %q: config is not valid JSON", p.Name)
		}
		config = string(p.Config)
	}

	var stored []Provider
	err := s.write(ctx, func(conn *sqlite.Conn) (err error) {
		err = sqlitex.ExecuteFS(conn, queries, "provider_upsert.sql", &sqlitex.ExecOptions{
			Named: map[string]any{
				":name":     p.Name,
				":plugin":   p.Plugin,
				":base_url": p.BaseURL,
				":config":   config,
				":enabled":  p.Enabled,
				":now":      now().UnixMilli(),
			},
		})
		if err != nil {
			return err
		}
		stored, err = providers(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		return err
	})
	if err != nil {
		return Provider{}, fmt.Errorf("upsert provider %q: %w", p.Name, err)
	}
	if len(stored) == 0 { // cannot happen inside the transaction
		return Provider{}, fmt.Errorf("upsert provider %q: %w", p.Name, ErrNotFound)
	}
	return stored[0], nil
}

// ProviderByName returns the provider called name, or [ErrNotFound].
func (s *Store) ProviderByName(ctx context.Context, name string) (Provider, error) {
	var ps []Provider
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		ps, err = providers(conn, "provider_by_name.sql", map[string]any{":name": name})
		return err
	})
	if err != nil {
		return Provider{}, fmt.Errorf("provider %q: %w", name, err)
	}
	if len(ps) == 0 {
		return Provider{}, fmt.Errorf("provider %q: %w", name, ErrNotFound)
	}
	return ps[0], nil
}

// ListProviders returns every provider, ordered by name.
func (s *Store) ListProviders(ctx context.Context) ([]Provider, error) {
	var ps []Provider
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		ps, err = providers(conn, "providers_list.sql", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list providers: %w", err)
	}
	return ps, nil
}

func providers(conn *sqlite.Conn, query string, args map[string]any) ([]Provider, error) {
	var ps []Provider
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: args,
		ResultFunc: func(stmt *sqlite.Stmt) error {
			ps = append(ps, Provider{
				ID:        stmt.GetInt64("id"),
				Name:      stmt.GetText("name"),
				Plugin:    stmt.GetText("plugin"),
				BaseURL:   stmt.GetText("base_url"),
				Config:    json.RawMessage(stmt.GetText("config")),
				Enabled:   stmt.GetBool("enabled"),
				CreatedAt: timeCol(stmt, "created_at"),
				UpdatedAt: timeCol(stmt, "updated_at"),
			})
			return nil
		},
	})
	return ps, err
}

// A Credential is one secret for a provider. The hub rotates calls across a
// provider's enabled credentials in proportion to their weights.
type Credential struct {
	ID         int64
	ProviderID int64
	Name       string // unique within the provider, non-empty
	// SecretRef says where the secret comes from, like "env:OPENAI_API_KEY".
	SecretRef string
	// Ciphertext is the encrypted secret, for secrets stored in the
	// database; nil when SecretRef is used.
	Ciphertext []byte
	// Weight is the credential's share of calls. Zero means 1: use
	// Enabled to take a credential out of rotation.
	Weight    int
	Enabled   bool
	CreatedAt time.Time
}

// ReplaceCredentials makes creds the complete set of credentials of the
// provider with the given id, or returns [ErrNotFound] if there is no such
// provider. Credentials are matched by name: a credential that keeps its
// name keeps its ID and CreatedAt (so recorded calls still point at it) and
// has its other fields overwritten; credentials not in creds are deleted.
// The ID, ProviderID and CreatedAt fields of creds are ignored.
func (s *Store) ReplaceCredentials(ctx context.Context, providerID int64, creds []Credential) error {
	names := make([]string, 0, len(creds))
	seen := make(map[string]bool, len(creds))
	for i, c := range creds {
		switch {
		case c.Name == "":
			return fmt.Errorf("replace credentials of provider %d: credential %d: empty name", providerID, i)
		case seen[c.Name]:
			return fmt.Errorf("replace credentials of provider %d: duplicate credential name %q", providerID, c.Name)
		case c.Weight < 0:
			return fmt.Errorf("replace credentials of provider %d: credential %q: negative weight", providerID, c.Name)
		}
		seen[c.Name] = true
		names = append(names, c.Name)
	}
	namesJSON, err := json.Marshal(names)
	if err != nil {
		return fmt.Errorf("replace credentials of provider %d: %w", providerID, err)
	}

	err = s.write(ctx, func(conn *sqlite.Conn) error {
		exists := false
		err := sqlitex.ExecuteFS(conn, queries, "provider_exists.sql", &sqlitex.ExecOptions{
			Named:      map[string]any{":id": providerID},
			ResultFunc: func(*sqlite.Stmt) error { exists = true; return nil },
		})
		if err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		err = sqlitex.ExecuteFS(conn, queries, "credentials_delete_others.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":provider_id": providerID, ":names": string(namesJSON)},
		})
		if err != nil {
			return err
		}
		created := now().UnixMilli()
		for _, c := range creds {
			if err := upsertCredential(conn, providerID, c, created); err != nil {
				return fmt.Errorf("credential %q: %w", c.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace credentials of provider %d: %w", providerID, err)
	}
	return nil
}

func upsertCredential(conn *sqlite.Conn, providerID int64, c Credential, created int64) (err error) {
	defer sqlitex.Save(conn)(&err)
	weight := c.Weight
	if weight == 0 {
		weight = 1
	}
	var ciphertext any
	if len(c.Ciphertext) > 0 {
		ciphertext = c.Ciphertext
	}
	return sqlitex.ExecuteFS(conn, queries, "credential_upsert.sql", &sqlitex.ExecOptions{
		Named: map[string]any{
			":provider_id": providerID,
			":name":        c.Name,
			":secret_ref":  c.SecretRef,
			":ciphertext":  ciphertext,
			":weight":      weight,
			":enabled":     c.Enabled,
			":created_at":  created,
		},
	})
}

// ListCredentials returns the credentials of the provider with the given
// id, oldest first. A provider that does not exist has none.
func (s *Store) ListCredentials(ctx context.Context, providerID int64) ([]Credential, error) {
	var creds []Credential
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "credentials_list.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":provider_id": providerID},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				c := Credential{
					ID:         stmt.GetInt64("id"),
					ProviderID: stmt.GetInt64("provider_id"),
					Name:       stmt.GetText("name"),
					SecretRef:  stmt.GetText("secret_ref"),
					Weight:     int(stmt.GetInt64("weight")),
					Enabled:    stmt.GetBool("enabled"),
					CreatedAt:  timeCol(stmt, "created_at"),
				}
				if !stmt.IsNull("ciphertext") {
					c.Ciphertext = make([]byte, stmt.GetLen("ciphertext"))
					stmt.GetBytes("ciphertext", c.Ciphertext)
				}
				creds = append(creds, c)
				return nil
			},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list credentials of provider %d: %w", providerID, err)
	}
	return creds, nil
}
