package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/aignehub/hub/host/apierr"
	"github.com/aignehub/hub/host/config"
	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// creditsBody is the body of a grant or an adjustment: the amount as
// decimal credits ("12.5"; an adjustment's may be negative) or as
// micro-credits, not both.
type creditsBody struct {
	Amount      *string    `json:"amount"`
	AmountMicro *int64     `json:"amount_micro"`
	Memo        string     `json:"memo"`
	ExpiresAt   *time.Time `json:"expires_at"` // grants only
}

// amount returns the body's amount in micro-credits.
func (b creditsBody) amount(signed bool) (int64, error) {
	switch {
	case b.Amount != nil && b.AmountMicro != nil:
		return 0, apierr.BadRequest("amount", "Give amount (decimal credits, like \"12.5\") or amount_micro (micro-credits), not both.")
	case b.AmountMicro != nil:
		return *b.AmountMicro, nil
	case b.Amount != nil:
		return manage.ParseAmount("amount", *b.Amount, signed)
	}
	return 0, apierr.BadRequest("amount", "The amount is required: amount (decimal credits, like \"12.5\") or amount_micro (micro-credits).")
}

// CreditsResult is the answer to a grant or an adjustment: the amount
// posted and the account's balance after it, in micro-credits and as
// decimal credits.
type CreditsResult struct {
	AccountID      int64  `json:"account_id"`
	Amount         int64  `json:"amount"`
	AmountCredits  string `json:"amount_credits"`
	Balance        int64  `json:"balance"`
	BalanceCredits string `json:"balance_credits"`
}

func (h *Handler) creditsResult(r *http.Request, account, amount int64) (result, error) {
	bal, err := h.opts.Manage.Balance(r.Context(), account)
	if err != nil {
		return result{}, err
	}
	return createdJSON(CreditsResult{AccountID: account, Amount: amount, AmountCredits: config.FormatCredits(amount),
		Balance: bal, BalanceCredits: config.FormatCredits(bal)})
}

// grant credits an account, audited as credits.grant.
func (h *Handler) grant(r *http.Request, ps httprouter.Params) (result, error) {
	aid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	var b creditsBody
	if err := decode(r, &b); err != nil {
		return result{}, err
	}
	amount, err := b.amount(false)
	if err != nil {
		return result{}, err
	}
	var expires time.Time
	if b.ExpiresAt != nil {
		expires = *b.ExpiresAt
	}
	if err := h.opts.Manage.Grant(r.Context(), aid, amount, b.Memo, expires); err != nil {
		return result{}, err
	}
	return h.creditsResult(r, aid, amount)
}

// adjust corrects an account's balance, audited as credits.adjust.
func (h *Handler) adjust(r *http.Request, ps httprouter.Params) (result, error) {
	aid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	var b creditsBody
	if err := decode(r, &b); err != nil {
		return result{}, err
	}
	if b.ExpiresAt != nil {
		return result{}, apierr.BadRequest("expires_at", "Only grants expire; an adjustment takes no expires_at.")
	}
	amount, err := b.amount(true)
	if err != nil {
		return result{}, err
	}
	if err := h.opts.Manage.Adjust(r.Context(), aid, amount, b.Memo); err != nil {
		return result{}, err
	}
	return h.creditsResult(r, aid, amount)
}

// ledgerPage is the answer to GET /api/admin/accounts/:id/ledger.
type ledgerPage struct {
	Data []manage.LedgerEntryView `json:"data"`
	// NextBefore, when set, is the before= of the next (older) page.
	NextBefore int64 `json:"next_before,omitempty"`
}

// Ledger paging bounds, as the store applies them.
const (
	defaultLedgerLimit = 100
	maxLedgerLimit     = 1000
)

func (h *Handler) ledger(r *http.Request, ps httprouter.Params) (result, error) {
	aid, err := id(ps, "id")
	if err != nil {
		return result{}, err
	}
	q, err := query(r, "since", "until", "before", "limit")
	if err != nil {
		return result{}, err
	}
	f := store.LedgerFilter{AccountID: aid}
	if err := timeParams(q, map[string]*time.Time{"since": &f.Since, "until": &f.Until}); err != nil {
		return result{}, err
	}
	if f.BeforeID, err = positiveParam(q, "before"); err != nil {
		return result{}, err
	}
	limit, err := positiveParam(q, "limit")
	if err != nil {
		return result{}, err
	}
	f.Limit = int(min(limit, maxLedgerLimit))
	entries, err := h.opts.Manage.Ledger(r.Context(), f)
	if err != nil {
		return result{}, err
	}
	page := ledgerPage{Data: entries}
	if page.Data == nil {
		page.Data = []manage.LedgerEntryView{}
	}
	if f.Limit == 0 {
		f.Limit = defaultLedgerLimit
	}
	if len(entries) == f.Limit {
		page.NextBefore = entries[len(entries)-1].ID
	}
	return okJSON(page)
}

// verifyLedger checks the ledger; problems are in the 200 answer.
func (h *Handler) verifyLedger(r *http.Request, _ httprouter.Params) (result, error) {
	rep, err := h.opts.Manage.VerifyLedger(r.Context())
	if err != nil {
		return result{}, err
	}
	return okJSON(manage.NewVerifyView(rep))
}

// timeParams parses the RFC 3339 time parameters of q named in to.
func timeParams(q url.Values, to map[string]*time.Time) error {
	for name, t := range to {
		if v := q.Get(name); v != "" {
			var err error
			if *t, err = time.Parse(time.RFC3339, v); err != nil {
				return apierr.BadRequest(name, fmt.Sprintf("%s must be an RFC 3339 time like 2025-01-02T15:04:05Z; got %q.", name, v))
			}
		}
	}
	return nil
}

// positiveParam parses the positive integer parameter name of q; 0 when
// it is absent.
func positiveParam(q url.Values, name string) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, apierr.BadRequest(name, fmt.Sprintf("%s must be a positive integer; got %q.", name, v))
	}
	return n, nil
}
