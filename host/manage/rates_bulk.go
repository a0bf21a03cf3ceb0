package manage

import (
	"context"
	"errors"
	"math/big"
	"regexp"

	"github.com/aignehub/hub/store"
)

// factorPattern is an exact decimal factor: up to 6 integer and 6
// fraction digits, no sign, no exponent.
var factorPattern = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6})?$`)

// ParseFactor reads a decimal factor like "1.10" exactly, as a fraction.
// It must be positive, with at most 6 digits on each side of the point.
// It returns a *ValidationError on field "multiply".
func ParseFactor(s string) (*big.Rat, error) {
	if !factorPattern.MatchString(s) {
		return nil, invalid("multiply", "must be a positive decimal like \"1.10\" (at most 6 digits on each side of the point), as a string; got %q", s)
	}
	f, ok := new(big.Rat).SetString(s)
	if !ok || f.Sign() <= 0 {
		return nil, invalid("multiply", "must be greater than zero; got %q", s)
	}
	return f, nil
}

// errOverflow is a product past int64.
var errOverflow = errors.New("the result does not fit in 64 bits")

// MultiplyAmount returns v×f rounded to the nearest integer, halves away
// from zero, computed exactly; an error when it does not fit in an int64.
func MultiplyAmount(v int64, f *big.Rat) (int64, error) {
	n := new(big.Int).Mul(big.NewInt(v), f.Num())
	d := f.Denom()
	// round half away from zero: (2n + sign·d) / 2d, truncated
	n.Mul(n, big.NewInt(2))
	if n.Sign() >= 0 {
		n.Add(n, d)
	} else {
		n.Sub(n, d)
	}
	n.Quo(n, new(big.Int).Mul(d, big.NewInt(2)))
	if !n.IsInt64() {
		return 0, errOverflow
	}
	return n.Int64(), nil
}

// MultiplyRates multiplies every amount of the rates of models (every
// rate when all is set) by factor, an exact decimal string ("1.10" for a
// 10% margin), rounding each to the nearest micro-credit (halves up), in
// one transaction. Each changed rate is audited as "rate.set" with the
// factor ("multiply"). Exactly one of models (non-empty, no repeats) and
// all must be given. It returns the rates as stored after the change, and
// a *ValidationError for a bad factor or selection, or a model without a
// rate (field "models"); nothing changes then.
func (s *Service) MultiplyRates(ctx context.Context, models []string, all bool, factor string) ([]store.ModelRate, error) {
	f, err := ParseFactor(factor)
	if err != nil {
		return nil, err
	}
	switch {
	case all && len(models) > 0:
		return nil, invalid("models", "give models or all, not both")
	case !all && len(models) == 0:
		return nil, invalid("models", "name the models whose rates change, or set all")
	}
	seen := map[string]bool{}
	for _, m := range models {
		if m == "" || seen[m] {
			return nil, invalid("models", "must name each model once and not be empty; %q is not", m)
		}
		seen[m] = true
	}
	if all {
		models = nil
	}
	var overflow string
	rates, err := s.st.UpdateModelRates(ctx, models, func(r store.ModelRate) (store.ModelRate, error) {
		for _, a := range []*int64{&r.InputPerM, &r.OutputPerM, &r.CachedReadPerM, &r.CacheWritePerM, &r.PerImage, &r.MinPerCall} {
			v, err := MultiplyAmount(*a, f)
			if err != nil {
				overflow = r.Model
				return r, err
			}
			*a = v
		}
		return r, nil
	}, map[string]any{"multiply": factor})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, invalid("models", "%s", err.Error())
	case overflow != "":
		return nil, invalid("multiply", "the rate of %s times %s does not fit in 64 bits", overflow, factor)
	case err != nil:
		return nil, err
	}
	return rates, nil
}
