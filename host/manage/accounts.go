package manage

import (
	"context"
	"time"

	"github.com/aignehub/hub/store"
)

// An AccountView is an account as the admin API and the CLI show it.
type AccountView struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// Keys is the number of the account's API keys, revoked and expired
	// ones included.
	Keys int `json:"keys"`
}

// keyCounts counts the keys of every account.
func (s *Service) keyCounts(ctx context.Context) (map[int64]int, error) {
	keys, err := s.st.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	n := map[int64]int{}
	for _, k := range keys {
		n[k.AccountID]++
	}
	return n, nil
}

// ListAccounts returns every account, oldest first.
func (s *Service) ListAccounts(ctx context.Context) ([]AccountView, error) {
	as, err := s.st.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.keyCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AccountView, 0, len(as))
	for _, a := range as {
		out = append(out, AccountView{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt, Keys: n[a.ID]})
	}
	return out, nil
}

// Account returns the account with the given id, or an error wrapping
// [store.ErrNotFound].
func (s *Service) Account(ctx context.Context, id int64) (AccountView, error) {
	a, err := s.st.AccountByID(ctx, id)
	if err != nil {
		return AccountView{}, err
	}
	return s.accountView(ctx, a)
}

func (s *Service) accountView(ctx context.Context, a store.Account) (AccountView, error) {
	keys, err := s.st.ListAPIKeysByAccount(ctx, a.ID)
	if err != nil {
		return AccountView{}, err
	}
	return AccountView{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt, Keys: len(keys)}, nil
}

// CreateAccount creates the account called name. It returns a
// *ValidationError for a bad name (empty, control characters, white space
// at either end, over 128 bytes) and an error wrapping [store.ErrExists]
// if the name is taken.
func (s *Service) CreateAccount(ctx context.Context, name string) (AccountView, error) {
	if err := checkLabel("name", name, false); err != nil {
		return AccountView{}, err
	}
	a, err := s.st.CreateAccount(ctx, name)
	if err != nil {
		return AccountView{}, err
	}
	return AccountView{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt}, nil
}

// RenameAccount renames the account with the given id. It returns a
// *ValidationError for a bad name, an error wrapping [store.ErrNotFound]
// if there is no such account and one wrapping [store.ErrExists] if
// another account has the name.
func (s *Service) RenameAccount(ctx context.Context, id int64, name string) (AccountView, error) {
	if err := checkLabel("name", name, false); err != nil {
		return AccountView{}, err
	}
	a, err := s.st.RenameAccount(ctx, id, name)
	if err != nil {
		return AccountView{}, err
	}
	return s.accountView(ctx, a)
}
