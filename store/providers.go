package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// ErrExists is returned, wrapped, when a create would take a name (or
// other unique value) that is already taken.
var ErrExists = errors.New("already exists")

// Who manages a provider or credential row.
const (
	// ManagedByConfig rows are re-applied from hub.toml at every start.
	ManagedByConfig = "config"
	// ManagedByAPI rows were made through the admin API or CLI; seeding
	// from hub.toml never touches them.
	ManagedByAPI = "api"
)

// nameRE is what provider and credential names look like: the rule of
// host/config, which also keeps "provider/credential" audit targets
// unambiguous.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// A Provider is an upstream model provider served by a provider plugin.
type Provider struct {
	ID      int64
	Name    string // unique; matches ^[a-z0-9][a-z0-9_-]*$, like "openai" or "azure-eu"
	Plugin  string // the provider plugin that serves it; non-empty
	BaseURL string
	// Config is the plugin's per-provider options, a JSON object, stored
	// compacted. Empty means {}.
	Config  json.RawMessage
	Enabled bool
	// Models are the model names the provider serves, as the upstream
	// spells them; each non-empty, without white space, and unique.
	// Empty means: discover them from the provider. Read back as nil when
	// empty.
	Models []string
	// Region is the cloud region, for providers signed with AWS SigV4.
	Region string
	// ManagedBy is ManagedByConfig or ManagedByAPI. Empty means
	// ManagedByConfig in UpsertProvider and ManagedByAPI in CreateProvider.
	ManagedBy string
	CreatedAt time.Time
	// UpdatedAt is when any other field last changed.
	UpdatedAt time.Time
}

// providerRow is a validated Provider in its stored form.
type providerRow struct {
	p      Provider
	config string
	models string
}

// normalizeProvider validates p and returns its stored form, with an empty
// ManagedBy set to managedBy.
func normalizeProvider(p Provider, managedBy string) (providerRow, error) {
	switch {
	case !nameRE.MatchString(p.Name):
		return providerRow{}, fmt.Errorf("invalid provider name %q: must match %s", p.Name, nameRE)
	case p.Plugin == "":
		return providerRow{}, errors.New("empty plugin")
	}
	if p.ManagedBy == "" {
		p.ManagedBy = managedBy
	}
	if p.ManagedBy != ManagedByConfig && p.ManagedBy != ManagedByAPI {
		return providerRow{}, fmt.Errorf("invalid managed_by %q", p.ManagedBy)
	}
	config := "{}"
	if len(p.Config) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, p.Config); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			return providerRow{}, errors.New("config is not a JSON object")
		}
		config = buf.String()
	}
	p.Config = json.RawMessage(config)
	models, err := modelsJSON("model", p.Models)
	if err != nil {
		return providerRow{}, err
	}
	if len(p.Models) == 0 {
		p.Models = nil
	}
	return providerRow{p: p, config: config, models: models}, nil
}

// modelsJSON validates a list of model names or patterns (each non-empty,
// without white space, unique) and returns it as a JSON array.
func modelsJSON(what string, models []string) (string, error) {
	seen := make(map[string]bool, len(models))
	for i, m := range models {
		switch {
		case m == "":
			return "", fmt.Errorf("%s %d: empty", what, i)
		case strings.ContainsFunc(m, unicode.IsSpace):
			return "", fmt.Errorf("%s %q: contains white space", what, m)
		case seen[m]:
			return "", fmt.Errorf("duplicate %s %q", what, m)
		}
		seen[m] = true
	}
	if len(models) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(models)
	return string(b), err
}

// parseModels reads a JSON array column; empty reads as nil.
func parseModels(s string) []string {
	var ms []string
	if err := json.Unmarshal([]byte(s), &ms); err != nil || len(ms) == 0 {
		return nil // the schema guarantees an array
	}
	return ms
}

func (r providerRow) args(now int64) map[string]any {
	return map[string]any{
		":name":       r.p.Name,
		":plugin":     r.p.Plugin,
		":base_url":   r.p.BaseURL,
		":config":     r.config,
		":enabled":    r.p.Enabled,
		":models":     r.models,
		":region":     r.p.Region,
		":managed_by": r.p.ManagedBy,
		":now":        now,
	}
}

// providerDetail is the audit detail of a provider change: every field
// for a new provider (old nil), the changed fields otherwise. Provider
// options hold settings, not secrets (those are credentials).
func providerDetail(old *Provider, p Provider) map[string]any {
	d := map[string]any{}
	set := func(name string, changed bool, v any) {
		if old == nil || changed {
			d[name] = v
		}
	}
	var o Provider
	if old != nil {
		o = *old
	}
	set("plugin", o.Plugin != p.Plugin, p.Plugin)
	set("base_url", o.BaseURL != p.BaseURL, p.BaseURL)
	set("config", !bytes.Equal(o.Config, p.Config), json.RawMessage(p.Config))
	set("enabled", o.Enabled != p.Enabled, p.Enabled)
	models := p.Models
	if models == nil {
		models = []string{}
	}
	set("models", !slices.Equal(o.Models, p.Models), models)
	set("region", o.Region != p.Region, p.Region)
	set("managed_by", o.ManagedBy != p.ManagedBy, p.ManagedBy)
	return d
}

// UpsertProvider creates the provider named p.Name or updates its Plugin,
// BaseURL, Config, Enabled, Models, Region and ManagedBy (empty meaning
// ManagedByConfig), and returns the stored row. It is how hub.toml seeds
// the store: upserting an unchanged provider writes nothing (no audit row,
// no version bump) and leaves UpdatedAt alone, so seeding on every start
// is cheap. Upserting the name of a ManagedByAPI provider takes it over.
func (s *Store) UpsertProvider(ctx context.Context, p Provider) (Provider, error) {
	row, err := normalizeProvider(p, ManagedByConfig)
	if err != nil {
		return Provider{}, fmt.Errorf("upsert provider %q: %w", p.Name, err)
	}
	var stored Provider
	err = s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		switch {
		case errors.Is(err, ErrNotFound):
			old = nil
		case err != nil:
			return err
		}
		if old != nil && sameProvider(*old, row.p) {
			stored = *old
			return nil
		}
		err = sqlitex.ExecuteFS(conn, queries, "provider_upsert.sql", &sqlitex.ExecOptions{Named: row.args(now().UnixMilli())})
		if err != nil {
			return err
		}
		n, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		if err != nil {
			return err
		}
		stored = *n
		action := "provider.create"
		if old != nil {
			action = "provider.update"
		}
		return audit(ctx, conn, action, p.Name, providerDetail(old, stored))
	})
	if err != nil {
		return Provider{}, fmt.Errorf("upsert provider %q: %w", p.Name, err)
	}
	return stored, nil
}

// sameProvider reports whether writing p over old would change nothing.
// p is normalized.
func sameProvider(old, p Provider) bool {
	return old.Plugin == p.Plugin && old.BaseURL == p.BaseURL &&
		bytes.Equal(old.Config, p.Config) && old.Enabled == p.Enabled &&
		slices.Equal(old.Models, p.Models) && old.Region == p.Region &&
		old.ManagedBy == p.ManagedBy
}

// CreateProvider creates provider p (ManagedBy empty meaning ManagedByAPI)
// and returns the stored row, or [ErrExists] if the name is taken.
func (s *Store) CreateProvider(ctx context.Context, p Provider) (Provider, error) {
	row, err := normalizeProvider(p, ManagedByAPI)
	if err != nil {
		return Provider{}, fmt.Errorf("create provider %q: %w", p.Name, err)
	}
	var stored Provider
	err = s.write(ctx, func(conn *sqlite.Conn) error {
		err := sqlitex.ExecuteFS(conn, queries, "provider_insert.sql", &sqlitex.ExecOptions{Named: row.args(now().UnixMilli())})
		if err != nil {
			return err
		}
		if conn.Changes() == 0 {
			return ErrExists
		}
		n, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		if err != nil {
			return err
		}
		stored = *n
		return audit(ctx, conn, "provider.create", p.Name, providerDetail(nil, stored))
	})
	if err != nil {
		return Provider{}, fmt.Errorf("create provider %q: %w", p.Name, err)
	}
	return stored, nil
}

// UpdateProvider overwrites the Plugin, BaseURL, Config, Enabled, Models
// and Region of the provider named p.Name (ManagedBy, ID and the times are
// ignored) and returns the stored row, or [ErrNotFound]. An update that
// changes nothing writes nothing.
func (s *Store) UpdateProvider(ctx context.Context, p Provider) (Provider, error) {
	var stored Provider
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		if err != nil {
			return err
		}
		p.ManagedBy = old.ManagedBy
		row, err := normalizeProvider(p, old.ManagedBy)
		if err != nil {
			return err
		}
		if sameProvider(*old, row.p) {
			stored = *old
			return nil
		}
		args := row.args(now().UnixMilli())
		delete(args, ":managed_by") // never changed by an update
		err = sqlitex.ExecuteFS(conn, queries, "provider_update.sql", &sqlitex.ExecOptions{Named: args})
		if err != nil {
			return err
		}
		n, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": p.Name})
		if err != nil {
			return err
		}
		stored = *n
		return audit(ctx, conn, "provider.update", p.Name, providerDetail(old, stored))
	})
	if err != nil {
		return Provider{}, fmt.Errorf("update provider %q: %w", p.Name, err)
	}
	return stored, nil
}

// DeleteProvider deletes the provider called name and its credentials, or
// returns [ErrNotFound]. It is audited as one "provider.delete" row, detail
// {"credentials": N}.
func (s *Store) DeleteProvider(ctx context.Context, name string) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := providerBy(conn, "provider_by_name.sql", map[string]any{":name": name})
		if err != nil {
			return err
		}
		var creds int64
		err = sqlitex.ExecuteFS(conn, queries, "credentials_count.sql", &sqlitex.ExecOptions{
			Named:      map[string]any{":provider_id": old.ID},
			ResultFunc: func(stmt *sqlite.Stmt) error { creds = stmt.ColumnInt64(0); return nil },
		})
		if err != nil {
			return err
		}
		// Connections enforce foreign keys (see Open), so the credentials
		// go with the provider.
		err = sqlitex.ExecuteFS(conn, queries, "provider_delete.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":id": old.ID},
		})
		if err != nil {
			return err
		}
		return audit(ctx, conn, "provider.delete", name, map[string]any{"credentials": creds})
	})
	if err != nil {
		return fmt.Errorf("delete provider %q: %w", name, err)
	}
	return nil
}

// ProviderByName returns the provider called name, or [ErrNotFound].
func (s *Store) ProviderByName(ctx context.Context, name string) (Provider, error) {
	var p *Provider
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		p, err = providerBy(conn, "provider_by_name.sql", map[string]any{":name": name})
		return err
	})
	if err != nil {
		return Provider{}, fmt.Errorf("provider %q: %w", name, err)
	}
	return *p, nil
}

// ProviderByID returns the provider with the given id, or [ErrNotFound].
func (s *Store) ProviderByID(ctx context.Context, id int64) (Provider, error) {
	var p *Provider
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		p, err = providerBy(conn, "provider_by_id.sql", map[string]any{":id": id})
		return err
	})
	if err != nil {
		return Provider{}, fmt.Errorf("provider %d: %w", id, err)
	}
	return *p, nil
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

// ProvidersVersion returns a counter that grows whenever a provider or a
// credential is created, changed or deleted, by any process. A running hub
// polls it to rebuild its routing after changes made elsewhere.
func (s *Store) ProvidersVersion(ctx context.Context) (int64, error) {
	v, err := s.version(ctx, "providers")
	if err != nil {
		return 0, fmt.Errorf("providers version: %w", err)
	}
	return v, nil
}

// version reads a row of the versions table.
func (s *Store) version(ctx context.Context, name string) (int64, error) {
	var v int64
	found := false
	err := s.read(ctx, func(conn *sqlite.Conn) error {
		return sqlitex.ExecuteFS(conn, queries, "version_get.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":name": name},
			ResultFunc: func(stmt *sqlite.Stmt) error {
				v, found = stmt.ColumnInt64(0), true
				return nil
			},
		})
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrNotFound
	}
	return v, nil
}

// providerBy returns the one provider query finds, or ErrNotFound.
func providerBy(conn *sqlite.Conn, query string, args map[string]any) (*Provider, error) {
	ps, err := providers(conn, query, args)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, ErrNotFound
	}
	return &ps[0], nil
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
				Models:    parseModels(stmt.GetText("models")),
				Region:    stmt.GetText("region"),
				ManagedBy: stmt.GetText("managed_by"),
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
//
// A credential is identified by its provider and name, and its name never
// changes: an encrypted secret is bound to both.
type Credential struct {
	ID         int64
	ProviderID int64
	Name       string // unique within the provider; matches ^[a-z0-9][a-z0-9_-]*$
	// SecretRef says where the secret comes from, like "env:OPENAI_API_KEY".
	// Empty when Ciphertext is used, or when the provider needs no secret.
	SecretRef string
	// Ciphertext is the encrypted secret, for secrets stored in the
	// database; nil when SecretRef is used. At most one of the two is set.
	Ciphertext []byte
	// Hint is the secret's masked display form: "" or "****" followed by
	// at most its last four characters. Never the secret.
	Hint string
	// Weight is the credential's share of calls. Zero means 1: use
	// Enabled to take a credential out of rotation.
	Weight  int
	Enabled bool
	// ManagedBy is ManagedByConfig or ManagedByAPI. Empty means
	// ManagedByAPI in AddCredential; ReplaceCredentials always stores
	// ManagedByConfig.
	ManagedBy string
	CreatedAt time.Time
	// UpdatedAt is when the secret, hint, weight or enabled state last
	// changed; zero if never (or before this was recorded).
	UpdatedAt time.Time
}

// validHint reports whether h is a masked hint: "" or "****" and at most
// four more characters. It keeps a secret from being stored as its hint.
func validHint(h string) bool {
	rest, ok := strings.CutPrefix(h, "****")
	return h == "" || ok && utf8.RuneCountInString(rest) <= 4
}

// normalizeCredential validates c for storing, with an empty ManagedBy set
// to managedBy and a zero Weight set to 1.
func normalizeCredential(c Credential, managedBy string) (Credential, error) {
	if c.ManagedBy == "" {
		c.ManagedBy = managedBy
	}
	switch {
	case !nameRE.MatchString(c.Name):
		return Credential{}, fmt.Errorf("invalid credential name %q: must match %s", c.Name, nameRE)
	case c.Weight < 0:
		return Credential{}, fmt.Errorf("credential %q: negative weight", c.Name)
	case c.SecretRef != "" && len(c.Ciphertext) > 0:
		return Credential{}, fmt.Errorf("credential %q: both a secret reference and a ciphertext", c.Name)
	case !validHint(c.Hint):
		return Credential{}, fmt.Errorf("credential %q: hint is not a masked secret (\"****\" and at most 4 characters)", c.Name)
	case c.ManagedBy != ManagedByConfig && c.ManagedBy != ManagedByAPI:
		return Credential{}, fmt.Errorf("credential %q: invalid managed_by %q", c.Name, c.ManagedBy)
	}
	if c.Weight == 0 {
		c.Weight = 1
	}
	if len(c.Ciphertext) == 0 {
		c.Ciphertext = nil
	}
	return c, nil
}

// sameCredential reports whether writing c over old would change nothing.
func sameCredential(old, c Credential) bool {
	return old.SecretRef == c.SecretRef && bytes.Equal(old.Ciphertext, c.Ciphertext) &&
		old.Hint == c.Hint && old.Weight == c.Weight && old.Enabled == c.Enabled &&
		old.ManagedBy == c.ManagedBy
}

// credentialDetail is the audit detail of a credential change: every field
// for a new credential (old nil), the changed ones otherwise. A ciphertext
// appears as {"secret": hint}; a secret reference ("env:NAME") as itself.
func credentialDetail(old *Credential, c Credential) map[string]any {
	d := map[string]any{}
	var o Credential
	if old != nil {
		o = *old
	}
	if old == nil || o.Weight != c.Weight {
		d["weight"] = c.Weight
	}
	if old == nil || o.Enabled != c.Enabled {
		d["enabled"] = c.Enabled
	}
	if old == nil || o.ManagedBy != c.ManagedBy {
		d["managed_by"] = c.ManagedBy
	}
	if old == nil || o.SecretRef != c.SecretRef || !bytes.Equal(o.Ciphertext, c.Ciphertext) || o.Hint != c.Hint {
		switch {
		case len(c.Ciphertext) > 0:
			d["secret"] = cmp.Or(c.Hint, "****")
		case c.SecretRef != "":
			d["secret_ref"] = c.SecretRef
		default:
			d["secret"] = nil
		}
	}
	return d
}

// credentialArgs are the named parameters of credential_update.sql, or,
// with insert set, of credential_insert.sql.
func credentialArgs(c Credential, now int64, insert bool) map[string]any {
	var ciphertext any
	if len(c.Ciphertext) > 0 {
		ciphertext = c.Ciphertext
	}
	args := map[string]any{
		":secret_ref": c.SecretRef,
		":ciphertext": ciphertext,
		":hint":       c.Hint,
		":weight":     c.Weight,
		":enabled":    c.Enabled,
		":now":        now,
	}
	if insert {
		args[":provider_id"] = c.ProviderID
		args[":name"] = c.Name
		args[":managed_by"] = c.ManagedBy
	} else {
		args[":id"] = c.ID
	}
	return args
}

// ReplaceCredentials makes creds the complete set of hub.toml-managed
// (ManagedByConfig) credentials of the provider with the given id, or
// returns [ErrNotFound] if there is no such provider. Credentials made
// through the API (ManagedByAPI) are kept untouched; a name in creds that
// one of them already has is an error.
//
// Credentials are matched by name: a credential that keeps its name keeps
// its ID and CreatedAt (so recorded calls still point at it) and has its
// other fields overwritten; config credentials not in creds are deleted.
// A credential that would not change is not written. The ID, ProviderID,
// ManagedBy, CreatedAt and UpdatedAt fields of creds are ignored.
//
// With an [Actor] in ctx, every credential created, changed or deleted
// gets its own audit row.
func (s *Store) ReplaceCredentials(ctx context.Context, providerID int64, creds []Credential) error {
	want := make([]Credential, 0, len(creds))
	seen := make(map[string]bool, len(creds))
	for i, c := range creds {
		if seen[c.Name] {
			return fmt.Errorf("replace credentials of provider %d: duplicate credential name %q", providerID, c.Name)
		}
		seen[c.Name] = true
		c.ManagedBy = ManagedByConfig
		c.ProviderID = providerID
		c, err := normalizeCredential(c, ManagedByConfig)
		if err != nil {
			return fmt.Errorf("replace credentials of provider %d: credential %d: %w", providerID, i, err)
		}
		want = append(want, c)
	}

	err := s.write(ctx, func(conn *sqlite.Conn) error {
		p, err := providerBy(conn, "provider_by_id.sql", map[string]any{":id": providerID})
		if err != nil {
			return err
		}
		existing, err := credentials(conn, "credentials_list.sql", map[string]any{":provider_id": providerID})
		if err != nil {
			return err
		}
		byName := make(map[string]Credential, len(existing))
		for _, c := range existing {
			byName[c.Name] = c.Credential
		}
		ts := now().UnixMilli()
		for _, c := range existing {
			if c.ManagedBy != ManagedByConfig || seen[c.Name] {
				continue
			}
			if err := deleteCredential(ctx, conn, p.Name, c.Credential); err != nil {
				return err
			}
		}
		for _, c := range want {
			old, ok := byName[c.Name]
			switch {
			case ok && old.ManagedBy != ManagedByConfig:
				return fmt.Errorf("credential %q: the name is taken by a credential managed by the %s", c.Name, old.ManagedBy)
			case ok && sameCredential(old, c):
				continue
			case ok:
				c.ID = old.ID
				err = sqlitex.ExecuteFS(conn, queries, "credential_update.sql", &sqlitex.ExecOptions{Named: credentialArgs(c, ts, false)})
				if err == nil {
					err = audit(ctx, conn, "credential.update", p.Name+"/"+c.Name, credentialDetail(&old, c))
				}
			default:
				err = sqlitex.ExecuteFS(conn, queries, "credential_insert.sql", &sqlitex.ExecOptions{Named: credentialArgs(c, ts, true)})
				if err == nil {
					err = audit(ctx, conn, "credential.create", p.Name+"/"+c.Name, credentialDetail(nil, c))
				}
			}
			if err != nil {
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

// deleteCredential deletes c and audits it, in the caller's transaction.
func deleteCredential(ctx context.Context, conn *sqlite.Conn, provider string, c Credential) error {
	err := sqlitex.ExecuteFS(conn, queries, "credential_delete.sql", &sqlitex.ExecOptions{
		Named: map[string]any{":id": c.ID},
	})
	if err != nil {
		return fmt.Errorf("credential %q: %w", c.Name, err)
	}
	return audit(ctx, conn, "credential.delete", provider+"/"+c.Name, map[string]any{"id": c.ID})
}

// AddCredential adds credential c to the provider with the given id and
// returns the stored row. c.ManagedBy empty means ManagedByAPI; a zero
// Weight means 1; at most one of SecretRef and Ciphertext may be set
// (neither, for a provider that needs no secret). It returns [ErrNotFound]
// if there is no such provider and [ErrExists] if the provider already has
// a credential of that name.
func (s *Store) AddCredential(ctx context.Context, providerID int64, c Credential) (Credential, error) {
	c.ProviderID = providerID
	c, err := normalizeCredential(c, ManagedByAPI)
	if err != nil {
		return Credential{}, fmt.Errorf("add credential to provider %d: %w", providerID, err)
	}
	var stored Credential
	err = s.write(ctx, func(conn *sqlite.Conn) error {
		p, err := providerBy(conn, "provider_by_id.sql", map[string]any{":id": providerID})
		if err != nil {
			return err
		}
		var id int64
		err = sqlitex.ExecuteFS(conn, queries, "credential_insert.sql", &sqlitex.ExecOptions{
			Named:      credentialArgs(c, now().UnixMilli(), true),
			ResultFunc: func(stmt *sqlite.Stmt) error { id = stmt.GetInt64("id"); return nil },
		})
		if err != nil {
			return err
		}
		if id == 0 {
			return fmt.Errorf("credential %q: %w", c.Name, ErrExists)
		}
		n, err := credentialBy(conn, id)
		if err != nil {
			return err
		}
		stored = n.Credential
		return audit(ctx, conn, "credential.create", p.Name+"/"+c.Name, credentialDetail(nil, stored))
	})
	if err != nil {
		return Credential{}, fmt.Errorf("add credential to provider %d: %w", providerID, err)
	}
	return stored, nil
}

// A CredentialPatch lists the fields of a credential to change; nil fields
// are left alone. The name never changes.
type CredentialPatch struct {
	Weight  *int // zero means 1
	Enabled *bool
	// SecretRef, when set, replaces the secret with a reference and clears
	// Ciphertext; "" removes the secret altogether.
	SecretRef *string
	// Ciphertext, when non-empty, replaces the secret with this encrypted
	// one and clears SecretRef.
	Ciphertext []byte
	// Hint sets the masked hint. When the secret changes and Hint is nil,
	// the old hint, which no longer describes it, is cleared.
	Hint *string
}

// UpdateCredential applies patch to the credential with the given id and
// returns the stored row, or [ErrNotFound]. A patch that changes nothing
// writes nothing.
func (s *Store) UpdateCredential(ctx context.Context, id int64, patch CredentialPatch) (Credential, error) {
	if patch.SecretRef != nil && len(patch.Ciphertext) > 0 {
		return Credential{}, fmt.Errorf("update credential %d: both a secret reference and a ciphertext", id)
	}
	var stored Credential
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := credentialBy(conn, id)
		if err != nil {
			return err
		}
		c := old.Credential
		if len(patch.Ciphertext) > 0 {
			c.Ciphertext, c.SecretRef, c.Hint = patch.Ciphertext, "", ""
		}
		if patch.SecretRef != nil {
			c.SecretRef, c.Ciphertext, c.Hint = *patch.SecretRef, nil, ""
		}
		if patch.Hint != nil {
			c.Hint = *patch.Hint
		} else if c.SecretRef == old.SecretRef && bytes.Equal(c.Ciphertext, old.Ciphertext) {
			c.Hint = old.Hint // the secret did not change: neither does its hint
		}
		if patch.Weight != nil {
			c.Weight = *patch.Weight
		}
		if patch.Enabled != nil {
			c.Enabled = *patch.Enabled
		}
		c, err = normalizeCredential(c, old.ManagedBy)
		if err != nil {
			return err
		}
		if sameCredential(old.Credential, c) {
			stored = old.Credential
			return nil
		}
		err = sqlitex.ExecuteFS(conn, queries, "credential_update.sql", &sqlitex.ExecOptions{Named: credentialArgs(c, now().UnixMilli(), false)})
		if err != nil {
			return err
		}
		n, err := credentialBy(conn, id)
		if err != nil {
			return err
		}
		stored = n.Credential
		return audit(ctx, conn, "credential.update", old.provider+"/"+c.Name, credentialDetail(&old.Credential, stored))
	})
	if err != nil {
		return Credential{}, fmt.Errorf("update credential %d: %w", id, err)
	}
	return stored, nil
}

// CredentialByID returns the credential with the given id, or
// [ErrNotFound].
func (s *Store) CredentialByID(ctx context.Context, id int64) (Credential, error) {
	var c providerCredential
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		c, err = credentialBy(conn, id)
		return err
	})
	if err != nil {
		return Credential{}, fmt.Errorf("credential %d: %w", id, err)
	}
	return c.Credential, nil
}

// DeleteCredential deletes the credential with the given id, or returns
// [ErrNotFound].
func (s *Store) DeleteCredential(ctx context.Context, id int64) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		c, err := credentialBy(conn, id)
		if err != nil {
			return err
		}
		return deleteCredential(ctx, conn, c.provider, c.Credential)
	})
	if err != nil {
		return fmt.Errorf("delete credential %d: %w", id, err)
	}
	return nil
}

// ListCredentials returns the credentials of the provider with the given
// id, oldest first. A provider that does not exist has none.
func (s *Store) ListCredentials(ctx context.Context, providerID int64) ([]Credential, error) {
	creds, err := s.listCredentials(ctx, "credentials_list.sql", map[string]any{":provider_id": providerID})
	if err != nil {
		return nil, fmt.Errorf("list credentials of provider %d: %w", providerID, err)
	}
	return creds, nil
}

// ListAllCredentials returns the credentials of every provider, ordered by
// provider ID, then oldest first.
func (s *Store) ListAllCredentials(ctx context.Context) ([]Credential, error) {
	creds, err := s.listCredentials(ctx, "credentials_list_all.sql", nil)
	if err != nil {
		return nil, fmt.Errorf("list all credentials: %w", err)
	}
	return creds, nil
}

func (s *Store) listCredentials(ctx context.Context, query string, args map[string]any) ([]Credential, error) {
	var pcs []providerCredential
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		pcs, err = credentials(conn, query, args)
		return err
	})
	if err != nil {
		return nil, err
	}
	creds := make([]Credential, len(pcs))
	for i, c := range pcs {
		creds[i] = c.Credential
	}
	return creds, nil
}

// RewrapCiphertexts re-encrypts every stored secret in one immediate
// transaction, for a master key rotation: fn is given each credential that
// has a Ciphertext, with the name of its provider, and returns the new
// ciphertext. Nothing else about the credential changes (not UpdatedAt
// either). If fn fails for any credential, nothing is rewritten and the
// error is returned, naming the credential. It returns how many
// credentials were rewritten.
//
// With an [Actor] in ctx, the rotation is audited as one
// "master_key.rotate" row, detail {"credentials": N}.
func (s *Store) RewrapCiphertexts(ctx context.Context, fn func(providerName string, c Credential) ([]byte, error)) (int, error) {
	n := 0
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		n = 0
		creds, err := credentials(conn, "credentials_with_ciphertext.sql", nil)
		if err != nil {
			return err
		}
		for _, c := range creds {
			ct, err := fn(c.provider, c.Credential)
			if err == nil && len(ct) == 0 {
				err = errors.New("empty ciphertext")
			}
			if err != nil {
				return fmt.Errorf("credential %s/%s: %w", c.provider, c.Name, err)
			}
			err = sqlitex.ExecuteFS(conn, queries, "credential_set_ciphertext.sql", &sqlitex.ExecOptions{
				Named: map[string]any{":id": c.ID, ":ciphertext": ct},
			})
			if err != nil {
				return fmt.Errorf("credential %s/%s: %w", c.provider, c.Name, err)
			}
			n++
		}
		return audit(ctx, conn, "master_key.rotate", "", map[string]any{"credentials": n})
	})
	if err != nil {
		return 0, fmt.Errorf("rewrap ciphertexts: %w", err)
	}
	return n, nil
}

// providerCredential is a Credential with its provider's name.
type providerCredential struct {
	Credential
	provider string
}

// credentialBy returns the credential with the given id, or ErrNotFound.
func credentialBy(conn *sqlite.Conn, id int64) (providerCredential, error) {
	cs, err := credentials(conn, "credential_by_id.sql", map[string]any{":id": id})
	if err != nil {
		return providerCredential{}, err
	}
	if len(cs) == 0 {
		return providerCredential{}, ErrNotFound
	}
	return cs[0], nil
}

func credentials(conn *sqlite.Conn, query string, args map[string]any) ([]providerCredential, error) {
	var creds []providerCredential
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: args,
		ResultFunc: func(stmt *sqlite.Stmt) error {
			c := providerCredential{
				Credential: Credential{
					ID:         stmt.GetInt64("id"),
					ProviderID: stmt.GetInt64("provider_id"),
					Name:       stmt.GetText("name"),
					SecretRef:  stmt.GetText("secret_ref"),
					Hint:       stmt.GetText("hint"),
					Weight:     int(stmt.GetInt64("weight")),
					Enabled:    stmt.GetBool("enabled"),
					ManagedBy:  stmt.GetText("managed_by"),
					CreatedAt:  timeCol(stmt, "created_at"),
				},
				provider: stmt.GetText("provider_name"),
			}
			if ms := stmt.GetInt64("updated_at"); ms != 0 { // 0: before 0002
				c.UpdatedAt = time.UnixMilli(ms)
			}
			if !stmt.IsNull("ciphertext") {
				c.Ciphertext = make([]byte, stmt.GetLen("ciphertext"))
				stmt.GetBytes("ciphertext", c.Ciphertext)
			}
			creds = append(creds, c)
			return nil
		},
	})
	return creds, err
}
