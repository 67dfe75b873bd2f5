#include "roster/replay/witness.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "roster/eventstore/checkpoint.hpp"
#include "roster/eventstore/merkle.hpp"
#include "roster/replay/key_rotation.hpp"

namespace roster::replay {

namespace es = roster::eventstore;
namespace json = boost::json;

namespace {

// The state file, small by construction; anything larger is not ours.
constexpr std::size_t max_state_bytes = 2 * es::max_note_bytes;

struct state {
    std::string verifier_key;
    std::string checkpoint;  // signed note; empty before the first success
};

std::optional<std::string> read_small_file(const std::filesystem::path& p, std::size_t limit) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return std::nullopt;
    std::string s(limit + 1, '\0');
    in.read(s.data(), static_cast<std::streamsize>(s.size()));
    s.resize(static_cast<std::size_t>(in.gcount()));
    if (s.size() > limit) return std::nullopt;
    return s;
}

bool write_durably(const std::filesystem::path& path, const std::string& bytes, std::string& why) {
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const auto tmp = dir / (path.filename().string() + ".tmp");
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return why = "cannot create " + tmp.string(), false;
    std::size_t done = 0;
    while (done < bytes.size()) {
        const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            ::close(fd);
            return why = "cannot write " + tmp.string(), false;
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) return why = "cannot fsync " + tmp.string(), false;
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        return why = "cannot rename " + tmp.string() + " to " + path.string(), false;
    // The rename is durable only once the directory is.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return true;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
    return s;
}

}  // namespace

int run_witness(const witness_request& req, const witness_getter& get, std::ostream& out, std::ostream& err) {
    const auto fail = [&err](int code, const std::string& why) {
        err << "rosterctl witness: " << why << "\n";
        return code;
    };
    auto token = read_small_file(req.token_file, 4096);
    if (!token) return fail(witness_usage, "cannot read the token file " + req.token_file.string());
    const std::string bearer = trim(*token);

    const auto fetch = [&](const std::string& target, std::string& body) -> std::optional<int> {
        auto a = get(target, bearer);
        if (auto* why = std::get_if<std::string>(&a)) return fail(witness_unreachable, "GET " + target + ": " + *why);
        auto& answer = std::get<witness_answer>(a);
        if (answer.status != 200)
            return fail(witness_unreachable,
                        "GET " + target + " answered " + std::to_string(answer.status) + ": " + answer.body);
        body = std::move(answer.body);
        return std::nullopt;
    };

    // The pinned key: the state's, else the flag's, else the server's (trust on first use).
    state kept;
    const bool have_state = std::filesystem::exists(req.state_file);
    if (have_state) {
        auto text = read_small_file(req.state_file, max_state_bytes);
        if (!text) return fail(witness_usage, "cannot read the state file " + req.state_file.string());
        try {
            const auto v = json::parse(*text).as_object();
            kept.verifier_key = std::string(v.at("verifier_key").as_string());
            if (auto it = v.find("checkpoint"); it != v.end()) kept.checkpoint = std::string(it->value().as_string());
        } catch (const std::exception& e) {
            return fail(witness_usage,
                        "the state file " + req.state_file.string() + " is not a witness state: " + e.what());
        }
        if (req.public_key && *req.public_key != kept.verifier_key)
            return fail(witness_usage, "--public-key differs from the key pinned in " + req.state_file.string() +
                                           "; a witness never switches keys silently (use a new state file)");
    } else if (req.public_key) {
        kept.verifier_key = *req.public_key;
    } else {
        std::string body;
        if (auto code = fetch("/v1/audit/public-key", body)) return *code;
        try {
            kept.verifier_key = std::string(json::parse(body).as_object().at("verifier_key").as_string());
        } catch (const std::exception& e) {
            return fail(witness_unreachable, std::string("the public key answer is malformed: ") + e.what());
        }
        err << "rosterctl witness: pinning the server's key " << kept.verifier_key << " (first run)\n";
    }
    auto key = es::verifier_key::parse(kept.verifier_key);
    if (!key) return fail(witness_usage, "the pinned key is not a verifier key: " + key.error().message);

    std::optional<es::checkpoint> old;
    if (!kept.checkpoint.empty()) {
        auto c = es::open_checkpoint(kept.checkpoint, std::span(&*key, 1));
        if (!c)
            return fail(witness_usage, "the checkpoint kept in the state file does not verify: " + c.error().message);
        old = *c;
    }

    std::string note;
    if (auto code = fetch("/v1/audit/checkpoint", note)) return *code;
    auto latest = es::open_checkpoint(note, std::span(&*key, 1));
    if (!latest) {
        // Perhaps the log rotated its key: the new one is trusted only through an unbroken chain
        // of rotation statements, each signed by the key trusted before it, starting at the pin.
        std::string body;
        if (auto code = fetch("/v1/audit/signing-key/rotations", body)) return *code;
        std::vector<std::string> statements;
        try {
            const auto parsed = json::parse(body);
            for (const auto& r : parsed.as_object().at("rotations").as_array())
                statements.emplace_back(r.as_object().at("statement").as_string());
        } catch (const std::exception& e) {
            return fail(witness_refused, std::string("the rotation statements are malformed: ") + e.what());
        }
        auto current = accept_rotations(*key, statements);
        if (!current)
            return fail(witness_refused,
                        "the signing key rotations do not follow from the pinned key: " + current.error().message);
        if (*current != *key) {
            err << "rosterctl witness: following " << statements.size() << " rotation statement(s) to the key "
                << current->to_string() << "\n";
            key = *current;
            kept.verifier_key = current->to_string();
            latest = es::open_checkpoint(note, std::span(&*key, 1));
        }
    }
    if (!latest)
        return fail(witness_refused, "the server's checkpoint is not signed by the pinned key " + key->name + "+" +
                                         kept.verifier_key.substr(key->name.size() + 1, 8) + ": " +
                                         latest.error().message);
    if (latest->origin != key->name)
        return fail(witness_refused, "the checkpoint's origin '" + latest->origin + "' is not the pinned key's name '" +
                                         key->name + "'");

    if (old) {
        if (latest->size < old->size)
            return fail(witness_refused, "the tree shrank from " + std::to_string(old->size) + " to " +
                                             std::to_string(latest->size) + " leaves: history was truncated or forked");
        if (latest->size == old->size) {
            if (latest->root != old->root)
                return fail(witness_refused,
                            "fork: two different roots signed for tree size " + std::to_string(old->size));
        } else {
            std::string body;
            const auto target =
                "/v1/audit/proof/consistency?from=" + std::to_string(old->size) + "&to=" + std::to_string(latest->size);
            if (auto code = fetch(target, body)) return *code;
            std::vector<es::hash256> proof;
            try {
                const auto parsed = json::parse(body);  // named: the loop below reads into it
                for (const auto& h : parsed.as_object().at("hashes").as_array()) {
                    auto bytes = es::base64_decode(h.as_string());
                    if (!bytes || bytes->size() != 32)
                        throw std::runtime_error("a proof hash is not 32 bytes of base64");
                    es::hash256 x;
                    std::copy(bytes->begin(), bytes->end(), x.begin());
                    proof.push_back(x);
                }
            } catch (const std::exception& e) {
                return fail(witness_refused,
                            std::string("fork or rewrite: the consistency proof is malformed: ") + e.what());
            }
            if (auto ok = es::verify_consistency(old->size, latest->size, old->root, latest->root, proof); !ok)
                return fail(witness_refused, "fork: the checkpoint of size " + std::to_string(latest->size) +
                                                 " does not extend the kept one of size " + std::to_string(old->size) +
                                                 " (history was rewritten): " + ok.error().message);
        }
    }

    json::object next{{"verifier_key", kept.verifier_key}, {"checkpoint", note}};
    std::string why;
    if (!write_durably(req.state_file, json::serialize(next) + "\n", why)) return fail(witness_usage, why);
    out << json::serialize(json::object{{"ok", true},
                                        {"origin", latest->origin},
                                        {"tree_size", latest->size},
                                        {"root", es::base64_encode(latest->root)},
                                        {"previous_size", old ? old->size : 0}})
        << "\n";
    return witness_ok;
}

}  // namespace roster::replay
