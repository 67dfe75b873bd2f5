#include "roster/replay/tokens_cli.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/domain/overloaded.hpp"
#include "roster/domain/types.hpp"
#include "roster/replay/token_file.hpp"

namespace roster::replay {
namespace json = boost::json;

namespace {

constexpr int done = 0, refused_by_server = 1, bad_arguments = 2, unreachable = 3;

// Ids and cursors are [A-Za-z0-9_-], so only the status list needs escaping (its commas are fine).
bool plain_id(const std::string& s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
}

std::string text_of(const json::value& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return std::string(v.as_string());
    return json::serialize(v);
}

// The API's principal object as the label the log uses: operator, auditor, service:NAME, user:ID.
std::string principal_label(const json::value& p) {
    if (!p.is_object()) return text_of(p);
    const auto& o = p.as_object();
    if (o.contains("operator")) return "operator";
    if (o.contains("auditor")) return "auditor";
    if (auto* s = o.if_contains("service")) return "service:" + text_of(*s);
    if (auto* u = o.if_contains("user_id")) return "user:" + text_of(*u);
    return json::serialize(p);
}

std::optional<json::object> principal_body(const std::string& label) {
    const auto who = domain::principal_from_label(label);
    if (!who) return std::nullopt;
    return std::visit(domain::overloaded{
                          [](const domain::operator_principal&) {
                              return json::object{{"operator", true}};
                          },
                          [](const domain::auditor_principal&) {
                              return json::object{{"auditor", true}};
                          },
                          [](const domain::service_principal& s) {
                              return json::object{{"service", s.name}};
                          },
                          [](const domain::user_principal& u) {
                              return json::object{{"user_id", u.user.value}};
                          },
                      },
                      *who);
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& r : rows)
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], r[i].size());
        }
    for (const auto& r : rows) {
        std::string line;
        for (std::size_t i = 0; i < r.size(); ++i) {
            line += r[i];
            if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
        }
        out << line << '\n';
    }
}

}  // namespace

int run_tokens(const tokens_request& req, const tokens_exchange& exchange, std::ostream& out, std::ostream& err) {
    const std::string me = "rosterctl tokens " + req.action + ": ";
    const auto token = read_token_file(req.token_file);
    if (!token) {
        err << me << "cannot read the token file " << req.token_file << "\n";
        return bad_arguments;
    }
    const std::string& bearer = *token;
    // One exchange: the answer's JSON object when it has `expected` status, else the exit code.
    auto call = [&](const std::string& method, const std::string& target, const std::string& body,
                    unsigned expected) -> std::variant<json::object, int> {
        auto answer = exchange(method, target, bearer, body);
        if (const auto* why = std::get_if<std::string>(&answer)) {
            err << me << *why << "\n";
            return unreachable;
        }
        const auto& a = std::get<tokens_answer>(answer);
        if (a.status != expected) {
            err << me << "the server answered " << a.status << ": " << a.body << "\n";
            return refused_by_server;
        }
        boost::system::error_code ec;
        auto v = json::parse(a.body, ec);
        if (ec || !v.is_object()) {
            err << me << "the server's answer is not a JSON object: " << a.body.substr(0, 200) << "\n";
            return refused_by_server;
        }
        return std::move(v.as_object());
    };
    auto with_reason = [&](json::object body) {
        if (!req.reason.empty()) body["reason"] = req.reason;
        return json::serialize(body);
    };
    // Issue and rotation show the new secret once: on stdout alone on its line, so
    // `rosterctl tokens issue ... | tail -1 > file` keeps just the secret.
    auto show_secret = [&](const json::object& o) {
        out << "token_id:   " << text_of(o.at("token_id")) << "\n"
            << "principal:  " << principal_label(o.at("principal")) << "\n"
            << "expires_at: " << (o.contains("expires_at") ? text_of(o.at("expires_at")) : "-") << "\n"
            << "The secret below is shown once; store it now.\n"
            << text_of(o.at("token")) << "\n";
        return done;
    };

    if (req.action == "list") {
        if (!std::all_of(req.status.begin(), req.status.end(),
                         [](char c) { return (c >= 'a' && c <= 'z') || c == ','; })) {
            err << me << "--status must be a comma list of active, expired, revoked\n";
            return bad_arguments;
        }
        std::vector<std::vector<std::string>> rows = {
            {"TOKEN_ID", "PRINCIPAL", "STATUS", "ISSUED_AT", "ISSUED_BY", "EXPIRES_AT", "ROTATED_AT", "REVOKED_AT"}};
        std::string cursor;
        std::size_t pages = 0;
        // Bounded: a list of a million tokens is 2000 pages; a server that never ends its list
        // (a repeated cursor) is stopped rather than followed forever.
        while (true) {
            std::string target = "/v1/tokens?limit=500";
            if (!req.status.empty()) target += "&status=" + req.status;
            if (!cursor.empty()) target += "&cursor=" + cursor;
            auto page = call("GET", target, "", 200);
            if (auto* code = std::get_if<int>(&page)) return *code;
            const auto& o = std::get<json::object>(page);
            const auto* tokens = o.if_contains("tokens");
            if (!tokens || !tokens->is_array()) {
                err << me << "the server's answer has no tokens\n";
                return refused_by_server;
            }
            for (const auto& t : tokens->as_array()) {
                const auto& x = t.as_object();
                auto field = [&](const char* k) { return x.contains(k) ? text_of(x.at(k)) : std::string("-"); };
                rows.push_back({field("token_id"), principal_label(x.at("principal")), field("status"),
                                field("issued_at"), field("issued_by"), field("expires_at"), field("rotated_at"),
                                field("revoked_at")});
            }
            const auto* next = o.if_contains("next_cursor");
            if (!next || !next->is_string()) break;
            const std::string n(next->as_string());
            if (!plain_id(n) || n == cursor || ++pages > 100'000) {
                err << me << "the server's next_cursor does not advance\n";
                return refused_by_server;
            }
            cursor = n;
        }
        print_table(out, rows);
        out << rows.size() - 1 << " token(s)\n";
        return done;
    }
    if (req.action == "issue") {
        auto principal = principal_body(req.principal);
        if (!principal) {
            err << me << "--principal must be operator, auditor, service:NAME or user:ID\n";
            return bad_arguments;
        }
        json::object body{{"principal", std::move(*principal)}};
        if (req.expires_in != 0) body["expires_in"] = req.expires_in;
        auto r = call("POST", "/v1/tokens", with_reason(std::move(body)), 201);
        if (auto* code = std::get_if<int>(&r)) return *code;
        return show_secret(std::get<json::object>(r));
    }
    if (req.action == "revoke" || req.action == "rotate") {
        if (!plain_id(req.id)) {
            err << me << "--id must be a token id (tok_...)\n";
            return bad_arguments;
        }
        if (req.action == "revoke") {
            auto r = call("DELETE", "/v1/tokens/" + req.id, req.reason.empty() ? "" : with_reason({}), 200);
            if (auto* code = std::get_if<int>(&r)) return *code;
            out << "revoked " << req.id << "\n";
            return done;
        }
        auto r = call("POST", "/v1/tokens/" + req.id + "/rotation", with_reason({}), 200);
        if (auto* code = std::get_if<int>(&r)) return *code;
        return show_secret(std::get<json::object>(r));
    }
    err << "rosterctl tokens: the action must be list, issue, revoke or rotate\n";
    return bad_arguments;
}

}  // namespace roster::replay
