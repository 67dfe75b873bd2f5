#include "roster/eventstore/codec.hpp"

#include <cstring>
#include <type_traits>

#include <capnp/any.h>
#include <capnp/message.h>
#include <kj/exception.h>

#include "codec_capnp.hpp"
#include "roster/domain/overloaded.hpp"

namespace roster::eventstore {

namespace detail {
namespace {

using domain::overloaded;
template <class Builder>
void set_text(Builder&& setter, const std::string& s) {
    // Empty strings stay null pointers: smaller values, and null reads back as "".
    if (!s.empty()) setter(text(s));
}

std::int64_t micros(domain::timestamp t) { return t.time_since_epoch().count(); }
domain::timestamp from_micros(std::int64_t v) { return domain::timestamp(std::chrono::microseconds(v)); }

void write_principal(schema::Principal::Builder b, const domain::principal& p) {
    std::visit(overloaded{
                   [&](const domain::operator_principal&) { b.setOperator(); },
                   [&](const domain::auditor_principal&) { b.setAuditor(); },
                   [&](const domain::service_principal& s) { b.setService(text(s.name)); },
                   [&](const domain::user_principal& u) { b.setUser(text(u.user.value)); },
               },
               p);
}

domain::principal read_principal(schema::Principal::Reader r) {
    switch (r.which()) {
        case schema::Principal::OPERATOR: return domain::operator_principal{};
        case schema::Principal::AUDITOR: return domain::auditor_principal{};
        case schema::Principal::SERVICE: return domain::service_principal{str(r.getService())};
        case schema::Principal::USER: return domain::user_principal{domain::user_id(str(r.getUser()))};
    }
    // An unknown union member written by a newer schema: the reader cannot interpret it.
    kj::throwFatalException(KJ_EXCEPTION(FAILED, "unknown principal kind"));
}

error corrupt(std::string message) { return error{errc::corrupt, std::move(message), {}, 0, 0}; }

template <class E>
std::optional<E> ordinal(std::uint8_t v, std::size_t count) {
    if (v >= count) return std::nullopt;
    return static_cast<E>(v);
}

std::optional<domain::role_set> roles(std::uint16_t bits) {
    if (bits >> domain::role_count) return std::nullopt;
    return domain::role_set(bits);
}

template <class T>
domain::account_id aid(T t) {
    return domain::account_id(str(t));
}
template <class T>
domain::user_id uid(T t) {
    return domain::user_id(str(t));
}

template <class Builder>
void write_change(Builder&& init, const std::optional<domain::role_change>& c) {
    if (!c) return;
    auto b = init();
    b.setBefore(c->before.bits());
    b.setAfter(c->after.bits());
}

// nullopt inside: present but with unknown role bits (corrupt); outer nullopt: not recorded.
template <class Reader>
std::optional<std::optional<domain::role_change>> read_change(bool has, Reader r) {
    if (!has) return std::optional<domain::role_change>{};
    auto before = roles(r.getBefore());
    auto after = roles(r.getAfter());
    if (!before || !after) return std::nullopt;
    return std::optional<domain::role_change>{domain::role_change{*before, *after}};
}

template <class Builder>
void write_accounts(Builder&& init, const std::vector<domain::account_id>& accounts) {
    if (accounts.empty()) return;
    auto list = init(static_cast<unsigned>(accounts.size()));
    for (unsigned i = 0; i < accounts.size(); ++i) list.set(i, text(accounts[i].value));
}

template <class Reader>
std::vector<domain::account_id> read_accounts(Reader list) {
    std::vector<domain::account_id> out;
    out.reserve(list.size());
    for (auto a : list) out.push_back(aid(a));
    return out;
}

void write_webhook_settings(schema::WebhookSettings::Builder o, const domain::webhook_settings& w) {
    set_text([&](auto t) { o.setUrl(t); }, w.url);
    write_accounts([&](unsigned n) { return o.initAccounts(n); }, w.accounts);
    if (!w.types.empty()) {
        auto list = o.initTypes(static_cast<unsigned>(w.types.size()));
        for (unsigned i = 0; i < w.types.size(); ++i) list.set(i, text(w.types[i]));
    }
    set_text([&](auto t) { o.setDescription(t); }, w.description);
    o.setDisabled(!w.enabled);
}

domain::webhook_settings read_webhook_settings(schema::WebhookSettings::Reader o) {
    domain::webhook_settings w;
    w.url = str(o.getUrl());
    w.accounts = read_accounts(o.getAccounts());
    for (auto t : o.getTypes()) w.types.push_back(str(t));
    w.description = str(o.getDescription());
    w.enabled = !o.getDisabled();
    return w;
}

template <class Builder>
void write_topics(Builder&& init, const std::vector<domain::topic>& topics) {
    auto list = init(static_cast<unsigned>(topics.size()));
    for (unsigned j = 0; j < topics.size(); ++j) list.set(j, static_cast<std::uint8_t>(topics[j]));
}

template <class Reader>
std::optional<std::vector<domain::topic>> read_topics(Reader list) {
    std::vector<domain::topic> out;
    out.reserve(list.size());
    for (auto t : list) {
        auto topic = ordinal<domain::topic>(t, domain::topic_count);
        if (!topic) return std::nullopt;
        out.push_back(*topic);
    }
    return out;
}

}  // namespace

void write_payload(schema::Payload::Builder b, const domain::event& e) {
    std::visit(overloaded{
                   [&](const domain::account_opened& x) {
                       auto o = b.initAccountOpened();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setName(t); }, x.name);
                       o.setKind(static_cast<std::uint8_t>(x.kind));
                   },
                   [&](const domain::partner_linked& x) {
                       auto o = b.initPartnerLinked();
                       set_text([&](auto t) { o.setCustomer(t); }, x.customer.value);
                       set_text([&](auto t) { o.setPartner(t); }, x.partner.value);
                   },
                   [&](const domain::user_created& x) {
                       auto o = b.initUserCreated();
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       set_text([&](auto t) { o.setEmail(t); }, x.address.str());
                       set_text([&](auto t) { o.setName(t); }, x.name);
                       set_text([&](auto t) { o.setEmployer(t); }, x.employer.value);
                   },
                   [&](const domain::member_added& x) {
                       auto o = b.initMemberAdded();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       o.setType(static_cast<std::uint8_t>(x.type));
                       write_change([&] { return o.initChange(); }, x.change);
                   },
                   [&](const domain::roles_granted& x) {
                       auto o = b.initRolesGranted();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       o.setRoles(x.roles.bits());
                       write_change([&] { return o.initChange(); }, x.change);
                   },
                   [&](const domain::roles_revoked& x) {
                       auto o = b.initRolesRevoked();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       o.setRoles(x.roles.bits());
                       write_change([&] { return o.initChange(); }, x.change);
                   },
                   [&](const domain::all_roles_removed& x) {
                       auto o = b.initAllRolesRemoved();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       o.setRoles(x.roles.bits());
                       write_change([&] { return o.initChange(); }, x.change);
                   },
                   [&](const domain::user_locked& x) {
                       auto o = b.initUserLocked();
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       write_accounts([&](unsigned n) { return o.initAccounts(n); }, x.accounts);
                   },
                   [&](const domain::user_unlocked& x) {
                       auto o = b.initUserUnlocked();
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       write_accounts([&](unsigned n) { return o.initAccounts(n); }, x.accounts);
                   },
                   [&](const domain::invitation_issued& x) {
                       auto o = b.initInvitationIssued();
                       set_text([&](auto t) { o.setInvitation(t); }, x.invitation.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setSecretSha256Hex(t); }, x.secret_sha256_hex);
                       o.setExpiresAt(micros(x.expires_at));
                       set_text([&](auto t) { o.setReplaces(t); }, x.replaces.value);
                   },
                   [&](const domain::invitation_accepted& x) {
                       auto o = b.initInvitationAccepted();
                       set_text([&](auto t) { o.setInvitation(t); }, x.invitation.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       write_accounts([&](unsigned n) { return o.initAccounts(n); }, x.accounts);
                   },
                   [&](const domain::member_removed& x) {
                       auto o = b.initMemberRemoved();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       o.setType(static_cast<std::uint8_t>(x.type));
                       o.setRoles(x.roles.bits());
                       o.setCascade(x.cascade);
                       write_change([&] { return o.initChange(); }, x.change);
                   },
                   [&](const domain::profile_retired& x) {
                       auto o = b.initProfileRetired();
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       set_text([&](auto t) { o.setEmail(t); }, x.address.str());
                       write_accounts([&](unsigned n) { return o.initAccounts(n); }, x.accounts);
                   },
                   [&](const domain::contacts_saved& x) {
                       auto o = b.initContactsSaved();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       auto list = o.initAssignments(static_cast<unsigned>(x.assignments.size()));
                       for (unsigned i = 0; i < x.assignments.size(); ++i) {
                           list[i].setRole(static_cast<std::uint8_t>(x.assignments[i].role));
                           set_text([&](auto t) { list[i].setUser(t); }, x.assignments[i].user.value);
                           if (const auto& previous = x.assignments[i].previous) {
                               list[i].setPreviousRecorded(true);
                               set_text([&](auto t) { list[i].setPrevious(t); }, previous->value);
                           }
                       }
                   },
                   [&](const domain::contact_handed_over& x) {
                       auto o = b.initContactHandedOver();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       o.setRole(static_cast<std::uint8_t>(x.role));
                       set_text([&](auto t) { o.setFrom(t); }, x.from.value);
                       set_text([&](auto t) { o.setTo(t); }, x.to.value);
                   },
                   [&](const domain::watchlist_changed& x) {
                       auto o = b.initWatchlistChanged();
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       auto list = o.initSubscriptions(static_cast<unsigned>(x.subscriptions.size()));
                       for (unsigned i = 0; i < x.subscriptions.size(); ++i) {
                           const auto& s = x.subscriptions[i];
                           set_text([&](auto t) { list[i].setUser(t); }, s.user.value);
                           auto topics = list[i].initTopics(static_cast<unsigned>(s.topics.size()));
                           for (unsigned j = 0; j < s.topics.size(); ++j)
                               topics.set(j, static_cast<std::uint8_t>(s.topics[j]));
                       }
                       if (!x.changes.empty()) {
                           auto changes = o.initChanges(static_cast<unsigned>(x.changes.size()));
                           for (unsigned i = 0; i < x.changes.size(); ++i) {
                               const auto& c = x.changes[i];
                               set_text([&](auto t) { changes[i].setUser(t); }, c.user.value);
                               write_topics([&](unsigned n) { return changes[i].initBefore(n); }, c.before);
                               write_topics([&](unsigned n) { return changes[i].initAfter(n); }, c.after);
                           }
                       }
                   },
                   [&](const domain::token_issued& x) {
                       auto o = b.initTokenIssued();
                       set_text([&](auto t) { o.setToken(t); }, x.token.value);
                       write_principal(o.initSubject(), x.subject);
                       set_text([&](auto t) { o.setSecretSha256Hex(t); }, x.secret_sha256_hex);
                       o.setExpiresAt(micros(x.expires_at));
                   },
                   [&](const domain::token_rotated& x) {
                       auto o = b.initTokenRotated();
                       set_text([&](auto t) { o.setToken(t); }, x.token.value);
                       set_text([&](auto t) { o.setSecretSha256Hex(t); }, x.secret_sha256_hex);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                   },
                   [&](const domain::token_revoked& x) {
                       auto o = b.initTokenRevoked();
                       set_text([&](auto t) { o.setToken(t); }, x.token.value);
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                   },
                   [&](const domain::access_denied& x) {
                       auto o = b.initAccessDenied();
                       write_principal(o.initSubject(), x.subject);
                       set_text([&](auto t) { o.setAction(t); }, x.action);
                       set_text([&](auto t) { o.setAccount(t); }, x.account.value);
                       set_text([&](auto t) { o.setCode(t); }, x.code);
                       set_text([&](auto t) { o.setTarget(t); }, x.target);
                       o.setStatus(x.status);
                       o.setCount(x.count);
                       o.setFirstAt(x.first_at.time_since_epoch().count());
                       o.setLastAt(x.last_at.time_since_epoch().count());
                   },
                   [&](const domain::profile_updated& x) {
                       auto o = b.initProfileUpdated();
                       set_text([&](auto t) { o.setUser(t); }, x.user.value);
                       write_accounts([&](unsigned n) { return o.initAccounts(n); }, x.accounts);
                       auto text_change = [&](auto init, const std::optional<domain::text_change>& c) {
                           if (!c) return;
                           auto t = init();
                           set_text([&](auto v) { t.setBefore(v); }, c->before);
                           set_text([&](auto v) { t.setAfter(v); }, c->after);
                       };
                       text_change([&] { return o.initName(); }, x.name);
                       text_change([&] { return o.initEmail(); }, x.email);
                   },
                   [&](const domain::webhook_registered& x) {
                       auto o = b.initWebhookRegistered();
                       set_text([&](auto t) { o.setWebhook(t); }, x.webhook.value);
                       write_webhook_settings(o.initSettings(), x.settings);
                       set_text([&](auto t) { o.setSecretSha256Hex(t); }, x.secret_sha256_hex);
                   },
                   [&](const domain::webhook_changed& x) {
                       auto o = b.initWebhookChanged();
                       set_text([&](auto t) { o.setWebhook(t); }, x.webhook.value);
                       write_webhook_settings(o.initBefore(), x.before);
                       write_webhook_settings(o.initAfter(), x.after);
                   },
                   [&](const domain::webhook_removed& x) {
                       auto o = b.initWebhookRemoved();
                       set_text([&](auto t) { o.setWebhook(t); }, x.webhook.value);
                       write_webhook_settings(o.initBefore(), x.before);
                   },
                   [&](const domain::signing_key_rotated& x) {
                       auto o = b.initSigningKeyRotated();
                       set_text([&](auto t) { o.setOldVerifierKey(t); }, x.old_verifier_key);
                       set_text([&](auto t) { o.setNewVerifierKey(t); }, x.new_verifier_key);
                       o.setTreeSize(x.tree_size);
                       set_text([&](auto t) { o.setStatement(t); }, x.statement);
                   },
               },
               e);
}

result<domain::event> read_payload(schema::Payload::Reader r) {
    using P = schema::Payload;
    switch (r.which()) {
        case P::ACCOUNT_OPENED: {
            auto o = r.getAccountOpened();
            auto kind = ordinal<domain::account_kind>(o.getKind(), 2);
            if (!kind) return corrupt("account_opened: unknown account kind");
            return domain::event(domain::account_opened{aid(o.getAccount()), str(o.getName()), *kind});
        }
        case P::PARTNER_LINKED: {
            auto o = r.getPartnerLinked();
            return domain::event(domain::partner_linked{aid(o.getCustomer()), aid(o.getPartner())});
        }
        case P::USER_CREATED: {
            auto o = r.getUserCreated();
            auto address = domain::email::parse(str(o.getEmail()));
            if (!address) return corrupt("user_created: undecodable email");
            return domain::event(
                domain::user_created{uid(o.getUser()), *address, str(o.getName()), aid(o.getEmployer())});
        }
        case P::MEMBER_ADDED: {
            auto o = r.getMemberAdded();
            auto type = ordinal<domain::membership_type>(o.getType(), 2);
            auto change = read_change(o.hasChange(), o.getChange());
            if (!type || !change) return corrupt("member_added: unknown membership type or role bits");
            return domain::event(domain::member_added{aid(o.getAccount()), uid(o.getUser()), *type, *change});
        }
        case P::ROLES_GRANTED: {
            auto o = r.getRolesGranted();
            auto rs = roles(o.getRoles());
            auto change = read_change(o.hasChange(), o.getChange());
            if (!rs || !change) return corrupt("roles_granted: unknown role bits");
            return domain::event(domain::roles_granted{aid(o.getAccount()), uid(o.getUser()), *rs, *change});
        }
        case P::ROLES_REVOKED: {
            auto o = r.getRolesRevoked();
            auto rs = roles(o.getRoles());
            auto change = read_change(o.hasChange(), o.getChange());
            if (!rs || !change) return corrupt("roles_revoked: unknown role bits");
            return domain::event(domain::roles_revoked{aid(o.getAccount()), uid(o.getUser()), *rs, *change});
        }
        case P::ALL_ROLES_REMOVED: {
            auto o = r.getAllRolesRemoved();
            auto rs = roles(o.getRoles());
            auto change = read_change(o.hasChange(), o.getChange());
            if (!rs || !change) return corrupt("all_roles_removed: unknown role bits");
            return domain::event(domain::all_roles_removed{aid(o.getAccount()), uid(o.getUser()), *rs, *change});
        }
        case P::USER_LOCKED: {
            auto o = r.getUserLocked();
            return domain::event(domain::user_locked{uid(o.getUser()), read_accounts(o.getAccounts())});
        }
        case P::USER_UNLOCKED: {
            auto o = r.getUserUnlocked();
            return domain::event(domain::user_unlocked{uid(o.getUser()), read_accounts(o.getAccounts())});
        }
        case P::INVITATION_ISSUED: {
            auto o = r.getInvitationIssued();
            return domain::event(domain::invitation_issued{domain::invitation_id(str(o.getInvitation())),
                                                           uid(o.getUser()), aid(o.getAccount()),
                                                           str(o.getSecretSha256Hex()), from_micros(o.getExpiresAt()),
                                                           domain::invitation_id(str(o.getReplaces()))});
        }
        case P::INVITATION_ACCEPTED: {
            auto o = r.getInvitationAccepted();
            return domain::event(domain::invitation_accepted{domain::invitation_id(str(o.getInvitation())),
                                                             uid(o.getUser()), read_accounts(o.getAccounts())});
        }
        case P::MEMBER_REMOVED: {
            auto o = r.getMemberRemoved();
            auto type = ordinal<domain::membership_type>(o.getType(), 2);
            auto rs = roles(o.getRoles());
            auto change = read_change(o.hasChange(), o.getChange());
            if (!type || !rs || !change) return corrupt("member_removed: unknown membership type or role bits");
            return domain::event(
                domain::member_removed{aid(o.getAccount()), uid(o.getUser()), *type, *rs, o.getCascade(), *change});
        }
        case P::PROFILE_RETIRED: {
            auto o = r.getProfileRetired();
            auto address = domain::email::parse(str(o.getEmail()));
            if (!address) return corrupt("profile_retired: undecodable email");
            return domain::event(domain::profile_retired{uid(o.getUser()), *address, read_accounts(o.getAccounts())});
        }
        case P::CONTACTS_SAVED: {
            auto o = r.getContactsSaved();
            domain::contacts_saved x{aid(o.getAccount()), {}};
            x.assignments.reserve(o.getAssignments().size());
            for (auto a : o.getAssignments()) {
                auto role = ordinal<domain::contact_role>(a.getRole(), domain::contact_role_count);
                if (!role) return corrupt("contacts_saved: unknown contact role");
                std::optional<domain::user_id> previous;
                if (a.getPreviousRecorded()) previous = uid(a.getPrevious());
                x.assignments.push_back(domain::contact_assignment{*role, uid(a.getUser()), std::move(previous)});
            }
            return domain::event(std::move(x));
        }
        case P::CONTACT_HANDED_OVER: {
            auto o = r.getContactHandedOver();
            auto role = ordinal<domain::contact_role>(o.getRole(), domain::contact_role_count);
            if (!role) return corrupt("contact_handed_over: unknown contact role");
            return domain::event(
                domain::contact_handed_over{aid(o.getAccount()), *role, uid(o.getFrom()), uid(o.getTo())});
        }
        case P::WATCHLIST_CHANGED: {
            auto o = r.getWatchlistChanged();
            domain::watchlist_changed x{aid(o.getAccount()), {}, {}};
            x.subscriptions.reserve(o.getSubscriptions().size());
            for (auto s : o.getSubscriptions()) {
                domain::watch_subscription ws{uid(s.getUser()), {}};
                ws.topics.reserve(s.getTopics().size());
                for (auto t : s.getTopics()) {
                    auto topic = ordinal<domain::topic>(t, domain::topic_count);
                    if (!topic) return corrupt("watchlist_changed: unknown topic");
                    ws.topics.push_back(*topic);
                }
                x.subscriptions.push_back(std::move(ws));
            }
            x.changes.reserve(o.getChanges().size());
            for (auto c : o.getChanges()) {
                auto before = read_topics(c.getBefore());
                auto after = read_topics(c.getAfter());
                if (!before || !after) return corrupt("watchlist_changed: unknown topic");
                x.changes.push_back(domain::watch_change{uid(c.getUser()), std::move(*before), std::move(*after)});
            }
            return domain::event(std::move(x));
        }
        case P::TOKEN_ISSUED: {
            auto o = r.getTokenIssued();
            return domain::event(domain::token_issued{domain::token_id(str(o.getToken())),
                                                      read_principal(o.getSubject()), str(o.getSecretSha256Hex()),
                                                      from_micros(o.getExpiresAt())});
        }
        case P::TOKEN_ROTATED: {
            auto o = r.getTokenRotated();
            return domain::event(domain::token_rotated{domain::token_id(str(o.getToken())), str(o.getSecretSha256Hex()),
                                                       uid(o.getUser())});
        }
        case P::TOKEN_REVOKED:
            return domain::event(domain::token_revoked{domain::token_id(str(r.getTokenRevoked().getToken())),
                                                       uid(r.getTokenRevoked().getUser())});
        case P::ACCESS_DENIED: {
            auto o = r.getAccessDenied();
            return domain::event(domain::access_denied{read_principal(o.getSubject()), str(o.getAction()),
                                                       aid(o.getAccount()), str(o.getCode()), str(o.getTarget()),
                                                       o.getStatus(), o.getCount(),
                                                       domain::timestamp(std::chrono::microseconds(o.getFirstAt())),
                                                       domain::timestamp(std::chrono::microseconds(o.getLastAt()))});
        }
        case P::PROFILE_UPDATED: {
            auto o = r.getProfileUpdated();
            auto text_change = [](bool has, auto t) -> std::optional<domain::text_change> {
                if (!has) return std::nullopt;
                return domain::text_change{str(t.getBefore()), str(t.getAfter())};
            };
            return domain::event(domain::profile_updated{uid(o.getUser()), text_change(o.hasName(), o.getName()),
                                                         text_change(o.hasEmail(), o.getEmail()),
                                                         read_accounts(o.getAccounts())});
        }
        case P::WEBHOOK_REGISTERED: {
            auto o = r.getWebhookRegistered();
            return domain::event(domain::webhook_registered{domain::webhook_id(str(o.getWebhook())),
                                                            read_webhook_settings(o.getSettings()),
                                                            str(o.getSecretSha256Hex())});
        }
        case P::WEBHOOK_CHANGED: {
            auto o = r.getWebhookChanged();
            return domain::event(domain::webhook_changed{domain::webhook_id(str(o.getWebhook())),
                                                         read_webhook_settings(o.getBefore()),
                                                         read_webhook_settings(o.getAfter())});
        }
        case P::WEBHOOK_REMOVED: {
            auto o = r.getWebhookRemoved();
            return domain::event(
                domain::webhook_removed{domain::webhook_id(str(o.getWebhook())), read_webhook_settings(o.getBefore())});
        }
        case P::SIGNING_KEY_ROTATED: {
            auto o = r.getSigningKeyRotated();
            return domain::event(domain::signing_key_rotated{str(o.getOldVerifierKey()), str(o.getNewVerifierKey()),
                                                             o.getTreeSize(), str(o.getStatement())});
        }
    }
    return corrupt("unknown event type in payload (written by a newer schema?)");
}

}  // namespace detail

std::string encode_event(const domain::event& e) {
    capnp::MallocMessageBuilder message;
    detail::write_payload(message.initRoot<schema::Payload>(), e);
    auto words = capnp::AnyStruct::Reader(message.getRoot<schema::Payload>().asReader()).canonicalize();
    auto bytes = words.asBytes();
    return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

result<domain::event> decode_event(std::string_view bytes) {
    if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
        return error{errc::corrupt, "payload size is not a whole number of words", {}, 0, 0};
    // A std::string_view carries no alignment guarantee: copy into word storage.
    auto words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    kj::ArrayPtr<const capnp::word> segment = words;
    try {
        capnp::SegmentArrayMessageReader reader(kj::arrayPtr(&segment, 1), detail::reader_options(words.size()));
        return detail::read_payload(reader.getRoot<schema::Payload>());
    } catch (const kj::Exception& ex) {
        return error{errc::corrupt, std::string("malformed payload: ") + ex.getDescription().cStr(), {}, 0, 0};
    }
}

}  // namespace roster::eventstore
