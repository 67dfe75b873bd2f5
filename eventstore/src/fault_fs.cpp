#include "fault_fs.hpp"

#include <string>
#include <string_view>

#include <rocksdb/file_system.h>

namespace roster::eventstore {

namespace {

// The error of a failed WAL append: IOStatus::Busy, the one class of WAL write error after which
// RocksDB 7.8 keeps the open database writable (DBImpl::IOStatusCheck neither sets a background
// error nor leaves the log writer poisoned), so the store comes back as soon as the failures are
// used up, as this hook promises. The other classes cannot back that promise:
// - a plain IOError (what EIO or EFBIG give) is fatal for the open database: DB::Resume refuses
//   it until a reopen (the real-fault test in tests/api/storage_fault_test.cpp covers that);
// - NoSpace is recovered in the background (DB::Resume answers Busy meanwhile), so the write
//   right after the fault fails too;
// - a retryable IOError is cleared by DB::Resume, but when a second WAL write fails before any
//   event reached the memtable, Resume switches no WAL and the next write aborts the process on
//   an assertion in WritableFileWriter.
// (Both reproduced with librocksdb 7.8.3.)
// The commit path cannot tell the difference: DB::Write returns the error, the group fails with
// storage_unavailable, and DB::Resume (called after every failed write) has nothing to do.
rocksdb::IOStatus injected_failure() { return rocksdb::IOStatus::Busy("injected WAL write failure (write_faults)"); }

// Fails the append before anything reaches the file, so the failed record is not in the log
// and a restart cannot replay it.
class faulty_wal_file final : public rocksdb::FSWritableFileOwnerWrapper {
public:
    faulty_wal_file(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<write_faults> faults)
        : FSWritableFileOwnerWrapper(std::move(file)), faults_(std::move(faults)) {}

    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
        if (faults_->take()) return injected_failure();
        return FSWritableFileOwnerWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
        if (faults_->take()) return injected_failure();
        return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
    }

private:
    std::shared_ptr<write_faults> faults_;
};

class fault_injection_fs final : public rocksdb::FileSystemWrapper {
public:
    fault_injection_fs(std::shared_ptr<rocksdb::FileSystem> base, std::shared_ptr<write_faults> faults)
        : FileSystemWrapper(std::move(base)), faults_(std::move(faults)) {}

    const char* Name() const override { return "RosterFaultInjectionFS"; }

    rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
        return wrap(name, target()->NewWritableFile(name, options, result, dbg), result);
    }
    rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                         rocksdb::IODebugContext* dbg) override {
        return wrap(name, target()->ReopenWritableFile(name, options, result, dbg), result);
    }
    rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                        const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSWritableFile>* result,
                                        rocksdb::IODebugContext* dbg) override {
        return wrap(name, target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
    }

private:
    // WAL files are <number>.log in the database directory (the store sets no wal_dir, and its
    // info log is the extensionless LOG).
    static bool is_wal(std::string_view name) { return name.ends_with(".log"); }

    rocksdb::IOStatus wrap(const std::string& name, rocksdb::IOStatus s,
                           std::unique_ptr<rocksdb::FSWritableFile>* result) {
        if (s.ok() && is_wal(name)) *result = std::make_unique<faulty_wal_file>(std::move(*result), faults_);
        return s;
    }

    std::shared_ptr<write_faults> faults_;
};

}  // namespace

std::unique_ptr<rocksdb::Env> make_fault_injection_env(std::shared_ptr<write_faults> faults) {
    return rocksdb::NewCompositeEnv(
        std::make_shared<fault_injection_fs>(rocksdb::FileSystem::Default(), std::move(faults)));
}

}  // namespace roster::eventstore
