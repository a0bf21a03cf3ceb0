package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// A ModelRate is the price of a model, in micro-credits (int64, like all
// money in the hub). Token rates are per 1,000,000 tokens.
type ModelRate struct {
	// Model is "provider/model", or a bare model name, which prices that
	// model on every provider without a provider-specific rate. Non-empty,
	// without white space.
	Model          string
	InputPerM      int64 // prompt tokens not read from a cache
	OutputPerM     int64 // completion tokens, reasoning included
	CachedReadPerM int64 // prompt tokens read from the provider's cache
	CacheWritePerM int64 // prompt tokens written to the provider's cache
	PerImage       int64 // each generated image
	MinPerCall     int64 // the least a call costs
	UpdatedAt      time.Time
}

func (r ModelRate) validate() error {
	switch {
	case r.Model == "":
		return errors.New("empty model")
	case strings.ContainsFunc(r.Model, unicode.IsSpace):
		return fmt.Errorf("model %q contains white space", r.Model)
	case r.InputPerM < 0, r.OutputPerM < 0, r.CachedReadPerM < 0, r.CacheWritePerM < 0,
		r.PerImage < 0, r.MinPerCall < 0:
		return errors.New("negative rate")
	}
	return nil
}

// sameRates reports whether a and b charge the same.
func sameRates(a, b ModelRate) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	return a == b
}

func rateDetail(r ModelRate) map[string]any {
	return map[string]any{
		"input_per_m":       r.InputPerM,
		"output_per_m":      r.OutputPerM,
		"cached_read_per_m": r.CachedReadPerM,
		"cache_write_per_m": r.CacheWritePerM,
		"per_image":         r.PerImage,
		"min_per_call":      r.MinPerCall,
	}
}

// putModelRate stores r (with its UpdatedAt) in place of the rate of
// r.Model and audits it as "rate.set" with its amounts and the fields of
// note.
func putModelRate(ctx context.Context, conn *sqlite.Conn, r ModelRate, note map[string]any) error {
	err := sqlitex.ExecuteFS(conn, queries, "model_rate_upsert.sql", &sqlitex.ExecOptions{
		Named: map[string]any{
			":model":             r.Model,
			":input_per_m":       r.InputPerM,
			":output_per_m":      r.OutputPerM,
			":cached_read_per_m": r.CachedReadPerM,
			":cache_write_per_m": r.CacheWritePerM,
			":per_image":         r.PerImage,
			":min_per_call":      r.MinPerCall,
			":now":               r.UpdatedAt.UnixMilli(),
		},
	})
	if err != nil {
		return err
	}
	detail := rateDetail(r)
	maps.Copy(detail, note)
	return audit(ctx, conn, "rate.set", r.Model, detail)
}

// SetModelRate creates or replaces the rate of r.Model and returns the
// stored row (UpdatedAt is ignored on input). A negative rate is an error.
// Setting the rate a model already has writes nothing.
func (s *Store) SetModelRate(ctx context.Context, r ModelRate) (ModelRate, error) {
	if err := r.validate(); err != nil {
		return ModelRate{}, fmt.Errorf("set model rate %q: %w", r.Model, err)
	}
	var stored ModelRate
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		old, err := modelRateBy(conn, r.Model)
		switch {
		case err == nil && sameRates(old, r):
			stored = old
			return nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		}
		r.UpdatedAt = now()
		if err := putModelRate(ctx, conn, r, nil); err != nil {
			return err
		}
		stored = r
		return nil
	})
	if err != nil {
		return ModelRate{}, fmt.Errorf("set model rate %q: %w", r.Model, err)
	}
	return stored, nil
}

// ModelRate returns the rate of model, or [ErrNotFound]. model is looked
// up exactly: the caller decides whether to fall back from
// "provider/model" to the bare model name.
func (s *Store) ModelRate(ctx context.Context, model string) (ModelRate, error) {
	var r ModelRate
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		r, err = modelRateBy(conn, model)
		return err
	})
	if err != nil {
		return ModelRate{}, fmt.Errorf("model rate %q: %w", model, err)
	}
	return r, nil
}

// ListModelRates returns every rate, ordered by model.
func (s *Store) ListModelRates(ctx context.Context) ([]ModelRate, error) {
	var rs []ModelRate
	err := s.read(ctx, func(conn *sqlite.Conn) (err error) {
		rs, err = modelRates(conn, "model_rates_list.sql", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list model rates: %w", err)
	}
	return rs, nil
}

// DeleteModelRate deletes the rate of model, or returns [ErrNotFound].
func (s *Store) DeleteModelRate(ctx context.Context, model string) error {
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		err := sqlitex.ExecuteFS(conn, queries, "model_rate_delete.sql", &sqlitex.ExecOptions{
			Named: map[string]any{":model": model},
		})
		if err != nil {
			return err
		}
		if conn.Changes() == 0 {
			return ErrNotFound
		}
		return audit(ctx, conn, "rate.delete", model, nil)
	})
	if err != nil {
		return fmt.Errorf("delete model rate %q: %w", model, err)
	}
	return nil
}

func modelRateBy(conn *sqlite.Conn, model string) (ModelRate, error) {
	rs, err := modelRates(conn, "model_rate_by_model.sql", map[string]any{":model": model})
	if err != nil {
		return ModelRate{}, err
	}
	if len(rs) == 0 {
		return ModelRate{}, ErrNotFound
	}
	return rs[0], nil
}

func modelRates(conn *sqlite.Conn, query string, args map[string]any) ([]ModelRate, error) {
	var rs []ModelRate
	err := sqlitex.ExecuteFS(conn, queries, query, &sqlitex.ExecOptions{
		Named: args,
		ResultFunc: func(stmt *sqlite.Stmt) error {
			rs = append(rs, ModelRate{
				Model:          stmt.GetText("model"),
				InputPerM:      stmt.GetInt64("input_per_m"),
				OutputPerM:     stmt.GetInt64("output_per_m"),
				CachedReadPerM: stmt.GetInt64("cached_read_per_m"),
				CacheWritePerM: stmt.GetInt64("cache_write_per_m"),
				PerImage:       stmt.GetInt64("per_image"),
				MinPerCall:     stmt.GetInt64("min_per_call"),
				UpdatedAt:      timeCol(stmt, "updated_at"),
			})
			return nil
		},
	})
	return rs, err
}
