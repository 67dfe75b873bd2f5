// Fault injection for tests: a handle given to store::open in store_options::faults makes the
// store's WAL writes fail the way a failing disk does (RocksDB's FaultInjectionTestFS idea).
// The store implements it below RocksDB, in the file system it hands to RocksDB, so the commit
// path has no test branch: it gets a real rocksdb::Status error from DB::Write and handles it
// exactly as it would a disk error.
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

private:
    std::atomic<int> remaining_{0};
};

}  // namespace roster::eventstore
