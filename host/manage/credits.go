package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/store"
)

// maxMemoLen bounds the memo of a grant or an adjustment.
const maxMemoLen = 1024

// ParseAmount parses a decimal amount of credits ("12.5", at most six
// decimals) into micro-credits, exactly, as [config.ParseCredits] does.
// With signed, a leading "-" makes it negative (an adjustment). It returns
// a *ValidationError on field.
func ParseAmount(field, s string, signed bool) (int64, error) {
	neg := false
	if signed {
		s, neg = strings.CutPrefix(s, "-")
		if neg && strings.HasPrefix(s, "-") {
			return 0, invalid(field, "want a decimal number of credits, like -1.5")
		}
	}
	n, err := config.ParseCredits(s)
	if err != nil {
		return 0, invalid(field, "%v", err)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// checkAmount validates the amount of a grant (positive) or an
// adjustment (non-zero).
func checkAmount(amount int64, signed bool) error {
	switch {
	case amount == 0 && signed:
		return invalid("amount", "must not be zero")
	case amount <= 0 && !signed:
		return invalid("amount", "must be positive; got %s credits", config.FormatCredits(amount))
	case amount > store.MaxLedgerAmount || amount < -store.MaxLedgerAmount:
		return invalid("amount", "%s credits is more than the most one operation may move, %s",
			config.FormatCredits(amount), config.FormatCredits(store.MaxLedgerAmount))
	}
	return nil
}

func checkMemo(memo string) error {
	switch {
	case len(memo) > maxMemoLen:
		return invalid("memo", "is longer than %d bytes", maxMemoLen)
	case strings.ContainsFunc(memo, unicode.IsControl):
		return invalid("memo", "must not contain control characters")
	}
	return nil
}

// userAccount returns the account id if it is a user account, or an
// error wrapping [store.ErrNotFound].
func (s *Service) userAccount(ctx context.Context, id int64) (store.Account, error) {
	if id <= 0 {
		return store.Account{}, fmt.Errorf("account %d: %w", id, store.ErrNotFound)
	}
	return s.st.AccountByID(ctx, id)
}

// Grant credits amount micro-credits (positive) to the account
// accountID, with a memo and an optional expiry (zero: never; stored, not
// enforced yet). It goes through [Options].Granter when there is one, else
// to the store; either way it is audited as "credits.grant" with ctx's
// actor. It returns a *ValidationError for bad input and an error wrapping
// [store.ErrNotFound] for an unknown account.
func (s *Service) Grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) error {
	if err := checkAmount(amount, false); err != nil {
		return err
	}
	if err := checkMemo(memo); err != nil {
		return err
	}
	if !expires.IsZero() && !expires.After(s.opts.Now()) {
		return invalid("expires_at", "must be in the future")
	}
	if _, err := s.userAccount(ctx, accountID); err != nil {
		return err
	}
	return s.grant(ctx, accountID, amount, memo, expires)
}

func (s *Service) grant(ctx context.Context, accountID, amount int64, memo string, expires time.Time) error {
	if s.opts.Granter != nil {
		return s.opts.Granter.Grant(ctx, accountID, amount, memo, expires)
	}
	_, err := s.st.Grant(ctx, accountID, amount, memo, expires)
	return err
}

// Adjust corrects the balance of the account accountID by amount
// micro-credits, of either sign but not zero, audited as "credits.adjust"
// with ctx's actor. It writes to the store directly: a running hub
// notices within a second. It returns a *ValidationError for bad input,
// an adjustment that would take the balance below zero included, and an
// error wrapping [store.ErrNotFound] for an unknown account.
func (s *Service) Adjust(ctx context.Context, accountID, amount int64, memo string) error {
	if err := checkAmount(amount, true); err != nil {
		return err
	}
	if err := checkMemo(memo); err != nil {
		return err
	}
	if _, err := s.userAccount(ctx, accountID); err != nil {
		return err
	}
	res, err := s.st.Adjust(ctx, accountID, amount, memo)
	if errors.Is(err, store.ErrInsufficientCredits) {
		return invalid("amount", "an adjustment of %s credits would take the balance of account %d (%s credits) below zero",
			config.FormatCredits(amount), accountID, config.FormatCredits(res.Balance))
	}
	return err
}

// Balance returns the balance of the account accountID in micro-credits,
// as the database has it, or an error wrapping [store.ErrNotFound].
func (s *Service) Balance(ctx context.Context, accountID int64) (int64, error) {
	if accountID <= 0 {
		return 0, fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
	}
	return s.balance(ctx, accountID)
}

func (s *Service) balance(ctx context.Context, accountID int64) (int64, error) {
	bals, err := s.st.Balances(ctx, []int64{accountID})
	if err != nil {
		return 0, err
	}
	b, ok := bals[accountID]
	if !ok {
		return 0, fmt.Errorf("account %d: %w", accountID, store.ErrNotFound)
	}
	return b.Balance, nil
}

// A LedgerEntryView is one leg of a ledger transaction as the admin API
// and the CLI show it. Amounts are micro-credits, with a decimal copy in
// credits.
type LedgerEntryView struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	TxnID     string    `json:"txn_id"`
	RequestID string    `json:"request_id,omitempty"`
	// AccountID is the account the leg is posted to: the user account, or
	// a system account ("system:grants", "system:holds",
	// "system:revenue", "system:adjustments") for the counter leg.
	AccountID int64  `json:"account_id"`
	Account   string `json:"account"`
	// UserAccountID is the user account the transaction concerns.
	UserAccountID int64 `json:"user_account_id"`
	// Kind is grant, hold, capture, release, refund or adjustment.
	Kind string `json:"kind"`
	// Amount is signed: positive credits AccountID.
	Amount        int64           `json:"amount"`
	AmountCredits string          `json:"amount_credits"`
	Memo          string          `json:"memo"`
	Detail        json.RawMessage `json:"detail"`
	ExpiresAt     *time.Time      `json:"expires_at,omitempty"`
}

// Ledger returns the ledger entries f selects, newest first: with an
// AccountID, both legs of each of that account's transactions (tell them
// apart by AccountID). It returns an error wrapping [store.ErrNotFound]
// for an unknown account.
func (s *Service) Ledger(ctx context.Context, f store.LedgerFilter) ([]LedgerEntryView, error) {
	if f.AccountID != 0 {
		if _, err := s.userAccount(ctx, f.AccountID); err != nil {
			return nil, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return nil, invalid("until", "must be after since")
	}
	es, err := s.st.LedgerEntries(ctx, f)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	out := make([]LedgerEntryView, 0, len(es))
	for _, e := range es {
		name, ok := names[e.AccountID]
		if !ok {
			a, err := s.st.AccountByID(ctx, e.AccountID)
			if err != nil {
				return nil, fmt.Errorf("ledger entry %d: %w", e.ID, err)
			}
			name, names[e.AccountID] = a.Name, a.Name
		}
		detail := e.Detail
		if len(detail) == 0 {
			detail = json.RawMessage("{}")
		}
		out = append(out, LedgerEntryView{
			ID: e.ID, At: e.At, TxnID: e.TxnID, RequestID: e.RequestID,
			AccountID: e.AccountID, Account: name, UserAccountID: e.UserAccountID,
			Kind: e.Kind, Amount: e.Amount, AmountCredits: config.FormatCredits(e.Amount),
			Memo: e.Memo, Detail: detail, ExpiresAt: timePtr(e.ExpiresAt),
		})
	}
	return out, nil
}

// A VerifyView is a [store.VerifyReport] as the admin API and the CLI
// show it.
type VerifyView struct {
	// OK is set when no problem was found.
	OK           bool `json:"ok"`
	Accounts     int  `json:"accounts"`
	Entries      int  `json:"entries"`
	Transactions int  `json:"transactions"`
	// OpenHolds counts the holds of calls not settled yet: not problems.
	OpenHolds int `json:"open_holds"`
	// Problems describes each inconsistency found.
	Problems []string `json:"problems"`
}

// NewVerifyView returns r's view.
func NewVerifyView(r store.VerifyReport) VerifyView {
	return VerifyView{OK: len(r.Problems) == 0, Accounts: r.Accounts, Entries: r.Entries,
		Transactions: r.Transactions, OpenHolds: r.OpenHolds, Problems: nonNil(r.Problems)}
}

// VerifyLedger checks the ledger against itself: balances against
// entries, transactions against their kinds, holds against their
// settlements ([store.Store.VerifyLedger]). Problems are in the report;
// the error is for a check that could not run.
func (s *Service) VerifyLedger(ctx context.Context) (store.VerifyReport, error) {
	return s.st.VerifyLedger(ctx)
}
