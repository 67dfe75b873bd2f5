// rosterctl evidence: downloads a pack into a file (written beside it, then renamed, so a failed
// download never leaves a complete-looking pack).
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "roster/replay/evidence.hpp"
#include "roster/replay/token_file.hpp"

namespace roster::replay {

namespace {

// RFC 3986 percent-encoding of a query value ('+' and ':' of a time included).
std::string query_escape(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xF]);
        }
    }
    return out;
}

}  // namespace

int run_evidence(const evidence_request& req, const evidence_getter& get, std::ostream& out, std::ostream& err) {
    const auto token = read_token_file(req.token_file);
    if (!token) {
        err << "rosterctl evidence: cannot read the token file " << req.token_file << "\n";
        return 2;
    }
    const std::string& bearer = *token;
    if (req.account.empty()) {
        err << "rosterctl evidence: --account is required\n";
        return 2;
    }
    std::string target = "/v1/audit/evidence?account=" + query_escape(req.account);
    if (!req.since.empty()) target += "&since=" + query_escape(req.since);
    if (!req.until.empty()) target += "&until=" + query_escape(req.until);
    auto answer = get(target, bearer);
    if (const auto* why = std::get_if<std::string>(&answer)) {
        err << "rosterctl evidence: " << *why << "\n";
        return 3;
    }
    const auto& a = std::get<evidence_answer>(answer);
    if (a.status != 200) {
        err << "rosterctl evidence: the server answered " << a.status << ": " << a.body << "\n";
        return 1;
    }
    const auto partial = std::filesystem::path(req.out.string() + ".partial");
    {
        std::ofstream f(partial, std::ios::binary | std::ios::trunc);
        f.write(a.body.data(), static_cast<std::streamsize>(a.body.size()));
        f.flush();
        if (!f) {
            err << "rosterctl evidence: cannot write " << partial << "\n";
            return 2;
        }
    }
    std::error_code ec;
    std::filesystem::rename(partial, req.out, ec);
    if (ec) {
        err << "rosterctl evidence: cannot rename " << partial << " to " << req.out << ": " << ec.message() << "\n";
        return 2;
    }
    out << "rosterctl evidence: wrote " << a.body.size() << " bytes to " << req.out.string()
        << " (check it: rosterctl verify-pack " << req.out.string() << " --public-key KEY)\n";
    return 0;
}

}  // namespace roster::replay
