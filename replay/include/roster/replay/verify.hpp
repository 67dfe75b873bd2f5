// rosterctl's read-only inspection commands over a data directory (verify, head).
// Free functions; each call opens its own read-only store, so they are safe to run beside a
// live rosterd (rocksdb::DB::OpenForReadOnly takes no lock and sees the log as of the open).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>

#include "roster/eventstore/store.hpp"

namespace roster::replay {

// `{"ok":true,"checked":N,"first_bad_position":null}` (+ "message" when not ok).
std::string verify_report_json(const eventstore::verify_report& r);

// `{"position":N,"hash":"<hex>","recorded_at":"<RFC 3339>"}` (recorded_at null for an empty log).
std::string head_json(const eventstore::head_info& h);

// The store directory of a data directory: `eventstore::store_dir(data_dir)`, or `data_dir`
// itself when it already is a RocksDB directory (has a CURRENT file).
std::filesystem::path resolve_store_dir(const std::filesystem::path& data_dir);

// `rosterctl verify`: prints the report JSON to `out`; 0 when the chain is intact, 1 when it is
// broken, 2 when the store cannot be opened (message on `err`).
int run_verify(const std::filesystem::path& data_dir, std::uint64_t from, std::uint64_t to, std::ostream& out,
               std::ostream& err);

// `rosterctl head`: prints the head JSON; 0, or 2 when the store cannot be opened.
int run_head(const std::filesystem::path& data_dir, std::ostream& out, std::ostream& err);

}  // namespace roster::replay
