package manage_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/aignehub/hub/host/manage"
	"github.com/aignehub/hub/store"
)

// An operator gives new accounts 5 credits, tops one up with an exact
// decimal amount, corrects it, and checks the ledger.
func ExampleService_Grant() {
	dir, err := os.MkdirTemp("", "manage-credits-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(context.Background(), filepath.Join(dir, "hub.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	svc := manage.New(manage.Options{Store: st, NewAccountGrant: 5_000_000})
	ctx := store.WithActor(context.Background(), store.Actor{Name: "cli:ops"})

	a, err := svc.CreateAccount(ctx, "acme")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Name, a.BalanceCredits)

	amount, err := manage.ParseAmount("amount", "0.1", false) // exactly 100000 micro-credits
	if err != nil {
		log.Fatal(err)
	}
	if err := svc.Grant(ctx, a.ID, amount, "top-up", time.Time{}); err != nil {
		log.Fatal(err)
	}
	if err := svc.Adjust(ctx, a.ID, -2_000_000, "refund to card"); err != nil {
		log.Fatal(err)
	}
	a, err = svc.Account(ctx, a.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Balance, a.BalanceCredits)

	entries, err := svc.Ledger(ctx, store.LedgerFilter{AccountID: a.ID})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Kind, e.Account, e.AmountCredits, e.Memo)
	}
	r, err := svc.VerifyLedger(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("consistent:", manage.NewVerifyView(r).OK)
	// Output:
	// acme 5
	// 3100000 3.1
	// adjustment system:adjustments 2 refund to card
	// adjustment acme -2 refund to card
	// grant system:grants -0.1 top-up
	// grant acme 0.1 top-up
	// grant system:grants -5 new account grant
	// grant acme 5 new account grant
	// consistent: true
}
