// Fault injection for tests: a handle given to store::open in store_options::faults makes the
// store's WAL writes fail the way a failing disk does (RocksDB's FaultInjectionTestFS idea).
// The store implements it below RocksDB, in the file system it hands to RocksDB, so the commit
// path has no test branch: it gets a real rocksdb::Status error from DB::Write and handles it
// exactly as it would a disk error.
//
// Read faults cannot live there: recent events are served from the memtable, which no file
// read backs, so a file-level fault would miss exactly the events a test just wrote. The store's
// log reads (read_from, read_stream, read_at) consult the handle instead and end as a failed
// iterator would, with storage_unavailable. Without a handle (production) they never look.
#pragma once

#include <atomic>

namespace roster::eventstore {

// Thread-safe; shared between the test (or rosterd's test route) and the store's file system.
class write_faults {
public:
    // The next `n` appends to the store's write-ahead log fail and write nothing, so each fails
    // one write of the store (a commit group, or a put_meta) with storage_unavailable; the store
    // stays open and the write after them succeeds. n <= 0 clears what is pending.
    void fail_next(int n) noexcept { remaining_.store(n > 0 ? n : 0, std::memory_order_relaxed); }

    // Called by the store's file system before each WAL append: true = fail this one.
    bool take() noexcept {
        int n = remaining_.load(std::memory_order_relaxed);
        while (n > 0)
            if (remaining_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
        return false;
    }

    int pending() const noexcept { return remaining_.load(std::memory_order_relaxed); }

    // While on, every read of the log fails with storage_unavailable before it delivers an event
    // (as a log that cannot be read: the write model cannot be rebuilt, a catch-up cannot run).
    // Writes, head, stream versions and idempotency look-ups are not affected.
    void fail_reads(bool on) noexcept { reads_fail_.store(on, std::memory_order_relaxed); }
    bool reads_failing() const noexcept { return reads_fail_.load(std::memory_order_relaxed); }

private:
    std::atomic<int> remaining_{0};
    std::atomic<bool> reads_fail_{false};
};

}  // namespace roster::eventstore
