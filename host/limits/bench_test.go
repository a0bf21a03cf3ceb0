package limits

import (
	"sync/atomic"
	"testing"
)

// benchLimits are limits a benchmark never reaches, so every call takes
// the full admit path: three checks, a count, a slot.
var benchLimits = Limits{RPM: 1 << 40, TPM: 1 << 40, Concurrency: 1 << 30}

// BenchmarkAcquireRelease is one admitted request's limiter cost on the
// real clock: Acquire then Release with its token count.
func BenchmarkAcquireRelease(b *testing.B) {
	b.Run("single-key", func(b *testing.B) {
		l := New(Options{})
		b.ReportAllocs()
		for b.Loop() {
			p, r := l.Acquire(1, benchLimits)
			if r != nil {
				b.Fatal(r)
			}
			p.Release(100)
		}
	})
	b.Run("single-key-parallel", func(b *testing.B) {
		l := New(Options{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				p, r := l.Acquire(1, benchLimits)
				if r != nil {
					b.Error(r)
					return
				}
				p.Release(100)
			}
		})
	})
	b.Run("many-keys-parallel", func(b *testing.B) {
		const keys = 10_000
		l := New(Options{})
		for k := range int64(keys) {
			p, _ := l.Acquire(k, benchLimits)
			p.Release(0)
		}
		var worker atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			k := worker.Add(1) * 7919
			for pb.Next() {
				k++
				p, r := l.Acquire(k%keys, benchLimits)
				if r != nil {
					b.Error(r)
					return
				}
				p.Release(100)
			}
		})
	})
}

// BenchmarkRefused is the cost of a refusal (concurrency, the cheapest to
// reach, and RPM, which computes RetryAfter over the window).
func BenchmarkRefused(b *testing.B) {
	l := New(Options{})
	held, _ := l.Acquire(1, Limits{})
	defer held.Release(0)
	b.Run("concurrency", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, r := l.Acquire(1, Limits{Concurrency: 1}); r == nil {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("rpm", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, r := l.Acquire(1, Limits{RPM: 1}); r == nil {
				b.Fatal("admitted")
			}
		}
	})
}

// BenchmarkModelAllowed matches a resolved call's three names against a
// typical allow-list whose last entry matches.
func BenchmarkModelAllowed(b *testing.B) {
	allowed := []string{"fast", "openai/gpt-4o", "gpt-4.1*", "anthropic/*"}
	b.ReportAllocs()
	for b.Loop() {
		if !ModelAllowed(allowed, "smart", "anthropic/claude-sonnet-4", "claude-sonnet-4") {
			b.Fatal("refused")
		}
	}
}
