#include "roster/eventstore/errors.hpp"

namespace roster::eventstore {

std::string_view to_string(errc c) {
    switch (c) {
        case errc::version_conflict: return "version_conflict";
        case errc::idempotency_mismatch: return "idempotency_mismatch";
        case errc::storage_unavailable: return "storage_unavailable";
        case errc::corrupt: return "corrupt";
        case errc::invalid_argument: return "invalid_argument";
        case errc::closed: return "closed";
    }
    return "unknown";
}

error_exception::error_exception(error e)
    : std::runtime_error(std::string(to_string(e.code)) + ": " + e.message), error_(std::move(e)) {}

void throw_exception_from_error(const error& e, const boost::source_location&) { throw error_exception(e); }

}  // namespace roster::eventstore
