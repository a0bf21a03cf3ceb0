package runtime

import (
	"context"
	"errors"
	"testing"

	"github.com/aignehub/hub/sdk/abi"
)

func TestWarmFillsThePoolUpToPoolSize(t *testing.T) {
	p := loadBehaviour(t, Options{PoolSize: 3, MinIdle: 1})
	if st := p.Stats(); st.Instances != 1 || st.Idle != 1 {
		t.Fatalf("after Load: %+v", st)
	}
	ctx := context.Background()
	if err := p.Warm(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Instances != 2 || st.Idle != 2 || st.Created != 2 {
		t.Fatalf("after Warm(2): %+v", st)
	}
	if err := p.Warm(ctx, 10); err != nil { // capped at PoolSize
		t.Fatal(err)
	}
	if st := p.Stats(); st.Instances != 3 || st.Idle != 3 || st.Created != 3 {
		t.Fatalf("after Warm(10): %+v", st)
	}
	// Warm instances serve calls like any other.
	if _, err := p.Request(ctx, &abi.RequestIn{Model: "echo", Body: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Created != 3 {
		t.Fatalf("a call on a warm pool created an instance: %+v", st)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var ce *CallError
	if err := p.Warm(ctx, 1); !errors.As(err, &ce) || ce.Kind != Closed {
		t.Fatalf("Warm after Close: %v", err)
	}
}
