// rosterctl verify-pack: the checks of verify_pack.py, with the eventstore's verifiers. Two passes
// over the archive, so memory is the manifest, never the pack: the first reads the fixed files
// (the manifest comes last in the tar), the second checks each event file against its entry.
#include <archive.h>
#include <archive_entry.h>

#include <charconv>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "evidence_internal.hpp"
#include "roster/replay/evidence.hpp"
#include "roster/replay/key_rotation.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::replay {

namespace es = roster::eventstore;
namespace json = boost::json;

namespace {

constexpr std::size_t max_fixed_bytes = 64u << 20;  // manifest.json of max_pack_events is ~18 MiB
constexpr std::size_t max_event_bytes = 64u << 20;  // an event is ~1 MB at most

const std::set<std::string> fixed_files = {"README.md",        "verify.py",     "checkpoint.txt", "public-key.pem",
                                           "verifier-key.txt", "manifest.json", "manifest.sig"};
// Packs made before key rotations were carried have no key-rotations.txt; only a pin to an
// older key needs it.
constexpr std::string_view rotations_file = "key-rotations.txt";

es::error failed(std::string what) { return es::error{es::errc::corrupt, std::move(what), {}, 0, 0}; }

// Calls fn(name, read) for each entry; read(limit) returns its bytes (or an error past limit).
using entry_reader = std::function<es::result<std::string>(std::size_t limit)>;
es::result<void> for_each_entry(const std::filesystem::path& path,
                                const std::function<es::result<void>(const std::string&, const entry_reader&)>& fn) {
    std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_all(a.get());
    if (archive_read_open_filename(a.get(), path.c_str(), 64 * 1024) != ARCHIVE_OK)
        return es::error{es::errc::invalid_argument,
                         "cannot open " + path.string() + ": " + archive_error_string(a.get()),
                         {},
                         0,
                         0};
    archive_entry* e = nullptr;
    for (;;) {
        const int r = archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) return {};
        if (r != ARCHIVE_OK) return failed(std::string("not a readable tar: ") + archive_error_string(a.get()));
        std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (name.starts_with("./")) name.erase(0, 2);
        if (archive_entry_filetype(e) == AE_IFDIR) continue;  // a reviewer's re-made tar has them
        if (archive_entry_filetype(e) != AE_IFREG) return failed("unexpected tar entry " + name);
        const auto size = archive_entry_size(e);
        entry_reader read = [&](std::size_t limit) -> es::result<std::string> {
            if (size < 0 || static_cast<std::uint64_t>(size) > limit) return failed(name + " is too large");
            std::string data(static_cast<std::size_t>(size), '\0');
            std::size_t got = 0;
            while (got < data.size()) {
                auto n = archive_read_data(a.get(), data.data() + got, data.size() - got);
                if (n <= 0) return failed(name + " is truncated");
                got += static_cast<std::size_t>(n);
            }
            return data;
        };
        if (auto r2 = fn(name, read); !r2) return r2;
    }
}

struct manifest_entry {
    std::string type, recorded_at, envelope_sha256, leaf_hash, json_sha256;
    unsigned seen = 0;  // bits: 1 bin, 2 json, 4 proof
};

// "events/12.bin" -> {12, "bin"}; nullopt for any other name.
std::optional<std::pair<std::uint64_t, unsigned>> event_file(std::string_view name) {
    unsigned kind = 0;
    std::string_view rest;
    if (name.starts_with("events/") && name.ends_with(".bin"))
        kind = 1, rest = name.substr(7, name.size() - 11);
    else if (name.starts_with("events/") && name.ends_with(".json"))
        kind = 2, rest = name.substr(7, name.size() - 12);
    else if (name.starts_with("proofs/") && name.ends_with(".json"))
        kind = 4, rest = name.substr(7, name.size() - 12);
    else
        return std::nullopt;
    std::uint64_t p = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), p);
    if (rest.empty() || ec != std::errc{} || end != rest.data() + rest.size() || rest[0] == '0') return std::nullopt;
    return std::pair{p, kind};
}

std::string str(const json::value& v, const char* key) {
    const auto* s = v.as_object().at(key).if_string();
    if (!s) throw std::invalid_argument(std::string(key) + " is not a string");
    return std::string(*s);
}
std::uint64_t num(const json::value& v, const char* key) { return v.as_object().at(key).to_number<std::uint64_t>(); }

es::result<pack_summary> verify(const std::filesystem::path& path, const std::optional<std::string>& pinned) {
    // Pass 1: the fixed files.
    std::map<std::string, std::string> fixed;
    std::set<std::string> names;
    auto pass1 = for_each_entry(path, [&](const std::string& name, const entry_reader& read) -> es::result<void> {
        if (!names.insert(name).second) return failed("duplicate file " + name);
        if (!fixed_files.contains(name) && name != rotations_file) return {};
        auto data = read(max_fixed_bytes);
        if (!data) return data.error();
        fixed[name] = std::move(*data);
        return {};
    });
    if (!pass1) return pass1.error();
    for (const auto& f : fixed_files)
        if (!fixed.contains(f)) return failed("missing " + f);

    pack_summary summary;
    auto key_text = fixed["verifier-key.txt"];
    if (!key_text.empty() && key_text.back() == '\n') key_text.pop_back();
    auto key = es::verifier_key::parse(key_text);
    if (!key) return failed("verifier-key.txt is not a verifier key: " + key.error().message);
    if (fixed["public-key.pem"] != ed25519_public_key_pem(key->public_key))
        return failed("public-key.pem and verifier-key.txt are different keys");
    if (pinned) {
        auto p = es::verifier_key::parse(*pinned);
        if (!p) return es::error{es::errc::invalid_argument, "--public-key: " + p.error().message, {}, 0, 0};
        if (*p != *key) {
            // An older pin reaches the pack's key only through the log's signed rotations.
            const auto it = fixed.find(std::string(rotations_file));
            if (it == fixed.end())
                return failed("the pack's key is not the pinned key (and the pack has no key-rotations.txt)");
            auto notes = parse_key_rotations(it->second);
            if (!notes) return failed(notes.error().message);
            auto reached = accept_rotations(*p, *notes);
            if (!reached) return failed("key-rotations.txt: " + reached.error().message);
            if (*reached != *key)
                return failed("the pack's key is not the pinned key nor reached from it by key-rotations.txt");
            summary.rotations = notes->size();
        }
        summary.pinned = true;
    }
    const std::span<const es::verifier_key> known(&*key, 1);
    auto cp = es::open_checkpoint(fixed["checkpoint.txt"], known);
    if (!cp) return failed("checkpoint.txt: the signature does not verify: " + cp.error().message);
    auto sig = es::open_note(fixed["manifest.sig"], known);
    if (!sig) return failed("manifest.sig: the signature does not verify: " + sig.error().message);
    const std::string& manifest_text = fixed["manifest.json"];
    if (sig->text != detail::manifest_note_text(manifest_text))
        return failed("manifest.sig does not sign this manifest.json");

    std::map<std::uint64_t, manifest_entry> entries;
    try {
        const auto m = json::parse(manifest_text);
        if (str(m, "format") != detail::manifest_format) return failed("manifest: unknown format");
        if (str(m, "origin") != cp->origin || num(m, "tree_size") != cp->size ||
            str(m, "root") != es::base64_encode(cp->root))
            return failed("manifest: not about checkpoint.txt (origin, tree_size, root)");
        if (str(m, "checkpoint_sha256") != detail::sha256_hex(fixed["checkpoint.txt"]))
            return failed("manifest: checkpoint_sha256 is not checkpoint.txt's");
        summary.account = str(m, "account");
        summary.since = str(m, "since");
        summary.until = str(m, "until");
        summary.origin = cp->origin;
        summary.tree_size = cp->size;
        const auto& events = m.as_object().at("events").as_array();
        if (num(m, "count") != events.size()) return failed("manifest: count differs from its events");
        std::uint64_t last = 0;
        for (const auto& e : events) {
            const auto p = num(e, "position");
            if (p <= last)
                return failed("manifest: position " + std::to_string(p) + " is not after " + std::to_string(last));
            last = p;
            if (p > cp->size)
                return failed("manifest: position " + std::to_string(p) + " is beyond the checkpoint's tree");
            manifest_entry me{str(e, "type"), str(e, "recorded_at"), str(e, "envelope_sha256"), str(e, "leaf_hash"),
                              str(e, "json_sha256")};
            if ((!summary.since.empty() && me.recorded_at < summary.since) ||
                (!summary.until.empty() && me.recorded_at >= summary.until))
                return failed("event " + std::to_string(p) + ": recorded outside the manifest's range");
            entries.emplace(p, std::move(me));
        }
        summary.events = events.size();
    } catch (const std::exception& ex) {
        return failed(std::string("manifest.json is malformed: ") + ex.what());
    }

    // Pass 2: every event file against its entry.
    auto pass2 = for_each_entry(path, [&](const std::string& name, const entry_reader& read) -> es::result<void> {
        if (fixed_files.contains(name) || name == rotations_file) return {};
        auto which = event_file(name);
        auto it = which ? entries.find(which->first) : entries.end();
        if (it == entries.end()) return failed("file not in the manifest: " + name);
        const auto p = which->first;
        auto& me = it->second;
        const std::string where = "event " + std::to_string(p) + ": ";
        auto data = read(max_event_bytes);
        if (!data) return data.error();
        me.seen |= which->second;
        if (which->second == 1) {
            if (detail::sha256_hex(*data) != me.envelope_sha256)
                return failed(where + "envelope bytes differ from envelope_sha256");
            if (es::to_hex(es::leaf_hash(detail::as_bytes(*data))) != me.leaf_hash)
                return failed(where + "leaf hash differs");
            auto e = es::decode_envelope(*data);
            if (!e) return failed(where + "the envelope does not decode: " + e.error().message);
            if (e->position.value != p) return failed(where + "the envelope names another position");
            if (e->type != me.type || format_rfc3339(e->recorded_at) != me.recorded_at)
                return failed(where + "type or recorded_at differs between envelope and manifest");
            return {};
        }
        try {
            const auto v = json::parse(*data);
            if (which->second == 2) {
                if (detail::sha256_hex(*data) != me.json_sha256) return failed(where + "JSON differs from json_sha256");
                if (num(v, "position") != p) return failed(where + "the JSON names another position");
                if (str(v, "type") != me.type || str(v, "recorded_at") != me.recorded_at)
                    return failed(where + "type or recorded_at differs between JSON and manifest");
                return {};
            }
            if (num(v, "position") != p || num(v, "leaf_index") != p - 1 || num(v, "tree_size") != cp->size)
                return failed(where + "proof is for another position or tree");
            auto leaf = es::base64_decode(str(v, "leaf_hash"));
            if (!leaf || leaf->size() != 32) return failed(where + "proof's leaf hash is malformed");
            es::hash256 l;
            std::copy(leaf->begin(), leaf->end(), l.begin());
            if (es::to_hex(l) != me.leaf_hash) return failed(where + "proof's leaf hash differs");
            std::vector<es::hash256> hashes;
            for (const auto& h : v.as_object().at("hashes").as_array()) {
                auto b = es::base64_decode(h.as_string());
                if (!b || b->size() != 32) return failed(where + "proof hash is malformed");
                hashes.emplace_back();
                std::copy(b->begin(), b->end(), hashes.back().begin());
            }
            if (!es::verify_inclusion(l, p - 1, cp->size, hashes, cp->root))
                return failed(where + "inclusion proof does not lead to the checkpoint's root");
            return {};
        } catch (const std::exception& ex) {
            return failed(where + name + " is malformed: " + ex.what());
        }
    });
    if (!pass2) return pass2.error();
    for (const auto& [p, me] : entries)
        if (me.seen != 7)
            return failed("event " + std::to_string(p) + ": missing " +
                          ((me.seen & 1) == 0   ? "events/" + std::to_string(p) + ".bin"
                           : (me.seen & 2) == 0 ? "events/" + std::to_string(p) + ".json"
                                                : "proofs/" + std::to_string(p) + ".json"));
    return summary;
}

}  // namespace

es::result<pack_summary> verify_pack(const std::filesystem::path& path, std::optional<std::string> pinned) {
    return verify(path, pinned);
}

int run_verify_pack(const std::filesystem::path& path, std::optional<std::string> pinned, std::ostream& out,
                    std::ostream& err) {
    auto r = verify_pack(path, std::move(pinned));
    if (!r) {
        err << "verify-pack: FAILED: " << r.error().message << "\n";
        return r.error().code == es::errc::invalid_argument ? 2 : 1;
    }
    out << "verify-pack: ok: " << r->events << " events of account " << r->account << " in ["
        << (r->since.empty() ? "-" : r->since) << ", " << (r->until.empty() ? "-" : r->until) << "), tree size "
        << r->tree_size << " of " << r->origin << ", "
        << (!r->pinned          ? "checked against the pack's own key (pin it with --public-key)"
            : r->rotations == 0 ? "key pinned"
                                : "key pinned, reached through key-rotations.txt")
        << "\n";
    return 0;
}

}  // namespace roster::replay
