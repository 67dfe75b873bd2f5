#include <gtest/gtest.h>

#include "roster/projections/read_model.hpp"
#include "workload.hpp"

namespace roster::projections {
namespace {

using namespace roster::domain;

eventstore::recorded_event rec(std::uint64_t position, event e, std::string actor = "operator") {
    eventstore::recorded_event r;
    r.position = eventstore::log_position{position};
    r.stream = stream_of(e);
    r.type = std::string(type_name(e));
    r.payload = std::move(e);
    r.meta.actor.principal = std::move(actor);
    return r;
}

class history_test : public ::testing::Test {
protected:
    void SetUp() override {
        const account_id acme{"acme"}, part{"part"};
        const user_id ada{"ada"}, pat{"pat"};
        std::vector<event> events{
            account_opened{acme, "Acme", account_kind::customer},                // 1
            account_opened{part, "Part", account_kind::partner},                 // 2
            partner_linked{acme, part},                                          // 3
            user_created{ada, *email::parse("ada@acme.com"), "Ada", acme},       // 4
            member_added{acme, ada, membership_type::employee},                  // 5
            roles_granted{acme, ada, role_set::of({role::support_admin})},       // 6
            user_created{pat, *email::parse("pat@part.com"), "Pat", part},       // 7
            member_added{part, pat, membership_type::employee},                  // 8
            member_added{acme, pat, membership_type::third_party},               // 9
            user_locked{pat, {part, acme}},                                      // 10
            member_removed{acme, pat, membership_type::third_party, {}, false},  // 11
            user_unlocked{pat, {part}},                                          // 12
            user_locked{ada, {acme}},                                            // 13
            user_unlocked{ada},  // 14: as written before events named their accounts
        };
        std::uint64_t p = 0;
        for (auto& e : events) {
            ++p;
            ASSERT_TRUE(model.apply(rec(p, e, p == 6 ? "user:ada" : "operator")));
        }
    }
    std::vector<std::uint64_t> page(history_subject s, std::string id, std::uint64_t from = 1,
                                    std::uint64_t to = UINT64_MAX, event_type_mask types = all_event_types,
                                    std::size_t limit = 100) {
        history_page_request r{s,     std::move(id), eventstore::log_position{from}, eventstore::log_position{to},
                               types, limit};
        std::vector<std::uint64_t> out;
        for (auto p : model.read([&](const read_view& v) { return v.history->page(r).value(); }))
            out.push_back(p.value);
        return out;
    }
    read_model model;
};

using positions = std::vector<std::uint64_t>;

TEST_F(history_test, an_account_sees_the_events_that_name_it) {
    // Pat's lock (10) named acme, where pat was a third-party member then; the unlock (12) after
    // the removal names only part. A link (3) concerns both accounts. An older event without
    // its accounts (14) reaches only its user's history, as it did when written.
    EXPECT_EQ(page(history_subject::account, "acme"), (positions{1, 3, 4, 5, 6, 9, 10, 11, 13}));
    EXPECT_EQ(page(history_subject::account, "part"), (positions{2, 3, 7, 8, 10, 12}));
    EXPECT_EQ(page(history_subject::user, "ada"), (positions{4, 5, 6, 13, 14}));
}

TEST_F(history_test, a_user_sees_every_event_about_them_in_any_account) {
    EXPECT_EQ(page(history_subject::user, "pat"), (positions{7, 8, 9, 10, 11, 12}));
    EXPECT_EQ(page(history_subject::user, "nobody"), positions{});
}

TEST_F(history_test, an_actor_sees_what_it_caused) {
    EXPECT_EQ(page(history_subject::actor, "user:ada"), positions{6});
    EXPECT_EQ(page(history_subject::actor, "operator").size(), 13u);
}

TEST_F(history_test, filters_by_range_and_type_and_returns_one_row_beyond_the_limit) {
    EXPECT_EQ(page(history_subject::account, "acme", 5, 10), (positions{5, 6, 9, 10}));
    const auto locks = *event_type_bit("user_locked") | *event_type_bit("user_unlocked");
    EXPECT_EQ(page(history_subject::user, "pat", 1, UINT64_MAX, locks), (positions{10, 12}));
    EXPECT_EQ(page(history_subject::account, "acme", 1, UINT64_MAX, all_event_types, 3), (positions{1, 3, 4, 5}));
    EXPECT_EQ(page(history_subject::account, "acme", 12, 11), positions{});
}

TEST(history_types, the_type_bits_follow_the_domain_names) {
    std::vector<event> samples{account_opened{},
                               partner_linked{},
                               user_created{user_id{"u"}, *email::parse("a@b.c"), "n", account_id{"a"}},
                               member_added{},
                               roles_granted{},
                               roles_revoked{},
                               all_roles_removed{},
                               user_locked{},
                               user_unlocked{},
                               invitation_issued{},
                               invitation_accepted{},
                               member_removed{},
                               profile_retired{user_id{"u"}, *email::parse("a@b.c")},
                               contacts_saved{},
                               contact_handed_over{},
                               watchlist_changed{},
                               token_issued{},
                               token_revoked{},
                               access_denied{},
                               signing_key_rotated{},
                               token_rotated{},
                               profile_updated{},
                               webhook_registered{},
                               webhook_changed{},
                               webhook_removed{}};
    ASSERT_EQ(samples.size(), std::variant_size_v<event>);
    for (std::size_t i = 0; i < samples.size(); ++i) {
        ASSERT_EQ(samples[i].index(), i);
        auto bit = event_type_bit(type_name(samples[i]));
        ASSERT_TRUE(bit) << type_name(samples[i]);
        EXPECT_EQ(*bit, event_type_mask{1} << i) << type_name(samples[i]);
    }
    EXPECT_FALSE(event_type_bit("no_such_event"));
}

}  // namespace
}  // namespace roster::projections
