// The chain walker a verifier uses to follow the log's signing key from the key it pinned
// (replay/key_rotation.hpp): each statement must be signed by the key trusted before it.
#include "roster/replay/key_rotation.hpp"

#include <gtest/gtest.h>

namespace roster::replay {
namespace {

namespace es = roster::eventstore;

const std::string origin = "roster.test/log";

es::signing_key key() { return es::signing_key::generate(origin).value(); }

// A rotation from `from` to `to`, signed as sign_rotation_statement does.
std::string rotation(const es::signing_key& from, const es::signing_key& to, std::uint64_t size = 7) {
    return sign_rotation_statement({origin, from.verifier(), to.verifier(), size}, from, to).value();
}

// The statement's text with the signature lines of `signers` only.
std::string signed_by(const es::signing_key& from, const es::signing_key& to,
                      std::initializer_list<const es::signing_key*> signers) {
    const auto text = format_rotation_statement({origin, from.verifier(), to.verifier(), 7});
    std::string note = text + "\n";
    for (const auto* k : signers) note += es::sign_note(text, *k).value().substr(text.size() + 1);
    return note;
}

TEST(key_rotation, a_statement_formats_and_parses_canonically) {
    const auto a = key(), b = key();
    const rotation_statement s{origin, a.verifier(), b.verifier(), 42};
    const auto text = format_rotation_statement(s);
    EXPECT_EQ(text, "roster signing-key rotation v1\nroster.test/log\nold " + a.verifier().to_string() + "\nnew " +
                        b.verifier().to_string() + "\ntree 42\n");
    EXPECT_EQ(parse_rotation_statement(text).value(), s);
    EXPECT_FALSE(parse_rotation_statement(text + "extra\n"));
    EXPECT_FALSE(parse_rotation_statement(format_rotation_statement({origin, a.verifier(), a.verifier(), 1})));
    auto renamed = text;
    renamed.replace(renamed.find("tree 42"), 7, "tree 042");
    EXPECT_FALSE(parse_rotation_statement(renamed));
    // Keys named after another origin.
    const auto other = es::signing_key::generate("other/log").value();
    EXPECT_FALSE(parse_rotation_statement(format_rotation_statement({origin, a.verifier(), other.verifier(), 1})));
}

TEST(key_rotation, the_chain_walks_from_any_pinned_key_to_the_current_one) {
    const auto k0 = key(), k1 = key(), k2 = key();
    const std::vector<std::string> chain = {rotation(k0, k1), rotation(k1, k2)};
    EXPECT_EQ(accept_rotations(k0.verifier(), chain).value(), k2.verifier());
    EXPECT_EQ(accept_rotations(k1.verifier(), chain).value(), k2.verifier());
    EXPECT_EQ(accept_rotations(k2.verifier(), chain).value(), k2.verifier());
    EXPECT_EQ(accept_rotations(k0.verifier(), {}).value(), k0.verifier());
}

TEST(key_rotation, a_statement_signed_by_another_key_is_refused) {
    const auto k0 = key(), k1 = key(), mallory = key(), evil = key();
    // Names k0 as the old key, but signed by mallory (and by the new key) instead.
    const auto forged = signed_by(k0, evil, {&mallory, &evil});
    auto r = accept_rotations(k0.verifier(), std::vector<std::string>{forged});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, es::errc::corrupt);
    EXPECT_NE(r.error().message.find("rotation statement 1 of 1"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("not signed by"), std::string::npos) << r.error().message;
    // After a genuine rotation, a forged second step breaks the chain at statement 2.
    auto broken = accept_rotations(k0.verifier(),
                                   std::vector<std::string>{rotation(k0, k1), signed_by(k1, evil, {&mallory, &evil})});
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().message.find("rotation statement 2 of 2"), std::string::npos) << broken.error().message;
    // A rotation from a key never trusted here (mallory rotating her own key) is refused too.
    EXPECT_FALSE(accept_rotations(k0.verifier(), std::vector<std::string>{rotation(mallory, evil)}));
}

TEST(key_rotation, both_signatures_are_required_and_the_text_is_bound) {
    const auto k0 = key(), k1 = key();
    // Without the new key's signature (no proof of possession).
    EXPECT_FALSE(accept_rotations(k0.verifier(), std::vector<std::string>{signed_by(k0, k1, {&k0})}));
    // Without the old key's.
    EXPECT_FALSE(accept_rotations(k0.verifier(), std::vector<std::string>{signed_by(k0, k1, {&k1})}));
    // A changed byte of the text.
    auto tampered = rotation(k0, k1, 7);
    tampered.replace(tampered.find("tree 7"), 6, "tree 8");
    EXPECT_FALSE(accept_rotations(k0.verifier(), std::vector<std::string>{tampered}));
    EXPECT_TRUE(accept_rotations(k0.verifier(), std::vector<std::string>{rotation(k0, k1)}));
}

}  // namespace
}  // namespace roster::replay
