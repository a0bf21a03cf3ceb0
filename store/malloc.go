package store

import (
	"sync"

	"modernc.org/libc"
)

// The SQLite under zombiezen.com/go/sqlite is modernc.org/sqlite, C
// translated to Go, whose malloc is modernc.org/memory: each allocation
// size class (powers of two up to 16 KiB) is served from 64 KiB pages
// mapped with mmap, and a page is unmapped as soon as its last allocation
// is freed. A size class that SQLite allocates and frees one object at a
// time therefore costs an mmap and a munmap per use. That is what every
// b-tree rebalance does (balance_nonroot's scratch buffer, about 8 KiB
// with 4 KiB pages): measured, BenchmarkApplyLedgerCharge went from 15.6
// to 12.2 µs per charge without those system calls.
//
// pinSizeClasses allocates one object of every size class once, and never
// frees it, so each class keeps one page mapped for the life of the
// process and SQLite's transient allocations reuse its free slots. It
// costs at most 64 KiB of address space per class (11 classes), touched
// only where used.
var pinSizeClasses = sync.OnceFunc(func() {
	tls := libc.NewTLS()
	defer tls.Close()
	for size := 16; size <= 16<<10; size *= 2 { // a size is its class's largest object
		libc.Xmalloc(tls, libc.Tsize_t(size))
	}
})
