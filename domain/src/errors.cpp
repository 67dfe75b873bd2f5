#include "roster/domain/errors.hpp"

#include <stdexcept>

namespace roster::domain {

std::string_view to_string(error_kind k) {
    switch (k) {
        case error_kind::bad_input: return "bad_input";
        case error_kind::unauthenticated: return "unauthenticated";
        case error_kind::forbidden: return "forbidden";
        case error_kind::not_found: return "not_found";
        case error_kind::conflict: return "conflict";
        case error_kind::gone: return "gone";
    }
    return "bad_input";
}

int http_status(error_kind k) {
    switch (k) {
        case error_kind::bad_input: return 400;
        case error_kind::unauthenticated: return 401;
        case error_kind::forbidden: return 403;
        case error_kind::not_found: return 404;
        case error_kind::conflict: return 409;
        case error_kind::gone: return 410;
    }
    return 400;
}

domain_error make_error(error_kind kind, std::string_view code, std::string detail) {
    domain_error e;
    e.kind = kind;
    e.code = std::string(code);
    e.detail = std::move(detail);
    return e;
}

void throw_exception_from_error(const domain_error& e, const boost::source_location&) {
    throw std::logic_error("unchecked domain_error: " + e.code + ": " + e.detail);
}

}  // namespace roster::domain
