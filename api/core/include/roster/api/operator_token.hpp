// The operator token file written on first start.
#pragma once

#include <filesystem>
#include <string>

#include <boost/system/result.hpp>

namespace roster::api {

struct operator_token_file {
    std::filesystem::path path;
    bool created = false;  // false: an existing file was kept
};

// A new operator token: "rst_" followed by 64 hex characters (32 random bytes).
std::string generate_operator_token();

// Ensures `<data_dir>/operator.token` exists: creates it exclusively with mode 0600 and a fresh
// token (written and fsynced), or keeps the existing file untouched. Errors are messages for
// the operator.
boost::system::result<operator_token_file, std::string> ensure_operator_token(const std::filesystem::path& data_dir);

}  // namespace roster::api
