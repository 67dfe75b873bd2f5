// Opening the store: RocksDB options, column families, recovery of the head, read-only opens.
#include "store_impl.hpp"

#include "fault_fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>

namespace roster::eventstore {

std::filesystem::path store_dir(const std::filesystem::path& data_dir) { return data_dir / "eventstore"; }

// RocksDB's info log (the LOG file), written with plain write(2) whose failures are ignored.
// RocksDB's own LOG writer sits on the data disk, and Debian's librocksdb is built with
// assertions: when that disk fails (full, I/O error) the second write to the broken LOG aborts
// the whole process, so a storage fault became a crash instead of a 503.
class tolerant_file_logger final : public rocksdb::Logger {
public:
    explicit tolerant_file_logger(const std::filesystem::path& file)
        : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL),  // appended across restarts: keep it small
          fd_(::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
    ~tolerant_file_logger() override {
        if (fd_ >= 0) ::close(fd_);
    }
    using rocksdb::Logger::Logv;
    void Logv(const char* format, va_list ap) override {
        if (fd_ < 0) return;
        char line[1024];
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        int n =
            std::snprintf(line, sizeof line, "%lld ",
                          static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
        if (n < 0) return;
        int m = std::vsnprintf(line + n, sizeof line - static_cast<std::size_t>(n), format, ap);
        if (m < 0) return;
        std::size_t len = std::min(sizeof line - 1, static_cast<std::size_t>(n) + static_cast<std::size_t>(m));
        line[len++] = '\n';
        (void)!::write(fd_, line, len);
    }

private:
    int fd_;
};

// ---------------------------------------------------------------------------------------------
// store

store::store(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
store::~store() = default;

result<std::unique_ptr<store>> store::open(const std::filesystem::path& dir, store_options options) {
    auto p = std::make_unique<impl>();
    p->options = options;
    p->dir = dir;

    rocksdb::Options db_options;
    db_options.create_if_missing = options.create_if_missing && !options.read_only;
    db_options.create_missing_column_families = !options.read_only;
    db_options.max_background_jobs = 2;
    if (options.faults) {
        p->env = make_fault_injection_env(options.faults);
        db_options.env = p->env.get();
    }
    if (!options.read_only) {
        std::error_code ec;
        if (db_options.create_if_missing) std::filesystem::create_directories(dir, ec);
        if (std::filesystem::is_directory(dir, ec))
            db_options.info_log = std::make_shared<tolerant_file_logger>(dir / "LOG");
    }
    rocksdb::ColumnFamilyOptions cf_options;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, cf_options},
        {cf_log, cf_options},
        {cf_streams, cf_options},
        {cf_idempotency, cf_options},
        {cf_meta, cf_options},
    };
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = options.read_only
                            ? rocksdb::DB::OpenForReadOnly(db_options, dir.string(), cfs, &p->handles, &raw)
                            : rocksdb::DB::Open(db_options, dir.string(), cfs, &p->handles, &raw);
    if (!s.ok()) return storage_error(s);
    p->db.reset(raw);
    p->log = p->handles[1];
    p->streams = p->handles[2];
    p->idempotency = p->handles[3];
    p->meta = p->handles[4];

    std::string format;
    s = p->db->Get(rocksdb::ReadOptions(), p->meta, std::string(format_key), &format);
    if (s.ok()) {
        if (format.size() != 8 || get_be64(format.data()) != store_format_version)
            return make_error(errc::corrupt, "unsupported store format version");
    } else if (s.IsNotFound()) {
        if (!options.read_only) {
            rocksdb::WriteOptions wo;
            wo.sync = options.sync;
            s = p->db->Put(wo, p->meta, std::string(format_key), be64(store_format_version));
            if (!s.ok()) return storage_error(s);
        }
    } else {
        return storage_error(s);
    }

    // The head is the last event of the log itself; the meta copy only lets verify notice a
    // log whose tail was deleted.
    {
        std::unique_ptr<rocksdb::Iterator> it(p->db->NewIterator(rocksdb::ReadOptions(), p->log));
        it->SeekToLast();
        if (!it->status().ok()) return storage_error(it->status());
        if (it->Valid()) {
            word_view words;
            recorded_event last;
            auto r = p->decode_at(it->key(), it->value(), words, last);
            if (!r) return r.error();
            p->head = head_info{last.position, last.hash, last.recorded_at};
        }
    }

    if (!options.read_only && options.mode == commit_mode::writer_thread)
        p->writer = std::thread([raw_impl = p.get()] { raw_impl->writer_loop(); });
    return std::unique_ptr<store>(new store(std::move(p)));
}

result<void> store::checkpoint(const std::filesystem::path& dir) const {
    rocksdb::Checkpoint* raw = nullptr;
    auto s = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
    if (!s.ok()) return storage_error(s);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    s = cp->CreateCheckpoint(dir.string());
    if (!s.ok()) return storage_error(s);
    return {};
}

bool store::read_only() const noexcept { return impl_->options.read_only; }

}  // namespace roster::eventstore
