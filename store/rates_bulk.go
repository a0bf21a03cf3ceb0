package store

import (
	"context"
	"fmt"
	"maps"

	"zombiezen.com/go/sqlite"
	"zombiezen.com/go/sqlite/sqlitex"
)

// UpdateModelRates changes many rates in one transaction: it reads the
// rates of models (every rate when models is nil), passes each to update,
// and stores what update returns (its Model and UpdatedAt are ignored).
// Each rate that changes is audited as "rate.set" with its new amounts and
// the fields of note. It returns every rate read, as stored after the
// change, ordered like models (by model when models is nil). A model in
// models without a rate fails the whole change with an error wrapping
// [ErrNotFound]; an error from update, or a negative amount, fails it too,
// and nothing is written.
func (s *Store) UpdateModelRates(ctx context.Context, models []string, update func(ModelRate) (ModelRate, error), note map[string]any) ([]ModelRate, error) {
	var out []ModelRate
	err := s.write(ctx, func(conn *sqlite.Conn) error {
		var old []ModelRate
		if models == nil {
			rs, err := modelRates(conn, "model_rates_list.sql", nil)
			if err != nil {
				return err
			}
			old = rs
		}
		for _, m := range models {
			r, err := modelRateBy(conn, m)
			if err != nil {
				return fmt.Errorf("model rate %q: %w", m, err)
			}
			old = append(old, r)
		}
		at := now()
		for _, o := range old {
			r, err := update(o)
			if err != nil {
				return fmt.Errorf("model rate %q: %w", o.Model, err)
			}
			r.Model, r.UpdatedAt = o.Model, o.UpdatedAt
			if err := r.validate(); err != nil {
				return fmt.Errorf("model rate %q: %w", o.Model, err)
			}
			if sameRates(o, r) {
				out = append(out, o)
				continue
			}
			r.UpdatedAt = at
			err = sqlitex.ExecuteFS(conn, queries, "model_rate_upsert.sql", &sqlitex.ExecOptions{
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
			if err := audit(ctx, conn, "rate.set", r.Model, detail); err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update model rates: %w", err)
	}
	return out, nil
}
