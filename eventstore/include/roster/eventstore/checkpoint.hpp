// C2SP tlog-checkpoint bodies and C2SP signed notes with Ed25519 (signature type 0x01), the
// formats of golang.org/x/mod/sumdb/note, so a checkpoint Roster signs verifies with Go's tooling.
// Values and free functions are pure. A signing_key owns an OpenSSL key: move-only, and const
// calls (sign) are safe from several threads.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roster/eventstore/errors.hpp"
#include "roster/eventstore/merkle.hpp"

struct evp_pkey_st;

namespace roster::eventstore {

// Verifiers refuse larger notes before looking at them (the brief of issue 13: 1 MiB), and at most
// this many signature lines (sumdb/note's limit; the spec asks for at least 16).
inline constexpr std::size_t max_note_bytes = std::size_t{1} << 20;
inline constexpr std::size_t max_note_signatures = 100;

inline constexpr std::uint8_t ed25519_signature_type = 0x01;
using ed25519_public_key = std::array<std::uint8_t, 32>;
using ed25519_signature = std::array<std::uint8_t, 64>;

// RFC 4648 §4 base64 with padding. decode refuses anything but the canonical encoding.
std::string base64_encode(std::span<const std::uint8_t> bytes);
result<std::vector<std::uint8_t>> base64_decode(std::string_view text);

// A key name of a signed note: non-empty UTF-8 without Unicode spaces, '+' or control characters.
bool valid_key_name(std::string_view name);

// First 4 bytes, big-endian, of SHA-256(name || "\n" || 0x01 || public key).
std::uint32_t ed25519_key_id(std::string_view name, const ed25519_public_key& public_key);

// ---- tlog-checkpoint ---------------------------------------------------------------------------

struct checkpoint {
    std::string origin;                   // non-empty, no newline; by convention the log's key name
    std::uint64_t size = 0;               // tree size
    hash256 root{};                       // RFC 9162 root at `size`
    std::vector<std::string> extensions;  // opaque non-empty lines (Roster adds a timestamp line)

    friend bool operator==(const checkpoint&, const checkpoint&) = default;
};

// "origin\nsize\nbase64(root)\n" then one line per extension. invalid_argument for an empty origin
// or extension, or one holding a newline or control character.
result<std::string> format_checkpoint(const checkpoint& c);
// The inverse, strict: decimal size without leading zeros, 32-byte root, every line ending in "\n".
result<checkpoint> parse_checkpoint(std::string_view text);

// ---- keys --------------------------------------------------------------------------------------

// What a verifier is configured with: "<name>+<hex key id>+<base64(0x01 || public key)>".
struct verifier_key {
    std::string name;
    std::uint32_t key_id = 0;
    ed25519_public_key public_key{};

    // Strict: the key id must match name and key; only Ed25519.
    static result<verifier_key> parse(std::string_view text);
    std::string to_string() const;
    // RFC 8032 verification of `message`.
    bool verify(std::string_view message, std::span<const std::uint8_t> signature) const;

    friend bool operator==(const verifier_key&, const verifier_key&) = default;
};

class signing_key {
public:
    signing_key(signing_key&&) noexcept;
    signing_key& operator=(signing_key&&) noexcept;
    ~signing_key();

    // A fresh key from the OpenSSL CSPRNG.
    static result<signing_key> generate(std::string name);
    // From a 32-byte RFC 8032 seed (what sumdb/note's "PRIVATE+KEY+..." strings carry).
    static result<signing_key> from_seed(std::string name, std::span<const std::uint8_t> seed);
    // Reads a PKCS#8 PEM Ed25519 key. Refuses a file that group or others may read, as ssh does.
    static result<signing_key> load(const std::filesystem::path& path, std::string name);

    // Writes the key as PKCS#8 PEM to a new file, mode 0600, fsynced with its directory. Refuses
    // (invalid_argument) a path that exists: a key is never silently replaced.
    result<void> save(const std::filesystem::path& path) const;

    const std::string& name() const noexcept { return name_; }
    std::uint32_t key_id() const noexcept { return key_id_; }
    const ed25519_public_key& public_key() const noexcept { return public_key_; }
    verifier_key verifier() const { return verifier_key{name_, key_id_, public_key_}; }

    result<ed25519_signature> sign(std::string_view message) const;

private:
    signing_key(std::string name, evp_pkey_st* key, const ed25519_public_key& pub);
    static result<signing_key> adopt(std::string name, evp_pkey_st* key);

    std::string name_;
    std::unique_ptr<evp_pkey_st, void (*)(evp_pkey_st*)> key_;
    ed25519_public_key public_key_{};
    std::uint32_t key_id_ = 0;
};

// The brief's spelling of signing_key::generate.
inline result<signing_key> generate_signing_key(std::string name) { return signing_key::generate(std::move(name)); }

// ---- signed notes ------------------------------------------------------------------------------

struct note_signature {
    std::string name;
    std::uint32_t key_id = 0;
    std::string base64;  // base64(key id || signature), as on the line

    friend bool operator==(const note_signature&, const note_signature&) = default;
};

struct opened_note {
    std::string text;                        // up to and including its final "\n"
    std::vector<note_signature> verified;    // by a known key, each once
    std::vector<note_signature> unverified;  // by keys not known here (ignored, kept for relaying)
};

// text (ending in "\n"), a blank line, "— <name> <base64(key id || signature)>\n".
result<std::string> sign_note(std::string_view text, const signing_key& key);

// Parses and verifies. invalid_argument for a malformed note (over max_note_bytes, not UTF-8, a
// control character, no blank line before the signatures, a bad signature line); corrupt when a
// known key's signature fails (the whole note is refused) or no known key signed it.
result<opened_note> open_note(std::string_view note, std::span<const verifier_key> known);

// format_checkpoint then sign_note.
result<std::string> sign_checkpoint(const checkpoint& c, const signing_key& key);
// open_note then parse_checkpoint of its text.
result<checkpoint> open_checkpoint(std::string_view note, std::span<const verifier_key> known);

}  // namespace roster::eventstore
