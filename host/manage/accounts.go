package manage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aignehub/hub/host/config"
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
	// Balance is the account's available credits in micro-credits, as the
	// database has them: grants and adjustments, minus what calls hold or
	// were charged.
	Balance int64 `json:"balance"`
	// BalanceCredits is Balance as a decimal amount of credits ("12.5").
	BalanceCredits string `json:"balance_credits"`
}

// NewAccountGrantMemo is the memo of the grant an account gets when it
// is created ([Options].NewAccountGrant).
const NewAccountGrantMemo = "new account grant"

// reservedAccountPrefix starts the names of the ledger's system accounts,
// which no account may take.
const reservedAccountPrefix = "system:"

// checkAccountName validates an account's name: a label not starting with
// "system:".
func checkAccountName(field, name string) error {
	if err := checkLabel(field, name, false); err != nil {
		return err
	}
	if strings.HasPrefix(name, reservedAccountPrefix) {
		return invalid(field, "names starting with %q are reserved for the ledger's system accounts", reservedAccountPrefix)
	}
	return nil
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

func newAccountView(a store.Account, keys int, balance int64) AccountView {
	return AccountView{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt, Keys: keys,
		Balance: balance, BalanceCredits: config.FormatCredits(balance)}
}

// ListAccounts returns every account with its balance, oldest first.
func (s *Service) ListAccounts(ctx context.Context) ([]AccountView, error) {
	as, err := s.st.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	n, err := s.keyCounts(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(as))
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	bals, err := s.st.Balances(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]AccountView, 0, len(as))
	for _, a := range as {
		out = append(out, newAccountView(a, n[a.ID], bals[a.ID].Balance))
	}
	return out, nil
}

// Account returns the account with the given id, or an error wrapping
// [store.ErrNotFound].
func (s *Service) Account(ctx context.Context, id int64) (AccountView, error) {
	if id <= 0 { // the ledger's system accounts
		return AccountView{}, fmt.Errorf("account %d: %w", id, store.ErrNotFound)
	}
	a, err := s.st.AccountByID(ctx, id)
	if err != nil {
		return AccountView{}, err
	}
	return s.accountView(ctx, a)
}

// ResolveAccount returns the account that ref names: the account called
// ref if there is one, else, if ref is a positive integer, the account
// with that ID. It returns an error wrapping [store.ErrNotFound] if there
// is neither.
func (s *Service) ResolveAccount(ctx context.Context, ref string) (AccountView, error) {
	a, err := s.st.AccountByName(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
			a, err = s.st.AccountByID(ctx, id)
		}
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return AccountView{}, fmt.Errorf("account %q (a name or an id): %w", ref, store.ErrNotFound)
		}
		return AccountView{}, err
	}
	if strings.HasPrefix(a.Name, reservedAccountPrefix) {
		return AccountView{}, fmt.Errorf("account %q: %w", ref, store.ErrNotFound)
	}
	return s.accountView(ctx, a)
}

func (s *Service) accountView(ctx context.Context, a store.Account) (AccountView, error) {
	keys, err := s.st.ListAPIKeysByAccount(ctx, a.ID)
	if err != nil {
		return AccountView{}, err
	}
	bal, err := s.balance(ctx, a.ID)
	if err != nil {
		return AccountView{}, err
	}
	return newAccountView(a, len(keys), bal), nil
}

// CreateAccount creates the account called name and, with
// [Options].NewAccountGrant set, grants it that many micro-credits. It
// returns a *ValidationError for a bad name (empty, control characters,
// white space at either end, over 128 bytes, starting with "system:") and
// an error wrapping [store.ErrExists] if the name is taken. Should the
// grant fail, the account exists without it and the error says so.
func (s *Service) CreateAccount(ctx context.Context, name string) (AccountView, error) {
	if err := checkAccountName("name", name); err != nil {
		return AccountView{}, err
	}
	a, err := s.st.CreateAccount(ctx, name)
	if err != nil {
		return AccountView{}, err
	}
	if err := s.newAccountGrant(ctx, a); err != nil {
		return AccountView{}, err
	}
	return s.accountView(ctx, a)
}

// newAccountGrant grants a new account Options.NewAccountGrant.
func (s *Service) newAccountGrant(ctx context.Context, a store.Account) error {
	if s.opts.NewAccountGrant <= 0 {
		return nil
	}
	if err := s.grant(ctx, a.ID, s.opts.NewAccountGrant, NewAccountGrantMemo, time.Time{}); err != nil {
		return fmt.Errorf("account %q (id %d) was created, but its new account grant failed: %w", a.Name, a.ID, err)
	}
	return nil
}

// RenameAccount renames the account with the given id. It returns a
// *ValidationError for a bad name, an error wrapping [store.ErrNotFound]
// if there is no such account and one wrapping [store.ErrExists] if
// another account has the name.
func (s *Service) RenameAccount(ctx context.Context, id int64, name string) (AccountView, error) {
	if err := checkAccountName("name", name); err != nil {
		return AccountView{}, err
	}
	if id <= 0 {
		return AccountView{}, fmt.Errorf("account %d: %w", id, store.ErrNotFound)
	}
	a, err := s.st.RenameAccount(ctx, id, name)
	if err != nil {
		return AccountView{}, err
	}
	return s.accountView(ctx, a)
}
