package manage

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode"

	"github.com/aignehub/hub/host/secrets"
	"github.com/aignehub/hub/store"
)

// A RateView is a [store.ModelRate] as the admin API and the CLI show it
// and take it. Amounts are int64 micro-credits; token rates are per
// 1,000,000 tokens.
type RateView struct {
	// Model is "provider/model", or a bare model name, which prices the
	// model on every provider without a rate of its own.
	Model          string `json:"model"`
	InputPerM      int64  `json:"input_per_m"`
	OutputPerM     int64  `json:"output_per_m"`
	CachedReadPerM int64  `json:"cached_read_per_m"`
	CacheWritePerM int64  `json:"cache_write_per_m"`
	PerImage       int64  `json:"per_image"`
	MinPerCall     int64  `json:"min_per_call"`
	// UpdatedAt is set by the store; it is ignored on input.
	UpdatedAt time.Time `json:"updated_at"`
}

// NewRateView returns r's view.
func NewRateView(r store.ModelRate) RateView {
	return RateView{
		Model: r.Model, InputPerM: r.InputPerM, OutputPerM: r.OutputPerM,
		CachedReadPerM: r.CachedReadPerM, CacheWritePerM: r.CacheWritePerM,
		PerImage: r.PerImage, MinPerCall: r.MinPerCall, UpdatedAt: r.UpdatedAt,
	}
}

// ModelRate returns the rate v describes.
func (v RateView) ModelRate() store.ModelRate {
	return store.ModelRate{
		Model: v.Model, InputPerM: v.InputPerM, OutputPerM: v.OutputPerM,
		CachedReadPerM: v.CachedReadPerM, CacheWritePerM: v.CacheWritePerM,
		PerImage: v.PerImage, MinPerCall: v.MinPerCall, UpdatedAt: v.UpdatedAt,
	}
}

// ListRates returns every model rate, ordered by model.
func (s *Service) ListRates(ctx context.Context) ([]store.ModelRate, error) {
	return s.st.ListModelRates(ctx)
}

// Rate returns the rate of model exactly, or an error wrapping
// [store.ErrNotFound].
func (s *Service) Rate(ctx context.Context, model string) (store.ModelRate, error) {
	return s.st.ModelRate(ctx, model)
}

// SetRate creates or replaces the rate of r.Model and returns it. It
// returns a *ValidationError for an empty model, one with white space, or
// a negative amount.
func (s *Service) SetRate(ctx context.Context, r store.ModelRate) (store.ModelRate, error) {
	switch {
	case r.Model == "":
		return store.ModelRate{}, invalid("model", "must not be empty")
	case strings.ContainsFunc(r.Model, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }):
		return store.ModelRate{}, invalid("model", "model %q must not contain white space or control characters", r.Model)
	}
	for _, a := range []struct {
		field string
		v     int64
	}{
		{"input_per_m", r.InputPerM}, {"output_per_m", r.OutputPerM},
		{"cached_read_per_m", r.CachedReadPerM}, {"cache_write_per_m", r.CacheWritePerM},
		{"per_image", r.PerImage}, {"min_per_call", r.MinPerCall},
	} {
		if a.v < 0 {
			return store.ModelRate{}, invalid(a.field, "must not be negative")
		}
	}
	return s.st.SetModelRate(ctx, r)
}

// DeleteRate deletes the rate of model, or returns an error wrapping
// [store.ErrNotFound].
func (s *Service) DeleteRate(ctx context.Context, model string) error {
	return s.st.DeleteModelRate(ctx, model)
}

// An AuditView is a [store.AuditEntry] as the admin API and the CLI show
// it.
type AuditView struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	ActorKeyID int64     `json:"actor_key_id,omitempty"`
	Action     string    `json:"action"`
	Target     string    `json:"target"`
	// Detail is a JSON object of the fields set; never a secret.
	Detail json.RawMessage `json:"detail"`
}

// NewAuditView returns e's view.
func NewAuditView(e store.AuditEntry) AuditView {
	v := AuditView{ID: e.ID, At: e.At, Actor: e.Actor, ActorKeyID: e.ActorKeyID, Action: e.Action, Target: e.Target, Detail: e.Detail}
	if len(v.Detail) == 0 {
		v.Detail = json.RawMessage("{}")
	}
	return v
}

// ListAudit returns the audit entries f selects, newest first. It
// returns a *ValidationError for a negative limit or before ID.
func (s *Service) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	switch {
	case f.Limit < 0:
		return nil, invalid("limit", "must not be negative")
	case f.BeforeID < 0:
		return nil, invalid("before", "must not be negative")
	}
	return s.st.ListAudit(ctx, f)
}

// RotateMasterKey re-encrypts every stored secret under a new master key
// with [secrets.Rotate]: dataDir holds the key file and lookupEnv (nil
// means os.LookupEnv) gives HUB_MASTER_KEY and HUB_NEW_MASTER_KEY. Every
// ciphertext is opened with the old key under secrets.AAD(provider,
// credential) and sealed with the new one, in one store transaction
// ([store.Store.RewrapCiphertexts]), audited as "master_key.rotate" with
// ctx's actor. The result holds no key material.
func (s *Service) RotateMasterKey(ctx context.Context, dataDir string, lookupEnv func(string) (string, bool)) (secrets.RotateResult, error) {
	res, err := secrets.Rotate(dataDir, lookupEnv, func(reseal func(ciphertext []byte, aad string) ([]byte, error)) (int, error) {
		return s.st.RewrapCiphertexts(ctx, func(provider string, c store.Credential) ([]byte, error) {
			return reseal(c.Ciphertext, secrets.AAD(provider, c.Name))
		})
	})
	if err != nil {
		return secrets.RotateResult{}, err
	}
	s.changed()
	return res, nil
}
