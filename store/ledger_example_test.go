package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aignehub/hub/store"
)

// A request's credits: a hold before the call, then the capture of its
// cost and the release of the rest, applied in batches by the hub's
// ledger writer.
func ExampleStore_ApplyLedger() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, filepath.Join(dir, "hub.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	acme, err := s.EnsureAccount(ctx, "acme")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Grant(ctx, acme.ID, 1_000_000, "welcome", time.Time{}); err != nil {
		log.Fatal(err)
	}

	show := func(res []store.LedgerResult) {
		for _, r := range res {
			switch {
			case r.Err != nil && errors.Is(r.Err, store.ErrInsufficientCredits):
				fmt.Println("insufficient credits; balance", r.Balance)
			case r.Duplicate:
				fmt.Println("already applied:", r.TxnID)
			default:
				fmt.Println("applied:", r.TxnID, "balance", r.Balance)
			}
		}
	}
	// Before the call: hold the estimate. A second hold for another
	// request would exceed the balance.
	res, err := s.ApplyLedger(ctx, []store.LedgerOp{
		{Kind: store.LedgerHold, AccountID: acme.ID, Amount: 600_000, RequestID: "req-1"},
		{Kind: store.LedgerHold, AccountID: acme.ID, Amount: 600_000, RequestID: "req-2"},
	})
	if err != nil {
		log.Fatal(err)
	}
	show(res)
	// After it: capture the cost and release the rest; retried, the same
	// operations are duplicates.
	settle := []store.LedgerOp{
		{Kind: store.LedgerCapture, Amount: 250_000, RequestID: "req-1"},
		{Kind: store.LedgerRelease, Amount: 350_000, RequestID: "req-1"},
	}
	for range 2 {
		res, err := s.ApplyLedger(ctx, settle)
		if err != nil {
			log.Fatal(err)
		}
		show(res)
	}

	charged, err := s.ChargedSince(ctx, acme.ID, time.Now().Add(-time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	report, err := s.VerifyLedger(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("charged:", charged, "problems:", len(report.Problems))
	// Output:
	// applied: req-1:hold balance 400000
	// insufficient credits; balance 400000
	// applied: req-1:capture balance 400000
	// applied: req-1:release balance 750000
	// already applied: req-1:capture
	// already applied: req-1:release
	// charged: 250000 problems: 0
}
