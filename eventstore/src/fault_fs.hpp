// Private: the file system through which store_options::faults reaches RocksDB's WAL writes.
#pragma once

#include <memory>

#include <rocksdb/env.h>

#include "roster/eventstore/write_faults.hpp"

namespace roster::eventstore {

// An Env whose file system is RocksDB's default one, except that appends to write-ahead log
// files fail while `faults` has failures pending. Must outlive the DB opened with it.
std::unique_ptr<rocksdb::Env> make_fault_injection_env(std::shared_ptr<write_faults> faults);

}  // namespace roster::eventstore
