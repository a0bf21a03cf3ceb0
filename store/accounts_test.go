package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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

func TestCreateListRenameAccounts(t *testing.T) {
	ctx := actorCtx()
	s, _ := openTest(t, Options{})

	a, err := s.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Name != "acme" || a.CreatedAt.IsZero() {
		t.Fatalf("CreateAccount = %+v", a)
	}
	b, err := s.CreateAccount(ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	n := len(auditLog(t, s))
	for _, tt := range []struct {
		name    string
		do      func() error
		wantErr error
	}{
		{"create taken", func() error { _, err := s.CreateAccount(ctx, "acme"); return err }, ErrExists},
		{"create empty", func() error { _, err := s.CreateAccount(ctx, ""); return err }, nil},
		{"rename unknown", func() error { _, err := s.RenameAccount(ctx, 9999, "x"); return err }, ErrNotFound},
		{"rename to taken", func() error { _, err := s.RenameAccount(ctx, a.ID, "globex"); return err }, ErrExists},
		{"rename to empty", func() error { _, err := s.RenameAccount(ctx, a.ID, ""); return err }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	if len(auditLog(t, s)) != n {
		t.Error("failed account changes were audited")
	}

	// EnsureAccount audits only when it creates.
	if _, err := s.EnsureAccount(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	c, err := s.EnsureAccount(ctx, "initech")
	if err != nil {
		t.Fatal(err)
	}

	renamed, err := s.RenameAccount(ctx, a.ID, "acme-corp")
	if err != nil {
		t.Fatal(err)
	}
	if renamed.ID != a.ID || renamed.Name != "acme-corp" || !renamed.CreatedAt.Equal(a.CreatedAt) {
		t.Errorf("renamed = %+v", renamed)
	}
	if same, err := s.RenameAccount(ctx, a.ID, "acme-corp"); err != nil || same != renamed {
		t.Errorf("renaming to the same name = %+v, %v", same, err)
	}
	if got, err := s.AccountByName(ctx, "acme-corp"); err != nil || got != renamed {
		t.Errorf("AccountByName(new name) = %+v, %v", got, err)
	}
	if _, err := s.AccountByName(ctx, "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}

	list, err := s.ListAccounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Account{renamed, b, c}; !reflect.DeepEqual(list, want) {
		t.Errorf("ListAccounts = %+v\nwant %+v", list, want)
	}

	es := auditSince(t, s, n)
	want := fmt.Sprintf("account.create account:%d\naccount.update account:%d\n", c.ID, a.ID)
	if summary(es) != want {
		t.Fatalf("audit:\n%s\nwant:\n%s", summary(es), want)
	}
	if string(es[1].Detail) != `{"name":"acme-corp","old_name":"acme"}` {
		t.Errorf("rename detail = %s", es[1].Detail)
	}
	if all := auditLog(t, s); all[0].Action != "account.create" || string(all[0].Detail) != `{"name":"acme"}` {
		t.Errorf("first entry = %+v", all[0])
	}
}
