package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// The ledger benchmarks apply operations as the hub's ledger writer does:
// in batches (ledgerBenchBatch calls per ApplyLedger), each batch one
// durable transaction. b.N counts calls (or charges), not batches, so
// ns/op is the cost of one call and the custom metric its throughput.

const ledgerBenchBatch = 100

// newLedgerBench opens a store in b's temporary directory with accounts
// user accounts, each granted plenty of credits.
func newLedgerBench(b *testing.B, accounts int) (*Store, []int64) {
	b.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "hub.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ids := make([]int64, accounts)
	for i := range ids {
		a, err := s.EnsureAccount(ctx, fmt.Sprint("acct-", i))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Grant(ctx, a.ID, 1_000_000_000_000_000/int64(accounts), "", time.Time{}); err != nil {
			b.Fatal(err)
		}
		ids[i] = a.ID
	}
	return s, ids
}

// applyBench applies ops and fails b unless every one is applied.
func applyBench(b *testing.B, s *Store, ops []LedgerOp) {
	res, err := s.ApplyLedger(context.Background(), ops)
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range res {
		if !r.Applied {
			b.Fatalf("op %d %+v: %+v", i, ops[i], r)
		}
	}
}

// benchBatches calls batch(first, n) for consecutive runs of at most
// ledgerBenchBatch of b.N items, and reports their rate as unit.
func benchBatches(b *testing.B, unit string, batch func(first, n int)) {
	b.ReportAllocs()
	b.ResetTimer()
	for first := 0; first < b.N; first += ledgerBenchBatch {
		batch(first, min(ledgerBenchBatch, b.N-first))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// BenchmarkApplyLedgerCharge: one LedgerCharge per call (the batched
// billing path's charges), on one account or spread over 100.
func BenchmarkApplyLedgerCharge(b *testing.B) {
	for _, accounts := range []int{1, 100} {
		b.Run(fmt.Sprint("accounts=", accounts), func(b *testing.B) {
			s, ids := newLedgerBench(b, accounts)
			ops := make([]LedgerOp, 0, ledgerBenchBatch)
			benchBatches(b, "charges/s", func(first, n int) {
				ops = ops[:0]
				for i := first; i < first+n; i++ {
					ops = append(ops, LedgerOp{Kind: LedgerCharge, AccountID: ids[i%accounts], Amount: 60,
						RequestID: fmt.Sprint("r", i), Memo: "openai/gpt-4o-mini"})
				}
				applyBench(b, s, ops)
			})
		})
	}
}

// BenchmarkApplyLedgerCallOps: a call's hold, capture and release, all
// three in the same batch.
func BenchmarkApplyLedgerCallOps(b *testing.B) {
	s, ids := newLedgerBench(b, 1)
	ops := make([]LedgerOp, 0, 3*ledgerBenchBatch)
	benchBatches(b, "calls/s", func(first, n int) {
		ops = ops[:0]
		for i := first; i < first+n; i++ {
			id := fmt.Sprint("r", i)
			ops = append(ops,
				LedgerOp{Kind: LedgerHold, AccountID: ids[0], Amount: 100, RequestID: id},
				LedgerOp{Kind: LedgerCapture, AccountID: ids[0], Amount: 60, RequestID: id, Memo: "openai/gpt-4o-mini"},
				LedgerOp{Kind: LedgerRelease, AccountID: ids[0], Amount: 40, RequestID: id})
		}
		applyBench(b, s, ops)
	})
}

// BenchmarkApplyLedgerCallOpsSplit: as the hub writes them, a call's hold
// in one batch and its capture and release in a later one, so that the
// settlement reads a hold written before.
func BenchmarkApplyLedgerCallOpsSplit(b *testing.B) {
	s, ids := newLedgerBench(b, 1)
	ops := make([]LedgerOp, 0, 2*ledgerBenchBatch)
	benchBatches(b, "calls/s", func(first, n int) {
		ops = ops[:0]
		for i := first; i < first+n; i++ {
			ops = append(ops, LedgerOp{Kind: LedgerHold, AccountID: ids[0], Amount: 100, RequestID: fmt.Sprint("r", i)})
		}
		applyBench(b, s, ops)
		ops = ops[:0]
		for i := first; i < first+n; i++ {
			id := fmt.Sprint("r", i)
			ops = append(ops,
				LedgerOp{Kind: LedgerCapture, AccountID: ids[0], Amount: 60, RequestID: id, Memo: "openai/gpt-4o-mini"},
				LedgerOp{Kind: LedgerRelease, AccountID: ids[0], Amount: 40, RequestID: id})
		}
		applyBench(b, s, ops)
	})
}

// BenchmarkApplyLedgerSingle: one charge per ApplyLedger (strict
// durability, an idle hub): the cost of a durable commit.
func BenchmarkApplyLedgerSingle(b *testing.B) {
	s, ids := newLedgerBench(b, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		applyBench(b, s, []LedgerOp{{Kind: LedgerCharge, AccountID: ids[0], Amount: 60, RequestID: fmt.Sprint("r", i)}})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
}
