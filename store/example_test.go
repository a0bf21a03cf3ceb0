package store_test

import (
	"context"
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
