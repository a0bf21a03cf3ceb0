package store

import (
	"context"
	"fmt"

	"zombiezen.com/go/sqlite"
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
			if err := putModelRate(ctx, conn, r, note); err != nil {
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
