// json_writer writes what boost::json::serialize writes for the same values, and the wire
// types written with it (search page rows, profile, access decision) are byte for byte the
// serialized DOM the routes answered before: clients see no difference.
#include "roster/api/json_writer.hpp"

#include <limits>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <gtest/gtest.h>

#include "../domain/fixture.hpp"
#include "roster/api/wire.hpp"
#include "roster/replay/event_json.hpp"

namespace roster::api {
namespace {

namespace json = boost::json;
using namespace roster::domain;
using namespace roster::domain::testing;

std::string written_string(std::string_view s) {
    std::string out;
    json_writer::append_string(out, s);
    return out;
}

TEST(json_writer, escapes_every_byte_as_boost_json_does) {
    for (int c = 0; c < 256; ++c) {
        const std::string one(1, static_cast<char>(c));
        EXPECT_EQ(written_string(one), json::serialize(json::value(one))) << "byte " << c;
        const std::string mixed = "a" + one + "b\"\\" + one + one + "\xC3\xA9";
        EXPECT_EQ(written_string(mixed), json::serialize(json::value(mixed))) << "byte " << c;
    }
    EXPECT_EQ(written_string(""), "\"\"");
}

TEST(json_writer, numbers_literals_and_nesting_are_those_of_the_dom) {
    std::string out;
    json_writer w(out);
    w.begin_object()
        .member("zero", std::uint64_t{0})
        .member("max", std::numeric_limits<std::uint64_t>::max())
        .member("min", std::numeric_limits<std::int64_t>::min())
        .member("neg", std::int64_t{-42})
        .member("yes", true)
        .member("no", false)
        .key("nothing")
        .null()
        .key("empty")
        .begin_array()
        .end_array()
        .key("nested")
        .begin_array()
        .begin_object()
        .end_object()
        .value("x")
        .begin_array()
        .value(std::uint64_t{1})
        .value(std::uint64_t{2})
        .end_array()
        .end_array()
        .member("k\n\"", "v\t")
        .end_object();
    json::object dom{{"zero", 0u},
                     {"max", std::numeric_limits<std::uint64_t>::max()},
                     {"min", std::numeric_limits<std::int64_t>::min()},
                     {"neg", -42},
                     {"yes", true},
                     {"no", false},
                     {"nothing", nullptr},
                     {"empty", json::array{}},
                     {"nested", json::array{json::object{}, "x", json::array{1u, 2u}}},
                     {"k\n\"", "v\t"}};
    EXPECT_EQ(out, json::serialize(dom));
}

template <class Write>
std::string written(Write write) {
    std::string out;
    json_writer w(out);
    write(w);
    return out;
}

TEST(json_writer, wire_roles_are_the_serialized_dom_for_every_role_set) {
    for (std::uint16_t bits = 0; bits < (1u << role_count); ++bits) {
        const role_set roles(bits);
        EXPECT_EQ(written([&](json_writer& w) { wire::write_roles(w, roles); }),
                  json::serialize(replay::roles_json(roles)))
            << bits;
        const auto all = replay::roles_json(roles);
        for (auto p : all_portals)
            EXPECT_EQ(written([&](json_writer& w) { wire::write_roles_in_portal(w, p, roles); }),
                      json::serialize(json::object{{to_string(p), all.at(to_string(p))}}))
                << bits;
    }
}

TEST(json_writer, a_written_directory_row_is_the_serialized_wire_user) {
    projections::directory_profile p;
    p.id = user_id("usr_1");
    p.email = "ada\"q\"@example.com";
    p.name = "Ada \\ L\xC3\xB6vel\x01\n";
    p.employer = account_id("acme");
    for (auto status : {user_status::active, user_status::locked})
        for (auto reg : {registration::invited, registration::registered})
            for (bool issued : {false, true})
                for (bool removed : {false, true})
                    for (auto type : {membership_type::employee, membership_type::third_party}) {
                        p.status = status;
                        p.registration = reg;
                        p.invitation_issued = issued;
                        const auto roles = role_set::of({role::support_admin});
                        projections::directory_entry e{&p, type, roles, removed};
                        const json::object expected{
                            {"id", "usr_1"},
                            {"email", p.email},
                            {"name", p.name},
                            {"employer", "acme"},
                            {"status", removed ? "removed" : to_string(status)},
                            {"registration", to_string(registration_of(reg, issued))},
                            {"type", to_string(type)},
                            {"roles", replay::roles_json(roles)},
                            {"removed", removed},
                        };
                        EXPECT_EQ(written([&](json_writer& w) { wire::write_user(w, e); }), json::serialize(expected));
                    }
}

TEST(json_writer, written_user_members_are_the_serialized_wire_user) {
    world w;
    w.customer("acme");
    w.partner("part");
    w.link("acme", "part");
    w.user("acme", "u1", roles({support_admin, learning_learner}));
    w.user("part", "p1", roles({impact_member}));
    w.third_party("acme", "p1", roles({support_viewer}));
    w.user("acme", "u2", roles({}));
    w.ok(lock_user{user_id("u2")});
    w.user("acme", "u3", roles({impact_member}));
    w.ok(remove_member{account_id("acme"), user_id("u3")});
    int checked = 0;
    for (const auto* account : {"acme", "part"})
        for (const auto* id : {"u1", "p1", "u2", "u3"}) {
            const auto* u = w.s.user(user_id(id));
            ASSERT_NE(u, nullptr) << id;
            const account_id a(account);
            std::string out;
            json_writer jw(out);
            jw.begin_object();
            wire::write_user_members(jw, w.s, *u, a);
            jw.end_object();
            const auto* m = w.s.member(a, u->id);
            const json::object expected{
                {"id", u->id.value},
                {"email", u->address.str()},
                {"name", u->name},
                {"employer", u->employer.value},
                {"status", m ? to_string(u->status) : "removed"},
                {"registration", to_string(registration_of(u->reg, u->invitation_issued))},
                {"type", m ? to_string(m->type)
                           : to_string(u->employer == a ? membership_type::employee : membership_type::third_party)},
                {"roles", replay::roles_json(m ? m->roles : role_set{})},
                {"removed", m == nullptr},
            };
            EXPECT_EQ(out, json::serialize(expected)) << account << " " << id;
            EXPECT_EQ(wire::user(w.s, *u, a), expected) << account << " " << id;
            ++checked;
        }
    EXPECT_EQ(checked, 8);
}

}  // namespace
}  // namespace roster::api
