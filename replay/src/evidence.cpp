// The evidence pack writer: a tar (libarchive, ustar) produced piece by piece.
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <chrono>
#include <span>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "evidence_internal.hpp"
#include "roster/replay/evidence.hpp"
#include "roster/replay/export.hpp"
#include "roster/replay/key_rotation.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay {

namespace es = roster::eventstore;
namespace json = boost::json;

namespace detail {

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr);
    es::hash256 h{};
    std::copy(digest, digest + 32, h.begin());
    return es::to_hex(h);
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string manifest_note_text(std::string_view manifest) {
    return std::string(manifest_header) + sha256_hex(manifest) + "\n";
}

}  // namespace detail

std::string ed25519_public_key_pem(const es::ed25519_public_key& key) {
    // RFC 8410 SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING key }.
    static constexpr std::uint8_t prefix[] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    std::vector<std::uint8_t> der(std::begin(prefix), std::end(prefix));
    der.insert(der.end(), key.begin(), key.end());
    return "-----BEGIN PUBLIC KEY-----\n" + es::base64_encode(der) + "\n-----END PUBLIC KEY-----\n";
}

std::string format_key_rotations(const std::vector<std::string>& notes) {
    std::string out;
    for (const auto& n : notes) out += n + "\n";
    return out;
}

es::result<std::vector<std::string>> parse_key_rotations(std::string_view text) {
    std::vector<std::string> notes;
    std::size_t at = 0;
    while (at < text.size()) {
        // A note is its text, an empty line, its signature lines; then the separating empty line.
        const auto body_end = text.find("\n\n", at);
        const auto note_end = body_end == std::string_view::npos ? body_end : text.find("\n\n", body_end + 2);
        if (note_end == std::string_view::npos || notes.size() == max_rotation_statements)
            return es::error{es::errc::corrupt, "key-rotations.txt is not a list of signed notes", {}, 0, 0};
        notes.emplace_back(text.substr(at, note_end + 1 - at));
        at = note_end + 2;
    }
    return notes;
}

struct evidence_writer::impl {
    const es::store& store;
    std::unique_ptr<es::subtree_source> subtrees;
    pack_selection selection;
    std::vector<es::log_position> positions;
    pack_signer signer;
    domain::timestamp generated_at;
    std::size_t piece_bytes;

    archive* tar = nullptr;
    std::string* out = nullptr;  // where the write callback appends; set for each next()
    bool started = false, finished = false;
    std::size_t next_index = 0;
    std::string manifest_events;  // the manifest's event entries so far, comma-separated

    static la_ssize_t write_cb(archive*, void* self, const void* buffer, size_t n) {
        static_cast<impl*>(self)->out->append(static_cast<const char*>(buffer), n);
        return static_cast<la_ssize_t>(n);
    }

    es::error tar_error(std::string what) const {
        const char* why = tar ? archive_error_string(tar) : nullptr;
        return es::error{es::errc::storage_unavailable, what + ": " + (why ? why : "libarchive failed"), {}, 0, 0};
    }

    es::result<void> add(const std::string& name, std::string_view data, int mode = 0644) {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname(e.get(), name.c_str());
        archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), static_cast<mode_t>(mode));
        archive_entry_set_mtime(
            e.get(), std::chrono::duration_cast<std::chrono::seconds>(generated_at.time_since_epoch()).count(), 0);
        if (archive_write_header(tar, e.get()) != ARCHIVE_OK) return tar_error("tar header of " + name);
        while (!data.empty()) {
            auto n = archive_write_data(tar, data.data(), data.size());
            if (n <= 0) return tar_error("tar data of " + name);
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return {};
    }

    es::result<void> start() {
        tar = archive_write_new();
        if (!tar || archive_write_set_format_ustar(tar) != ARCHIVE_OK ||
            archive_write_open(tar, this, nullptr, write_cb, nullptr) != ARCHIVE_OK)
            return tar_error("opening the tar");
        if (auto r = add("README.md", pack_readme()); !r) return r;
        if (auto r = add("verify.py", verify_py(), 0755); !r) return r;
        if (auto r = add("checkpoint.txt", signer.checkpoint_note); !r) return r;
        if (auto r = add("public-key.pem", ed25519_public_key_pem(signer.key.public_key)); !r) return r;
        if (auto r = add("verifier-key.txt", signer.key.to_string() + "\n"); !r) return r;
        return add("key-rotations.txt", format_key_rotations(signer.rotations));
    }

    es::result<void> event(es::log_position p) {
        std::string raw;
        bool found = false;
        auto read = store.read_raw_from(p.value, 1, [&](std::uint64_t at, std::string_view bytes) {
            if ((found = at == p.value)) raw.assign(bytes);
            return false;
        });
        if (!read) return read.error();
        if (!found)
            return es::error{es::errc::corrupt, "position " + std::to_string(p.value) + " is not in the log", {}, 0, 0};
        auto e = es::decode_envelope(raw);
        if (!e) return e.error();
        const auto leaf = es::leaf_hash(detail::as_bytes(raw));
        const auto n = signer.checkpoint.size;
        auto path = es::inclusion_proof(p.value - 1, n, *subtrees);
        if (!path) return path.error();
        const std::string row = jsonl_row(*e);
        json::array hashes;
        for (const auto& h : *path) hashes.emplace_back(es::base64_encode(h));
        const std::string proof = json::serialize(json::object{{"position", p.value},
                                                               {"leaf_index", p.value - 1},
                                                               {"tree_size", n},
                                                               {"leaf_hash", es::base64_encode(leaf)},
                                                               {"hashes", std::move(hashes)}}) +
                                  "\n";
        const std::string name = std::to_string(p.value);
        if (auto r = add("events/" + name + ".json", row); !r) return r;
        if (auto r = add("events/" + name + ".bin", raw); !r) return r;
        if (auto r = add("proofs/" + name + ".json", proof); !r) return r;
        if (!manifest_events.empty()) manifest_events += ",\n";
        manifest_events += json::serialize(json::object{{"position", p.value},
                                                        {"type", e->type},
                                                        {"recorded_at", format_rfc3339(e->recorded_at)},
                                                        {"envelope_sha256", detail::sha256_hex(raw)},
                                                        {"leaf_hash", es::to_hex(leaf)},
                                                        {"json_sha256", detail::sha256_hex(row)}});
        return {};
    }

    es::result<void> finish() {
        const auto& c = signer.checkpoint;
        auto head = json::serialize(json::object{{"format", detail::manifest_format},
                                                 {"account", selection.account},
                                                 {"since", selection.since},
                                                 {"until", selection.until},
                                                 {"origin", c.origin},
                                                 {"tree_size", c.size},
                                                 {"root", es::base64_encode(c.root)},
                                                 {"checkpoint_sha256", detail::sha256_hex(signer.checkpoint_note)},
                                                 {"generated_at", format_rfc3339(generated_at)},
                                                 {"count", positions.size()}});
        head.pop_back();  // the closing brace: the events follow
        std::string manifest = head + ",\"events\":[\n" + manifest_events + "\n]}\n";
        manifest_events.clear();
        manifest_events.shrink_to_fit();
        auto sig = signer.sign_note(detail::manifest_note_text(manifest));
        if (!sig) return sig.error();
        if (auto r = add("manifest.json", manifest); !r) return r;
        if (auto r = add("manifest.sig", *sig); !r) return r;
        if (archive_write_close(tar) != ARCHIVE_OK) return tar_error("closing the tar");
        return {};
    }
};

evidence_writer::evidence_writer(const es::store& store, std::unique_ptr<es::subtree_source> subtrees,
                                 pack_selection selection, std::vector<es::log_position> positions, pack_signer signer,
                                 domain::timestamp generated_at, std::size_t piece_bytes)
    : impl_(new impl{store,
                     std::move(subtrees),
                     std::move(selection),
                     std::move(positions),
                     std::move(signer),
                     generated_at,
                     piece_bytes,
                     nullptr,
                     nullptr,
                     false,
                     false,
                     0,
                     {}}) {}

evidence_writer::~evidence_writer() {
    if (impl_->tar) archive_write_free(impl_->tar);
}

es::result<bool> evidence_writer::next(std::string& out) {
    auto& m = *impl_;
    if (m.finished) return false;
    m.out = &out;
    const std::size_t start = out.size();
    if (!m.started) {
        m.started = true;
        if (auto r = m.start(); !r) return r.error();
    }
    while (m.next_index < m.positions.size() && out.size() - start < m.piece_bytes)
        if (auto r = m.event(m.positions[m.next_index++]); !r) return r.error();
    if (m.next_index == m.positions.size()) {
        if (auto r = m.finish(); !r) return r.error();
        m.finished = true;
    }
    m.out = nullptr;
    return !m.finished;
}

}  // namespace roster::replay
