package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/aignehub/hub/store"
)

// A hub opens the store, records calls through one Recorder, and closes
// them in reverse order.
func Example() {
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

	rec := store.NewRecorder(s, store.RecorderOptions{})
	for i := range 3 {
		err := rec.Record(store.Call{
			RequestID:        fmt.Sprint("req-", i),
			API:              "chat.completions",
			Model:            "gpt-4o-mini",
			Status:           store.CallOK,
			PromptTokens:     10,
			CompletionTokens: 5,
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	// Close writes everything queued; Flush would too, without stopping.
	if err := rec.Close(ctx); err != nil {
		log.Fatal(err)
	}

	calls, err := s.Calls(ctx, store.CallFilter{})
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range calls {
		fmt.Println(c.RequestID, c.Status, c.PromptTokens+c.CompletionTokens)
	}
	// Output:
	// req-2 ok 15
	// req-1 ok 15
	// req-0 ok 15
}

// Changes made with an actor in the context are audited in the same
// transaction; a change that changes nothing is not.
func ExampleWithActor() {
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

	admin := store.WithActor(ctx, store.Actor{Name: "cli:root"})
	p, err := s.CreateProvider(admin, store.Provider{Name: "openai", Plugin: "openai", Enabled: true})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.AddCredential(admin, p.ID, store.Credential{
		Name: "primary", Ciphertext: []byte("sealed elsewhere"), Hint: "****wxyz", Enabled: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.CreateProvider(admin, p); err != nil {
		fmt.Println("again:", errors.Is(err, store.ErrExists))
	}
	if _, err := s.UpdateProvider(admin, p); err != nil { // no change
		log.Fatal(err)
	}

	entries, err := s.ListAudit(ctx, store.AuditFilter{})
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Actor, e.Action, e.Target, string(e.Detail))
	}
	// Output:
	// again: true
	// cli:root credential.create openai/primary {"enabled":true,"managed_by":"api","secret":"****wxyz","weight":1}
	// cli:root provider.create openai {"base_url":"","config":{},"enabled":true,"managed_by":"api","models":[],"plugin":"openai","region":""}
}
