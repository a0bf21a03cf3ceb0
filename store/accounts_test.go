package store

import (
	"context"
	"errors"
	"testing"
)

func TestAccounts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t, Options{})

	a, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "acme" || a.CreatedAt.IsZero() {
		t.Fatalf("EnsureAccount = %+v", a)
	}
	again, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if again != a {
		t.Errorf("second EnsureAccount = %+v, want %+v", again, a)
	}
	b, err := s.EnsureAccount(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	if b.ID == a.ID {
		t.Errorf("two accounts share ID %d", a.ID)
	}

	byID, err := s.AccountByID(ctx, a.ID)
	if err != nil || byID != a {
		t.Errorf("AccountByID = %+v, %v; want %+v", byID, err, a)
	}
	byName, err := s.AccountByName(ctx, "globex")
	if err != nil || byName != b {
		t.Errorf("AccountByName = %+v, %v; want %+v", byName, err, b)
	}

	if _, err := s.AccountByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("AccountByID(9999) = %v, want ErrNotFound", err)
	}
	if _, err := s.AccountByName(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("AccountByName(nobody) = %v, want ErrNotFound", err)
	}
	if _, err := s.EnsureAccount(ctx, ""); err == nil {
		t.Error("EnsureAccount(\"\") succeeded")
	}
}
