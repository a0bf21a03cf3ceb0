package limits_test

import (
	"fmt"
	"time"

	"github.com/aignehub/hub/host/limits"
)

// A key limited to 2 requests per minute: the third within the minute is
// refused with the message the client sees, and admitted once the first
// has left the window.
func ExampleLimiter() {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	l := limits.New(limits.Options{Now: func() time.Time { return now }})
	lim := limits.Limits{RPM: 2, Concurrency: 10}

	for i := range 3 {
		p, refusal := l.Acquire(42, lim)
		if refusal != nil {
			fmt.Printf("request %d: %v\n", i+1, refusal)
			continue
		}
		fmt.Printf("request %d: admitted\n", i+1)
		p.Release(150) // input + output tokens the upstream reported
		now = now.Add(12 * time.Second)
	}
	fmt.Printf("usage: %+v\n", l.Usage(42))

	now = now.Add(36 * time.Second) // the first request left the window
	if p, refusal := l.Acquire(42, lim); refusal == nil {
		fmt.Println("after the wait: admitted")
		p.Release(0)
	}
	// Output:
	// request 1: admitted
	// request 2: admitted
	// request 3: rate limit reached for requests per minute (limit 2): retry in 36s
	// usage: {Requests:2 Tokens:300 InFlight:0}
	// after the wait: admitted
}

func ExampleModelAllowed() {
	allowed := []string{"fast", "anthropic/*", "gpt-4o*"}
	// A call to the alias "fast", resolved to openai's gpt-4o-mini.
	fmt.Println(limits.ModelAllowed(allowed, "fast", "openai/gpt-4o-mini", "gpt-4o-mini"))
	// A call naming "claude-sonnet-4", resolved to the anthropic provider.
	fmt.Println(limits.ModelAllowed(allowed, "claude-sonnet-4", "anthropic/claude-sonnet-4", "claude-sonnet-4"))
	// A call to gpt-4.1.
	fmt.Println(limits.ModelAllowed(allowed, "gpt-4.1", "openai/gpt-4.1", "gpt-4.1"))
	// No allow-list: every model.
	fmt.Println(limits.ModelAllowed(nil, "gpt-4.1"))
	// Output:
	// true
	// true
	// false
	// true
}
