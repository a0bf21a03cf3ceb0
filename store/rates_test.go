package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestModelRates(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})

	full := ModelRate{Model: "openai/gpt-4o", InputPerM: 2_500_000, OutputPerM: 10_000_000,
		CachedReadPerM: 1_250_000, CacheWritePerM: 3_000_000, PerImage: 40_000, MinPerCall: 1}
	got, err := s.SetModelRate(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.IsZero() {
		t.Error("UpdatedAt not set")
	}
	want := full
	want.UpdatedAt = got.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SetModelRate = %+v", got)
	}
	if r, err := s.ModelRate(ctx, "openai/gpt-4o"); err != nil || !reflect.DeepEqual(r, got) {
		t.Errorf("ModelRate = %+v, %v", r, err)
	}
	if _, err := s.ModelRate(ctx, "gpt-4o"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ModelRate of a bare name with only a provider rate = %v, want ErrNotFound", err)
	}

	// Setting the same rates writes nothing; changing one replaces them all.
	n := len(auditLog(t, s))
	time.Sleep(2 * time.Millisecond)
	if same, err := s.SetModelRate(ctx, full); err != nil || !reflect.DeepEqual(same, got) {
		t.Errorf("same rates = %+v, %v", same, err)
	}
	if len(auditLog(t, s)) != n {
		t.Error("setting the same rates was audited")
	}
	changed, err := s.SetModelRate(ctx, ModelRate{Model: "openai/gpt-4o", InputPerM: 1})
	if err != nil {
		t.Fatal(err)
	}
	if changed.OutputPerM != 0 || changed.InputPerM != 1 || !changed.UpdatedAt.After(got.UpdatedAt) {
		t.Errorf("changed = %+v", changed)
	}
	if _, err := s.SetModelRate(ctx, ModelRate{Model: "gpt-4o-mini", InputPerM: 150_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetModelRate(ctx, ModelRate{Model: "anthropic/claude"}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListModelRates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, r := range list {
		models = append(models, r.Model)
	}
	if !reflect.DeepEqual(models, []string{"anthropic/claude", "gpt-4o-mini", "openai/gpt-4o"}) {
		t.Errorf("ListModelRates = %v", models)
	}

	for _, bad := range []ModelRate{
		{Model: ""},
		{Model: "gpt 4o"},
		{Model: "m", InputPerM: -1},
		{Model: "m", OutputPerM: -1},
		{Model: "m", CachedReadPerM: -1},
		{Model: "m", CacheWritePerM: -1},
		{Model: "m", PerImage: -1},
		{Model: "m", MinPerCall: -1},
	} {
		if _, err := s.SetModelRate(ctx, bad); err == nil {
			t.Errorf("SetModelRate(%+v) succeeded", bad)
		}
	}
	if _, err := s.ModelRate(ctx, "m"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an invalid rate was stored: %v", err)
	}

	if err := s.DeleteModelRate(ctx, "gpt-4o-mini"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ModelRate(ctx, "gpt-4o-mini"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted rate still there: %v", err)
	}
	if err := s.DeleteModelRate(ctx, "gpt-4o-mini"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}

	es := auditSince(t, s, n)
	wantAudit := "rate.set openai/gpt-4o\nrate.set gpt-4o-mini\nrate.set anthropic/claude\nrate.delete gpt-4o-mini\n"
	if summary(es) != wantAudit {
		t.Errorf("audit:\n%s\nwant:\n%s", summary(es), wantAudit)
	}
	if d := detail(t, es[0]); d["input_per_m"] != float64(1) || d["output_per_m"] != float64(0) || len(d) != 6 {
		t.Errorf("rate.set detail = %v", d)
	}
}
