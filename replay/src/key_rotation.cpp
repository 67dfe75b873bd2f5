#include "roster/replay/key_rotation.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace roster::replay {

namespace es = roster::eventstore;

namespace {

es::error bad(std::string what) { return es::error{es::errc::invalid_argument, std::move(what), {}, 0, 0}; }
es::error refused(std::string what) { return es::error{es::errc::corrupt, std::move(what), {}, 0, 0}; }

// The signature lines of a note signed by one key: everything after the text's blank line.
es::result<std::string> signature_lines(std::string_view text, const es::signing_key& key) {
    auto note = es::sign_note(text, key);
    if (!note) return note.error();
    // sign_note writes text, "\n", then the signature lines.
    return note->substr(text.size() + 1);
}

bool next_line(std::string_view& rest, std::string_view& line) {
    const auto nl = rest.find('\n');
    if (nl == std::string_view::npos) return false;
    line = rest.substr(0, nl);
    rest.remove_prefix(nl + 1);
    return true;
}

std::string short_key(const es::verifier_key& k) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", k.key_id);
    return k.name + "+" + hex;
}

}  // namespace

std::string format_rotation_statement(const rotation_statement& s) {
    return std::string(rotation_statement_header) + "\n" + s.origin + "\nold " + s.old_key.to_string() + "\nnew " +
           s.new_key.to_string() + "\ntree " + std::to_string(s.tree_size) + "\n";
}

es::result<rotation_statement> parse_rotation_statement(std::string_view text) {
    std::string_view rest = text, header, origin, old_line, new_line, tree_line;
    if (!next_line(rest, header) || !next_line(rest, origin) || !next_line(rest, old_line) ||
        !next_line(rest, new_line) || !next_line(rest, tree_line) || !rest.empty())
        return bad("a rotation statement has exactly five lines");
    if (header != rotation_statement_header) return bad("not a rotation statement (v1)");
    if (!es::valid_key_name(origin)) return bad("the statement's origin is not a key name");
    if (!old_line.starts_with("old ") || !new_line.starts_with("new ") || !tree_line.starts_with("tree "))
        return bad("a rotation statement's lines are origin, old, new and tree");
    rotation_statement s;
    s.origin = std::string(origin);
    auto old_key = es::verifier_key::parse(old_line.substr(4));
    if (!old_key) return bad("the statement's old key: " + old_key.error().message);
    auto new_key = es::verifier_key::parse(new_line.substr(4));
    if (!new_key) return bad("the statement's new key: " + new_key.error().message);
    s.old_key = *old_key;
    s.new_key = *new_key;
    const auto size = tree_line.substr(5);
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), s.tree_size);
    if (size.empty() || ec != std::errc{} || end != size.data() + size.size() || (size.size() > 1 && size[0] == '0'))
        return bad("the statement's tree size is not a decimal number");
    if (s.old_key.name != s.origin || s.new_key.name != s.origin)
        return bad("both keys of a rotation statement are named after the log's origin");
    if (s.old_key == s.new_key) return bad("a rotation statement names the same key twice");
    // Canonical: the text is what formatting the parsed values gives, so one statement has one text.
    if (format_rotation_statement(s) != text) return bad("the rotation statement is not in canonical form");
    return s;
}

es::result<std::string> sign_rotation_statement(const rotation_statement& s, const es::signing_key& old_key,
                                                const es::signing_key& new_key) {
    if (old_key.verifier() != s.old_key || new_key.verifier() != s.new_key)
        return bad("the signing keys are not the statement's");
    const std::string text = format_rotation_statement(s);
    auto by_old = es::sign_note(text, old_key);
    if (!by_old) return by_old.error();
    auto by_new = signature_lines(text, new_key);
    if (!by_new) return by_new.error();
    return *by_old + *by_new;
}

es::result<rotation_statement> accept_rotation(const es::verifier_key& trusted, std::string_view note) {
    // Read the text unverified only to learn which new key to check; nothing is trusted yet.
    const auto split = note.find("\n\n");
    if (split == std::string_view::npos) return refused("not a signed note");
    auto s = parse_rotation_statement(note.substr(0, split + 1));
    if (!s) return refused(s.error().message);
    if (s->old_key != trusted)
        return refused("it rotates from " + short_key(s->old_key) + ", not from the trusted key " + short_key(trusted));
    for (const auto& k : {trusted, s->new_key}) {
        auto opened = es::open_note(note, std::span(&k, 1));
        if (!opened) return refused("not signed by " + short_key(k) + ": " + opened.error().message);
    }
    return *s;
}

es::result<es::verifier_key> accept_rotations(const es::verifier_key& pinned, std::span<const std::string> notes) {
    if (notes.size() > max_rotation_statements)
        return refused("more than " + std::to_string(max_rotation_statements) + " rotation statements");
    // Where the pin starts: after the last statement that introduced it (its history is behind us).
    std::size_t start = 0;
    for (std::size_t i = 0; i < notes.size(); ++i) {
        const auto split = notes[i].find("\n\n");
        if (split == std::string::npos) continue;
        if (auto s = parse_rotation_statement(std::string_view(notes[i]).substr(0, split + 1));
            s && s->new_key == pinned)
            start = i + 1;
    }
    es::verifier_key trusted = pinned;
    for (std::size_t i = start; i < notes.size(); ++i) {
        auto s = accept_rotation(trusted, notes[i]);
        if (!s)
            return refused("rotation statement " + std::to_string(i + 1) + " of " + std::to_string(notes.size()) +
                           " is refused: " + s.error().message);
        trusted = s->new_key;
    }
    return trusted;
}

}  // namespace roster::replay
