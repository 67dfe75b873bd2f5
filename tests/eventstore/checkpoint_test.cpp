// C2SP signed notes and tlog checkpoints: golang.org/x/mod/sumdb/note's Ed25519 vectors byte for
// byte, the C2SP spec's example, strict parsing, and the private key file.
#include "roster/eventstore/checkpoint.hpp"

#include <string>
#include <vector>

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "temp_dir.hpp"

namespace roster::eventstore {
namespace {

// sumdb/note note_test.go: TestSign, TestOpen.
constexpr std::string_view peter_vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// The base64 part of "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz":
// 0x01 then the RFC 8032 seed.
constexpr std::string_view peter_skey_b64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view enoch_vkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view go_text =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view peter_sig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view enoch_sig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

signing_key peter() {
    auto raw = base64_decode(peter_skey_b64);
    EXPECT_TRUE(raw.has_value());
    EXPECT_EQ((*raw)[0], ed25519_signature_type);
    auto key = signing_key::from_seed("PeterNeumann", std::span<const std::uint8_t>(*raw).subspan(1));
    EXPECT_TRUE(key.has_value());
    return std::move(*key);
}

verifier_key vkey(std::string_view text) {
    auto v = verifier_key::parse(text);
    EXPECT_TRUE(v.has_value()) << text;
    return *v;
}

std::string go_note(std::string_view sigs) { return std::string(go_text) + "\n" + std::string(sigs); }

TEST(checkpoint, sumdb_note_ed25519_vector_byte_for_byte) {
    const signing_key key = peter();
    EXPECT_EQ(key.key_id(), 0xc74f20a3u);
    EXPECT_EQ(key.verifier().to_string(), peter_vkey);
    EXPECT_EQ(key.verifier(), vkey(peter_vkey));
    auto signed_note = sign_note(go_text, key);
    ASSERT_TRUE(signed_note.has_value());
    EXPECT_EQ(*signed_note, go_note(peter_sig));
}

TEST(checkpoint, opens_sumdb_notes_with_known_and_unknown_signers) {
    const std::vector<verifier_key> only_peter = {vkey(peter_vkey)};
    auto n = open_note(go_note(std::string(peter_sig) + std::string(enoch_sig)), only_peter);
    ASSERT_TRUE(n.has_value()) << n.error().message;
    EXPECT_EQ(n->text, go_text);
    ASSERT_EQ(n->verified.size(), 1u);
    EXPECT_EQ(n->verified[0].name, "PeterNeumann");
    EXPECT_EQ(n->verified[0].key_id, 0xc74f20a3u);
    ASSERT_EQ(n->unverified.size(), 1u);
    EXPECT_EQ(n->unverified[0].name, "EnochRoot");
    EXPECT_EQ(n->unverified[0].key_id, 0xaf0cfe78u);

    const std::vector<verifier_key> both = {vkey(peter_vkey), vkey(enoch_vkey)};
    auto b = open_note(go_note(std::string(enoch_sig) + std::string(peter_sig) + std::string(peter_sig)), both);
    ASSERT_TRUE(b.has_value()) << b.error().message;
    EXPECT_EQ(b->verified.size(), 2u);  // the repeated line counts once
    EXPECT_TRUE(b->unverified.empty());

    // Signed by an unknown key only: refused.
    auto u = open_note(go_note(enoch_sig), only_peter);
    ASSERT_FALSE(u.has_value());
    EXPECT_EQ(u.error().code, errc::corrupt);
}

// c2sp.org/signed-note's example.
TEST(checkpoint, c2sp_signed_note_example_verifies) {
    const std::vector<verifier_key> known = {
        vkey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")};
    const std::string note =
        "This is an example message.\n\n\xE2\x80\x94 example.com/foo "
        "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    auto n = open_note(note, known);
    ASSERT_TRUE(n.has_value()) << n.error().message;
    EXPECT_EQ(n->text, "This is an example message.\n");
}

TEST(checkpoint, tampered_notes_and_wrong_keys_are_refused) {
    const signing_key key = peter();
    const std::vector<verifier_key> known = {key.verifier()};
    const std::string good = go_note(peter_sig);
    ASSERT_TRUE(open_note(good, known).has_value());

    // A modified body: the known key's signature fails, the whole note is refused.
    std::string body = good;
    body[3] = 'X';
    EXPECT_EQ(open_note(body, known).error().code, errc::corrupt);

    // Another key under the same name has another id: its holder does not know this signer.
    auto other = signing_key::generate("PeterNeumann");
    ASSERT_TRUE(other.has_value());
    const std::vector<verifier_key> wrong_key = {other->verifier()};
    EXPECT_EQ(open_note(good, wrong_key).error().code, errc::corrupt);

    // The right key under another name is another signer.
    verifier_key renamed = key.verifier();
    renamed.name = "PeterNeuman";
    renamed.key_id = ed25519_key_id(renamed.name, renamed.public_key);
    EXPECT_EQ(open_note(good, std::vector<verifier_key>{renamed}).error().code, errc::corrupt);

    // A forged key id: the line claims the other key's name and id, so that key must verify it, and fails.
    auto raw =
        base64_decode("x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=");
    ASSERT_TRUE(raw.has_value());
    const std::uint32_t id = other->key_id();
    (*raw)[0] = static_cast<std::uint8_t>(id >> 24);
    (*raw)[1] = static_cast<std::uint8_t>(id >> 16);
    (*raw)[2] = static_cast<std::uint8_t>(id >> 8);
    (*raw)[3] = static_cast<std::uint8_t>(id);
    const std::string forged = go_note("\xE2\x80\x94 PeterNeumann " + base64_encode(*raw) + "\n");
    const std::vector<verifier_key> both = {key.verifier(), other->verifier()};
    auto f = open_note(forged, both);
    ASSERT_FALSE(f.has_value());
    EXPECT_EQ(f.error().code, errc::corrupt);
    // ... and a bad signature by a known key sinks the note even when another known key signed it.
    EXPECT_EQ(open_note(go_note(std::string(peter_sig) + forged.substr(go_text.size() + 1)), both).error().code,
              errc::corrupt);
    // A truncated signature.
    const std::string cut = go_note(
        "\xE2\x80\x94 PeterNeumann "
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy\n");
    EXPECT_FALSE(open_note(cut, known).has_value());
}

TEST(checkpoint, malformed_notes_are_refused) {
    const std::vector<verifier_key> known = {vkey(peter_vkey)};
    const std::string good = go_note(peter_sig);
    const auto malformed = [&](const std::string& note) {
        auto r = open_note(note, known);
        return !r.has_value() && r.error().code == errc::invalid_argument;
    };
    EXPECT_TRUE(malformed(good.substr(0, good.size() - 1)));                // last line without "\n"
    EXPECT_TRUE(malformed(std::string(go_text) + std::string(peter_sig)));  // no blank line
    EXPECT_TRUE(malformed(
        go_note("- PeterNeumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")));
    EXPECT_TRUE(malformed(
        go_note("\xE2\x80\x94 Peter+Neumann "
                "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")));
    EXPECT_TRUE(malformed(go_note("\xE2\x80\x94 PeterNeumann\n")));
    EXPECT_TRUE(malformed(go_note("\xE2\x80\x94 PeterNeumann AAAA\n")));  // shorter than id + 1 byte
    EXPECT_TRUE(malformed(go_note("\xE2\x80\x94 PeterNeumann x08go/ZJ!!\n")));
    EXPECT_TRUE(malformed(go_note(std::string(peter_sig) + "\n")));    // empty signature line
    EXPECT_TRUE(malformed("tab\there\n\n" + std::string(peter_sig)));  // control character
    EXPECT_TRUE(malformed("bad \xC3\x28 utf-8\n\n" + std::string(peter_sig)));
    EXPECT_TRUE(malformed("overlong \xC0\xAF\n\n" + std::string(peter_sig)));
    std::string big(max_note_bytes, 'a');
    big[max_note_bytes - 200] = '\n';
    EXPECT_TRUE(malformed(big + "\n" + std::string(peter_sig)));  // over 1 MiB
    std::string many;
    for (std::size_t i = 0; i <= max_note_signatures; ++i) many += enoch_sig;
    EXPECT_TRUE(malformed(go_note(std::string(peter_sig) + many)));
    // The last blank line separates: a blank line inside the text is fine.
    const signing_key key = peter();
    auto two_paragraphs = sign_note("one\n\ntwo\n", key);
    ASSERT_TRUE(two_paragraphs.has_value());
    auto opened = open_note(*two_paragraphs, known);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(opened->text, "one\n\ntwo\n");
    EXPECT_FALSE(sign_note("no newline", key).has_value());
}

// sumdb/note TestNewVerifier: every proper substring and every single-byte change is refused.
TEST(checkpoint, verifier_keys_parse_strictly) {
    EXPECT_EQ(vkey(peter_vkey).to_string(), peter_vkey);
    const std::string k(peter_vkey);
    for (std::size_t i = 0; i <= k.size(); ++i)
        for (std::size_t j = i + 1; j <= k.size(); ++j)
            if (i != 0 || j != k.size()) {
                EXPECT_FALSE(verifier_key::parse(k.substr(i, j - i)).has_value()) << k.substr(i, j - i);
            }
    for (std::size_t i = 0; i < k.size(); ++i) {
        std::string b = k;
        ++b[i];
        EXPECT_FALSE(verifier_key::parse(b).has_value()) << b;
    }
    // Wrong key length and unknown algorithm, each with a matching key id (sumdb's own cases).
    EXPECT_FALSE(
        verifier_key::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").has_value());
    EXPECT_FALSE(verifier_key::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").has_value());
}

TEST(checkpoint, base64_is_canonical) {
    for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const std::vector<std::uint8_t> bytes(s.begin(), s.end());
        auto d = base64_decode(base64_encode(bytes));
        ASSERT_TRUE(d.has_value());
        EXPECT_EQ(*d, bytes);
    }
    EXPECT_EQ(base64_encode(std::vector<std::uint8_t>{'f', 'o', 'o', 'b'}), "Zm9vYg==");
    EXPECT_FALSE(base64_decode("Zm9vYh==").has_value());  // unused bits set
    EXPECT_FALSE(base64_decode("Zm9vYg=").has_value());
    EXPECT_FALSE(base64_decode("Zm9v\nYg==").has_value());
    EXPECT_FALSE(base64_decode("Zg==Zg==").has_value());
    EXPECT_FALSE(base64_decode("Z===").has_value());
}

TEST(checkpoint, checkpoint_body_round_trips_and_parses_strictly) {
    checkpoint c;
    c.origin = "roster.example/log";
    c.size = 20852163;
    auto root = base64_decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    ASSERT_TRUE(root.has_value());
    std::copy(root->begin(), root->end(), c.root.begin());
    auto body = format_checkpoint(c);
    ASSERT_TRUE(body.has_value());
    EXPECT_EQ(*body, "roster.example/log\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
    c.extensions = {"timestamp 1700000000123456"};
    body = format_checkpoint(c);
    ASSERT_TRUE(body.has_value());
    auto parsed = parse_checkpoint(*body);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, c);

    EXPECT_TRUE(parse_checkpoint("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").has_value());
    EXPECT_TRUE(
        parse_checkpoint("o\n18446744073709551615\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").has_value());
    for (std::string_view bad : {
             "o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",  // overflow
             "o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",                    // leading zero
             "o\n+1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
             "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",   // no final newline
             "\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",  // empty origin
             "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF=\n",  // 31 bytes
             "o\n1\nAAAA\n", "o\n1\n",
             "o\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\next\n",  // empty extension
         })
        EXPECT_FALSE(parse_checkpoint(bad).has_value()) << bad;
    checkpoint bad_origin = c;
    bad_origin.origin = "two\nlines";
    EXPECT_FALSE(format_checkpoint(bad_origin).has_value());
    checkpoint bad_ext = c;
    bad_ext.extensions = {""};
    EXPECT_FALSE(format_checkpoint(bad_ext).has_value());
}

TEST(checkpoint, signed_checkpoint_round_trip) {
    auto key = generate_signing_key("roster.example/log");
    ASSERT_TRUE(key.has_value());
    const std::vector<verifier_key> known = {key->verifier()};
    ASSERT_TRUE(verifier_key::parse(key->verifier().to_string()).has_value());
    checkpoint c{"roster.example/log", 1'000'000, leaf_hash(std::vector<std::uint8_t>{1, 2, 3}), {"time 1700000000"}};
    auto note = sign_checkpoint(c, *key);
    ASSERT_TRUE(note.has_value());
    auto opened = open_checkpoint(*note, known);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    EXPECT_EQ(*opened, c);
    std::string tampered = *note;
    tampered[tampered.find("1000000")] = '2';
    EXPECT_FALSE(open_checkpoint(tampered, known).has_value());
    // Ed25519 is deterministic: the same key signs the same checkpoint identically.
    EXPECT_EQ(*sign_checkpoint(c, *key), *note);
}

TEST(checkpoint, key_file_is_0600_exclusive_and_loads_back) {
    test_support::temp_dir dir("roster-key");
    const auto path = dir.path() / "checkpoint.key";
    auto key = generate_signing_key("roster.example/log");
    ASSERT_TRUE(key.has_value());
    ASSERT_TRUE(key->save(path).has_value());
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);

    auto again = key->save(path);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code, errc::invalid_argument);
    auto other = generate_signing_key("roster.example/log");
    ASSERT_TRUE(other.has_value());
    EXPECT_FALSE(other->save(path).has_value());  // never replaces a key

    auto loaded = signing_key::load(path, "roster.example/log");
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
    EXPECT_EQ(loaded->public_key(), key->public_key());
    EXPECT_EQ(loaded->verifier(), key->verifier());
    auto note = sign_note("hello\n", *loaded);
    ASSERT_TRUE(note.has_value());
    EXPECT_TRUE(open_note(*note, std::vector<verifier_key>{key->verifier()}).has_value());

    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    EXPECT_EQ(signing_key::load(path, "roster.example/log").error().code, errc::invalid_argument);
    EXPECT_EQ(signing_key::load(dir.path() / "missing.key", "x").error().code, errc::storage_unavailable);
    EXPECT_FALSE(generate_signing_key("bad name").has_value());
    EXPECT_FALSE(generate_signing_key("bad+name").has_value());
    EXPECT_FALSE(generate_signing_key("").has_value());
}

}  // namespace
}  // namespace roster::eventstore
