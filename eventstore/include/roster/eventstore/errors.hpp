// Error vocabulary of the event store: expected failures are values with a stable code.
// Pure values; safe to copy between threads.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

namespace roster::eventstore {

// Stable codes (append only). The store judges no client precondition (If-Match and
// Idempotency-Key are the writer's), so only storage_unavailable is a client-facing condition
// (503); the others are defects or bad input of the caller.
enum class errc {
    version_conflict,      // a batch numbered an event otherwise than the store does (writer defect)
    idempotency_mismatch,  // retired: no longer produced (keys are judged by the writer)
    storage_unavailable,
    corrupt,
    invalid_argument,
    closed,
};

// "version_conflict", ... (machine codes for logs and problem documents).
std::string_view to_string(errc);

struct error {
    errc code{};
    std::string message;
    // Filled for version_conflict: the stream, the version the caller numbered and the one the store assigns.
    std::string stream;
    std::uint64_t expected = 0;
    std::uint64_t actual = 0;
};

// Thrown only by result<T>::value() on an error, i.e. a caller bug (check has_value() first).
class error_exception : public std::runtime_error {
public:
    explicit error_exception(error e);
    const error& err() const noexcept { return error_; }

private:
    error error_;
};

[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

}  // namespace roster::eventstore
