#include "roster/eventstore/checkpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace roster::eventstore {

namespace {

error bad_input(std::string message) { return error{errc::invalid_argument, std::move(message), {}, 0, 0}; }
error refused(std::string message) { return error{errc::corrupt, std::move(message), {}, 0, 0}; }
error io_failure(std::string what, const std::filesystem::path& path, int err) {
    return error{errc::storage_unavailable, what + " " + path.string() + ": " + std::strerror(err), {}, 0, 0};
}

// "— ": U+2014 EM DASH in UTF-8, then a space.
constexpr std::string_view signature_prefix = "\xE2\x80\x94 ";

// Decodes one UTF-8 sequence at text[i] the way Go's utf8.DecodeRune accepts it (no overlongs,
// surrogates or values past U+10FFFF). Returns the code point and its length, or length 0.
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) return {b0, 1};
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
        len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
        return {0, 0};
    }
    if (i + len > text.size()) return {0, 0};
    for (std::size_t k = 1; k < len; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return {0, 0};
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
    return {cp, len};
}

// Go's unicode.IsSpace, which sumdb/note applies to key names.
bool is_unicode_space(char32_t c) {
    switch (c) {
        case '\t':
        case '\n':
        case '\v':
        case '\f':
        case '\r':
        case ' ':
        case 0x85:
        case 0xA0:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x202F:
        case 0x205F:
        case 0x3000: return true;
        default: return c >= 0x2000 && c <= 0x200A;
    }
}

// Valid UTF-8 without control characters other than newline (signed-note's rule for a whole note).
bool clean_text(std::string_view text, bool allow_newline) {
    for (std::size_t i = 0; i < text.size();) {
        auto [cp, len] = decode_utf8(text, i);
        if (len == 0) return false;
        if (cp < 0x20 && !(allow_newline && cp == '\n')) return false;
        i += len;
    }
    return true;
}

std::string hex8(std::uint32_t v) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(8, '0');
    for (int i = 7; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 0xF];
    return out;
}

std::uint32_t load_be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

struct pkey_deleter {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct bio_deleter {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct pkey_ctx_deleter {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

// A PEM passphrase callback that never prompts: OpenSSL's default would read the terminal when it
// meets an encrypted key, which a daemon must not do. An encrypted key file then fails to load.
int no_passphrase(char*, int, int, void*) { return -1; }

// Keys are small; anything larger is not a key file.
constexpr std::size_t max_key_file_bytes = 64 * 1024;

}  // namespace

// ---- base64, names, key ids ----------------------------------------------------------------------

std::string base64_encode(std::span<const std::uint8_t> bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    if (const std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        if (rest == 2) v |= std::uint32_t{bytes[i + 1]} << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        out += rest == 2 ? alphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

result<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    const auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    if (text.size() % 4 != 0) return bad_input("base64 length is not a multiple of 4");
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const std::size_t pad = last ? (text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0) : 0;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4 - pad; ++k) {
            const int d = value(text[i + k]);
            if (d < 0) return bad_input("invalid base64 character");
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        v <<= 6 * pad;
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (pad < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
        if (pad < 1) out.push_back(static_cast<std::uint8_t>(v));
        // Canonical only: the bits the padding leaves unused must be zero.
        if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0)) return bad_input("non-canonical base64");
    }
    return out;
}

bool valid_key_name(std::string_view name) {
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size();) {
        auto [cp, len] = decode_utf8(name, i);
        if (len == 0 || cp < 0x20 || cp == 0x7F || cp == '+' || is_unicode_space(cp)) return false;
        i += len;
    }
    return true;
}

std::uint32_t ed25519_key_id(std::string_view name, const ed25519_public_key& public_key) {
    std::string input;
    input.reserve(name.size() + 2 + public_key.size());
    input.append(name);
    input += '\n';
    input += static_cast<char>(ed25519_signature_type);
    input.append(reinterpret_cast<const char*>(public_key.data()), public_key.size());
    std::array<std::uint8_t, 32> digest{};
    unsigned int len = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("OpenSSL SHA-256 failed");
    return load_be32(digest.data());
}

// ---- tlog-checkpoint ----------------------------------------------------------------------------

result<std::string> format_checkpoint(const checkpoint& c) {
    if (c.origin.empty() || !clean_text(c.origin, false))
        return bad_input("checkpoint origin is empty or not one clean line");
    for (const auto& ext : c.extensions)
        if (ext.empty() || !clean_text(ext, false))
            return bad_input("checkpoint extension line is empty or not one clean line");
    std::string out;
    out.reserve(c.origin.size() + 80);
    out.append(c.origin).append("\n");
    out.append(std::to_string(c.size)).append("\n");
    out.append(base64_encode(c.root)).append("\n");
    for (const auto& ext : c.extensions) out.append(ext).append("\n");
    return out;
}

result<checkpoint> parse_checkpoint(std::string_view text) {
    if (text.size() > max_note_bytes) return bad_input("checkpoint is too large");
    if (!clean_text(text, true)) return bad_input("checkpoint is not clean UTF-8 text");
    if (text.empty() || text.back() != '\n') return bad_input("checkpoint does not end in a newline");
    std::vector<std::string_view> lines;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t nl = text.find('\n', pos);
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    if (lines.size() < 3) return bad_input("checkpoint has fewer than three lines");
    for (auto line : lines)
        if (line.empty()) return bad_input("checkpoint has an empty line");
    checkpoint c;
    c.origin = std::string(lines[0]);
    const std::string_view size = lines[1];
    if (size.size() > 1 && size.front() == '0') return bad_input("checkpoint tree size has a leading zero");
    if (!std::all_of(size.begin(), size.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        return bad_input("checkpoint tree size is not decimal");
    const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
    if (ec != std::errc{} || end != size.data() + size.size()) return bad_input("checkpoint tree size is out of range");
    auto root = base64_decode(lines[2]);
    if (!root || root->size() != c.root.size()) return bad_input("checkpoint root hash is not 32 bytes of base64");
    std::copy(root->begin(), root->end(), c.root.begin());
    for (std::size_t i = 3; i < lines.size(); ++i) c.extensions.emplace_back(lines[i]);
    return c;
}

// ---- keys ----------------------------------------------------------------------------------------

result<verifier_key> verifier_key::parse(std::string_view text) {
    const std::size_t p1 = text.find('+');
    if (p1 == std::string_view::npos) return bad_input("verifier key has no '+'");
    const std::size_t p2 = text.find('+', p1 + 1);
    if (p2 == std::string_view::npos) return bad_input("verifier key has one '+'");
    const std::string_view name = text.substr(0, p1);
    const std::string_view id_hex = text.substr(p1 + 1, p2 - p1 - 1);
    const std::string_view key_b64 = text.substr(p2 + 1);
    if (!valid_key_name(name)) return bad_input("verifier key name is invalid");
    if (id_hex.size() != 8) return bad_input("verifier key id is not 8 hex digits");
    std::uint32_t id = 0;
    for (char ch : id_hex) {
        // Lowercase only: the spec's hex is lowercase, and one spelling per key keeps lists comparable.
        int d = (ch >= '0' && ch <= '9') ? ch - '0' : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10 : -1;
        if (d < 0) return bad_input("verifier key id is not lowercase hex");
        id = (id << 4) | static_cast<std::uint32_t>(d);
    }
    auto key = base64_decode(key_b64);
    if (!key || key->empty()) return bad_input("verifier key material is not base64");
    if ((*key)[0] != ed25519_signature_type) return bad_input("verifier key is not an Ed25519 key");
    if (key->size() != 1 + 32) return bad_input("Ed25519 verifier key is not 32 bytes");
    verifier_key v;
    v.name = std::string(name);
    std::copy(key->begin() + 1, key->end(), v.public_key.begin());
    v.key_id = ed25519_key_id(v.name, v.public_key);
    if (v.key_id != id) return bad_input("verifier key id does not match its name and key");
    return v;
}

std::string verifier_key::to_string() const {
    std::array<std::uint8_t, 33> material{};
    material[0] = ed25519_signature_type;
    std::copy(public_key.begin(), public_key.end(), material.begin() + 1);
    return name + "+" + hex8(key_id) + "+" + base64_encode(material);
}

bool verifier_key::verify(std::string_view message, std::span<const std::uint8_t> signature) const {
    if (signature.size() != 64) return false;
    std::unique_ptr<EVP_PKEY, pkey_deleter> key(
        EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    if (!key || !ctx) return false;
    // Ed25519 hashes internally: no digest (NULL md), and only the one-shot call is allowed.
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                            reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

signing_key::signing_key(std::string name, evp_pkey_st* key, const ed25519_public_key& pub)
    : name_(std::move(name)),
      key_(key, [](evp_pkey_st* k) { EVP_PKEY_free(k); }),
      public_key_(pub),
      key_id_(ed25519_key_id(name_, pub)) {}

signing_key::signing_key(signing_key&&) noexcept = default;
signing_key& signing_key::operator=(signing_key&&) noexcept = default;
signing_key::~signing_key() = default;

result<signing_key> signing_key::adopt(std::string name, evp_pkey_st* key) {
    std::unique_ptr<EVP_PKEY, pkey_deleter> owned(key);
    if (!valid_key_name(name)) return bad_input("key name is empty or holds a space, '+' or control character");
    if (!owned || EVP_PKEY_get_base_id(owned.get()) != EVP_PKEY_ED25519) return bad_input("not an Ed25519 key");
    ed25519_public_key pub{};
    std::size_t len = pub.size();
    if (EVP_PKEY_get_raw_public_key(owned.get(), pub.data(), &len) != 1 || len != pub.size())
        return bad_input("cannot read the Ed25519 public key");
    return signing_key(std::move(name), owned.release(), pub);
}

result<signing_key> signing_key::generate(std::string name) {
    std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_deleter> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &key) != 1)
        return error{errc::storage_unavailable, "OpenSSL could not generate an Ed25519 key", {}, 0, 0};
    return adopt(std::move(name), key);
}

result<signing_key> signing_key::from_seed(std::string name, std::span<const std::uint8_t> seed) {
    if (seed.size() != 32) return bad_input("an Ed25519 seed is 32 bytes");
    return adopt(std::move(name), EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
}

result<signing_key> signing_key::load(const std::filesystem::path& path, std::string name) {
    fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0) return io_failure("cannot open key file", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return io_failure("cannot stat key file", path, errno);
    if (!S_ISREG(st.st_mode)) return bad_input("key file " + path.string() + " is not a regular file");
    if ((st.st_mode & 077) != 0) return bad_input("key file " + path.string() + " is readable by group or others");
    if (static_cast<std::uint64_t>(st.st_size) > max_key_file_bytes) return bad_input("key file is too large");
    std::string pem(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < pem.size()) {
        const ssize_t n = ::read(fd.get(), pem.data() + got, pem.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_failure("cannot read key file", path, errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    pem.resize(got);
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
    OPENSSL_cleanse(pem.data(), pem.size());
    if (key == nullptr) return bad_input("key file " + path.string() + " is not an unencrypted PEM private key");
    return adopt(std::move(name), key);
}

result<void> signing_key::save(const std::filesystem::path& path) const {
    // Secure memory BIO: the PEM text of the private key is wiped when freed.
    std::unique_ptr<BIO, bio_deleter> bio(BIO_new(BIO_s_secmem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return bad_input("OpenSSL could not encode the key");
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio.get(), &data);
    if (size <= 0 || data == nullptr) return bad_input("OpenSSL could not encode the key");

    // O_EXCL: never replace an existing key (losing it would orphan every checkpoint it signed).
    fd_guard fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
        if (errno == EEXIST) return bad_input("key file " + path.string() + " already exists");
        return io_failure("cannot create key file", path, errno);
    }
    const auto fail = [&](const char* what) {
        const int err = errno;
        ::unlink(path.c_str());  // a half-written key would block the retry through O_EXCL
        return io_failure(what, path, err);
    };
    // The umask may have taken bits away but never added any; fchmod makes the mode exact.
    if (::fchmod(fd.get(), 0600) != 0) return fail("cannot chmod key file");
    if (!write_all(fd.get(), data, static_cast<std::size_t>(size))) return fail("cannot write key file");
    if (::fsync(fd.get()) != 0) return fail("cannot fsync key file");
    if (::close(fd.release()) != 0) return fail("cannot close key file");
    // The new directory entry is durable only once the directory is synced.
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    fd_guard dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) return io_failure("cannot fsync directory of", path, errno);
    return {};
}

result<ed25519_signature> signing_key::sign(std::string_view message) const {
    std::unique_ptr<EVP_MD_CTX, md_ctx_deleter> ctx(EVP_MD_CTX_new());
    ed25519_signature sig{};
    std::size_t len = sig.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1 ||
        len != sig.size())
        return error{errc::storage_unavailable, "OpenSSL could not sign", {}, 0, 0};
    return sig;
}

// ---- signed notes --------------------------------------------------------------------------------

result<std::string> sign_note(std::string_view text, const signing_key& key) {
    if (text.empty() || text.back() != '\n') return bad_input("note text does not end in a newline");
    if (!clean_text(text, true)) return bad_input("note text is not clean UTF-8 text");
    auto sig = key.sign(text);
    if (!sig) return sig.error();
    std::array<std::uint8_t, 4 + 64> raw{};
    const std::uint32_t id = key.key_id();
    raw[0] = static_cast<std::uint8_t>(id >> 24);
    raw[1] = static_cast<std::uint8_t>(id >> 16);
    raw[2] = static_cast<std::uint8_t>(id >> 8);
    raw[3] = static_cast<std::uint8_t>(id);
    std::copy(sig->begin(), sig->end(), raw.begin() + 4);
    std::string out;
    out.reserve(text.size() + key.name().size() + 100);
    out.append(text)
        .append("\n")
        .append(signature_prefix)
        .append(key.name())
        .append(" ")
        .append(base64_encode(raw))
        .append("\n");
    if (out.size() > max_note_bytes) return bad_input("signed note would exceed the note size limit");
    return out;
}

result<opened_note> open_note(std::string_view note, std::span<const verifier_key> known) {
    if (note.size() > max_note_bytes) return bad_input("note is larger than 1 MiB");
    if (!clean_text(note, true)) return bad_input("note is not UTF-8 text without control characters");
    // The text ends at the last blank line; what follows is signature lines only.
    const std::size_t split = note.rfind("\n\n");
    if (split == std::string_view::npos) return bad_input("note has no blank line before its signatures");
    opened_note out;
    out.text = std::string(note.substr(0, split + 1));
    std::string_view sigs = note.substr(split + 2);
    if (sigs.empty() || sigs.back() != '\n') return bad_input("note signatures do not end in a newline");

    std::size_t count = 0;
    while (!sigs.empty()) {
        const std::size_t nl = sigs.find('\n');
        std::string_view line = sigs.substr(0, nl);
        sigs.remove_prefix(nl + 1);
        if (++count > max_note_signatures) return bad_input("note has too many signatures");
        if (!line.starts_with(signature_prefix)) return bad_input("note signature line does not start with an em dash");
        line.remove_prefix(signature_prefix.size());
        const std::size_t space = line.find(' ');
        if (space == std::string_view::npos) return bad_input("note signature line has no signature");
        const std::string_view name = line.substr(0, space);
        const std::string_view b64 = line.substr(space + 1);
        auto raw = base64_decode(b64);
        if (!valid_key_name(name) || b64.empty() || !raw || raw->size() < 5)
            return bad_input("note signature line is malformed");
        note_signature s{std::string(name), load_be32(raw->data()), std::string(b64)};

        // A key is known by name and id together; a match on one of them only is someone else's key.
        const verifier_key* match = nullptr;
        for (const auto& k : known) {
            if (k.name != s.name || k.key_id != s.key_id) continue;
            if (match != nullptr && match->public_key != k.public_key)
                return bad_input("two known keys share the name and id " + s.name + "+" + hex8(s.key_id));
            match = &k;
        }
        if (match == nullptr) {
            if (std::find(out.unverified.begin(), out.unverified.end(), s) == out.unverified.end())
                out.unverified.push_back(std::move(s));
            continue;
        }
        const bool seen = std::any_of(out.verified.begin(), out.verified.end(), [&](const note_signature& v) {
            return v.name == s.name && v.key_id == s.key_id;
        });
        if (seen) continue;
        if (!match->verify(out.text, std::span<const std::uint8_t>(*raw).subspan(4)))
            return refused("signature by " + s.name + "+" + hex8(s.key_id) + " does not verify");
        out.verified.push_back(std::move(s));
    }
    if (out.verified.empty()) return refused("note is not signed by a known key");
    return out;
}

result<std::string> sign_checkpoint(const checkpoint& c, const signing_key& key) {
    auto text = format_checkpoint(c);
    if (!text) return text.error();
    return sign_note(*text, key);
}

result<checkpoint> open_checkpoint(std::string_view note, std::span<const verifier_key> known) {
    auto opened = open_note(note, known);
    if (!opened) return opened.error();
    return parse_checkpoint(opened->text);
}

}  // namespace roster::eventstore
