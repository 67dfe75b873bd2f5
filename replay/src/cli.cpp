#include "roster/replay/cli.hpp"

#include <chrono>
#include <ostream>

#include <boost/json.hpp>

#include "roster/domain/queries.hpp"
#include "roster/projections/past_states.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/log_range.hpp"
#include "roster/replay/progress.hpp"
#include "roster/replay/rfc3339.hpp"
#include "roster/replay/verify.hpp"

namespace roster::replay {
namespace json = boost::json;
namespace {

eventstore::result<std::unique_ptr<eventstore::store>> open_store(const std::filesystem::path& data_dir,
                                                                  bool writable = false) {
    eventstore::store_options o;
    o.read_only = !writable;
    o.create_if_missing = false;
    return eventstore::store::open(resolve_store_dir(data_dir), o);
}

// Folds [position()+1, to] with a progress bar.
eventstore::result<void> fold(projections::read_model& m, const eventstore::store& s, eventstore::log_position to,
                              std::string label,
                              const std::function<void(eventstore::log_position)>& at_each_slice = {}) {
    progress_bar bar(std::move(label), to.value);
    while (m.position() < to) {
        const eventstore::log_position target{std::min(to.value, m.position().value + 50'000)};
        if (auto r = m.catch_up(s, target); !r) return r;
        if (m.position() < target) break;
        bar.update(m.position().value);
        if (at_each_slice) at_each_slice(m.position());
    }
    bar.finish();
    return {};
}

json::object user_json(const projections::directory_entry& e) {
    const auto& p = *e.profile;
    return json::object{{"id", p.id.value},
                        {"email", p.email},
                        {"name", p.name},
                        {"employer", p.employer.value},
                        {"status", domain::to_string(p.status)},
                        {"registration", domain::to_string(p.registration)},
                        {"type", domain::to_string(e.type)},
                        {"roles", roles_json(e.roles)},
                        {"removed", e.removed}};
}

}  // namespace

int run_history(const std::filesystem::path& data_dir, const history_cli_request& r, std::ostream& out,
                std::ostream& err) {
    const int given = !r.account.empty() + !r.user.empty() + !r.actor.empty();
    if (given != 1) {
        err << "rosterctl history: give exactly one of --account, --user, --actor\n";
        return 64;
    }
    auto s = open_store(data_dir);
    if (!s) {
        err << "rosterctl history: cannot open the store: " << s.error().message << '\n';
        return 2;
    }
    projections::history_page_request q;
    q.subject = !r.account.empty() ? projections::history_subject::account
                : !r.user.empty()  ? projections::history_subject::user
                                   : projections::history_subject::actor;
    q.id = !r.account.empty() ? r.account : !r.user.empty() ? r.user : r.actor;
    q.limit = r.limit;
    if (!r.since.empty()) {
        auto p = parse_log_point(r.since);
        if (!p) return err << "rosterctl history: --since must be a position or an RFC 3339 time\n", 64;
        q.from_position = first_position_since(**s, *p);
    }
    if (!r.until.empty()) {
        auto p = parse_log_point(r.until);
        if (!p) return err << "rosterctl history: --until must be a position or an RFC 3339 time\n", 64;
        q.to_position = last_position_until(**s, *p);
    }
    if (!r.types.empty()) {
        q.types = 0;
        std::string_view rest = r.types;
        while (true) {
            auto comma = rest.find(',');
            auto bit = projections::event_type_bit(rest.substr(0, comma));
            if (!bit) return err << "rosterctl history: unknown event type in --type\n", 64;
            q.types |= *bit;
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
    }
    // The same index the server keeps, so both answer the same selection.
    projections::read_model m;
    if (auto f = fold(m, **s, (*s)->head().position, "indexing"); !f) {
        err << "rosterctl history: " << f.error().message << '\n';
        return 2;
    }
    auto page = m.read([&](const projections::read_view& v) { return v.history->page(q); });
    if (!page) {
        err << "rosterctl history: " << page.error().message << '\n';
        return 2;
    }
    auto& positions = *page;
    if (positions.size() > q.limit) positions.resize(q.limit);
    for (auto p : positions) {
        auto e = (*s)->read_at(p);
        if (!e || !*e) {
            err << "rosterctl history: cannot read position " << p.value << '\n';
            return 2;
        }
        out << json::serialize(event_json(**e)) << '\n';
    }
    return 0;
}

int run_as_of(const std::filesystem::path& data_dir, const as_of_cli_request& r, std::ostream& out, std::ostream& err) {
    auto point = parse_log_point(r.at);
    if (!point || r.account.empty()) {
        err << "rosterctl as-of: --at POSITION|RFC3339 and --account ID are required\n";
        return 64;
    }
    auto s = open_store(data_dir);
    if (!s) {
        err << "rosterctl as-of: cannot open the store: " << s.error().message << '\n';
        return 2;
    }
    const auto head = (*s)->head().position;
    auto position = std::min(head, last_position_until(**s, *point));
    if (std::holds_alternative<eventstore::log_position>(*point) && std::get<eventstore::log_position>(*point) > head) {
        err << "rosterctl as-of: position beyond the head (" << head.value << ")\n";
        return 64;
    }
    projections::past_states past(**s);
    auto m = past.at(position);
    if (!m) {
        err << "rosterctl as-of: " << m.error().message << '\n';
        return 2;
    }
    const domain::account_id a{r.account};
    auto body = (*m)->read([&](const projections::read_view& v) -> std::optional<json::object> {
        const auto* acc = v.state.account(a);
        if (!acc) return std::nullopt;
        json::object o{
            {"position", v.position.value},
            {"recorded_at", v.position.value ? json::value(format_rfc3339(v.recorded_at)) : json::value(nullptr)}};
        if (!r.user.empty()) {
            const auto* e = v.directory.entry(a, domain::user_id{r.user});
            if (!e) return std::nullopt;
            auto u = user_json(*e);
            json::array contact_roles;
            for (auto c : acc->contact_roles_of(domain::user_id{r.user}))
                contact_roles.emplace_back(domain::to_string(c));
            u["contact_roles"] = std::move(contact_roles);
            o["user"] = std::move(u);
            return o;
        }
        json::array partners;
        for (const auto& p : acc->partners) partners.emplace_back(p.value);
        o["account"] = json::object{{"id", acc->id.value},
                                    {"name", acc->name},
                                    {"kind", domain::to_string(acc->kind)},
                                    {"version", v.version_of(a).value},
                                    {"partners", std::move(partners)}};
        projections::directory_query all;
        all.statuses = projections::status_filter::all();
        all.limit = acc->members.size() + acc->removed.size() + 1;
        json::array users;
        if (auto page = v.directory.query(a, all))
            for (const auto& e : page->users) users.emplace_back(user_json(e));
        o["users"] = std::move(users);
        json::object contacts;
        for (auto c : domain::all_contact_roles)
            if (domain::applies_to(c, acc->kind))
                contacts[domain::to_string(c)] =
                    acc->contact(c).empty() ? json::value(nullptr) : json::value(acc->contact(c).value);
        o["contacts"] = std::move(contacts);
        json::array watch;
        for (const auto& [u, topics] : acc->watchlist) {
            json::array t;
            for (auto x : topics) t.emplace_back(domain::to_string(x));
            watch.emplace_back(json::object{{"user_id", u.value}, {"topics", std::move(t)}});
        }
        o["watchlist"] = std::move(watch);
        return o;
    });
    if (!body) {
        err << "rosterctl as-of: no such account" << (r.user.empty() ? "" : " or user") << " at position "
            << position.value << '\n';
        return 1;
    }
    out << json::serialize(*body) << '\n';
    return 0;
}

int run_export(const std::filesystem::path& data_dir, export_format format, const std::string& since,
               const std::string& until, std::ostream& out, std::ostream& err, const std::string& account,
               bool include_envelope) {
    auto s = open_store(data_dir);
    if (!s) {
        err << "rosterctl export: cannot open the store: " << s.error().message << '\n';
        return 2;
    }
    eventstore::log_position from{1}, to = (*s)->head().position;
    if (!since.empty()) {
        auto p = parse_log_point(since);
        if (!p) return err << "rosterctl export: --since must be a position or an RFC 3339 time\n", 64;
        from = first_position_since(**s, *p);
    }
    if (!until.empty()) {
        auto p = parse_log_point(until);
        if (!p) return err << "rosterctl export: --until must be a position or an RFC 3339 time\n", 64;
        to = std::min(to, last_position_until(**s, *p));
    }
    export_reader reader(**s, format, from, to, 4096);
    if (!account.empty()) reader.filter_account(account);
    if (include_envelope) {
        if (format != export_format::jsonl)
            return err << "rosterctl export: --include-envelope needs --format jsonl\n", 64;
        reader.include_envelope(true);
    }
    progress_bar bar("exporting", to >= from ? to.value - from.value + 1 : 0);
    std::string chunk;
    while (true) {
        chunk.clear();
        auto more = reader.next(chunk);
        if (!more) {
            err << "rosterctl export: " << more.error().message << '\n';
            return 2;
        }
        out << chunk;
        bar.update(reader.rows());
        if (!*more) break;
    }
    bar.finish();
    out.flush();
    return out ? 0 : 2;
}

int run_rebuild(const std::filesystem::path& data_dir, bool write_snapshots, std::uint64_t snapshot_every,
                std::ostream& out, std::ostream& err) {
    auto s = open_store(data_dir, write_snapshots);
    if (!s) {
        err << "rosterctl rebuild: cannot open the store" << (write_snapshots ? " writable (is rosterd running?)" : "")
            << ": " << s.error().message << '\n';
        return 2;
    }
    const auto head = (*s)->head().position;
    projections::past_states past(**s, {.snapshot_every = snapshot_every});
    auto snapshots = past.snapshot_positions();
    std::size_t checked = 0, mismatched = 0;
    std::vector<std::uint64_t> bad;
    projections::read_model m(projections::read_model_options{.history_index = false});
    const auto start = std::chrono::steady_clock::now();
    progress_bar bar("rebuilding", head.value);
    auto next_snapshot = snapshots.begin();
    // Stops at every snapshot position to compare the fresh fold with what the snapshot restores.
    while (m.position() < head) {
        eventstore::log_position target{std::min(head.value, m.position().value + 50'000)};
        while (next_snapshot != snapshots.end() && *next_snapshot <= m.position()) ++next_snapshot;
        if (next_snapshot != snapshots.end()) target = std::min(target, *next_snapshot);
        if (auto r = m.catch_up(**s, target); !r) {
            err << "rosterctl rebuild: " << r.error().message << '\n';
            return 2;
        }
        if (m.position() < target) break;
        bar.update(m.position().value);
        if (next_snapshot != snapshots.end() && *next_snapshot == m.position()) {
            ++checked;
            auto restored = past.load_snapshot(m.position());
            if (!restored || restored->fingerprint() != m.fingerprint()) {
                ++mismatched;
                bad.push_back(m.position().value);
            }
        }
    }
    bar.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::size_t written = 0;
    if (write_snapshots) {
        progress_bar sbar("snapshots", head.value);
        auto w = past.take_snapshots(**s, nullptr, [&](eventstore::log_position p) { sbar.update(p.value); });
        sbar.finish();
        if (!w) {
            err << "rosterctl rebuild: writing snapshots failed: " << w.error().message << '\n';
            return 2;
        }
        written = *w;
    }
    json::array bad_json;
    for (auto p : bad) bad_json.emplace_back(p);
    out << json::serialize(
               json::object{{"position", m.position().value},
                            {"events", m.position().value},
                            {"seconds", seconds},
                            {"events_per_s", seconds > 0 ? static_cast<double>(m.position().value) / seconds : 0.0},
                            {"snapshots_checked", checked},
                            {"snapshots_mismatched", std::move(bad_json)},
                            {"snapshots_written", written}})
        << '\n';
    return mismatched ? 1 : 0;
}

int run_verify_progress(const std::filesystem::path& data_dir, std::uint64_t from, std::uint64_t to, std::ostream& out,
                        std::ostream& err) {
    auto s = open_store(data_dir);
    if (!s) {
        err << "rosterctl verify: cannot open the store in " << data_dir << ": " << s.error().message << '\n';
        return 2;
    }
    const auto head = (*s)->head().position.value;  // the slicing below is arithmetic on raw positions
    to = std::min(to, head);
    from = std::max<std::uint64_t>(from, 1);
    eventstore::verify_report total;
    progress_bar bar("verifying", to >= from ? to - from + 1 : 0);
    // Slices check the same chain: each slice starts from the stored hash of the event before
    // it, which the previous slice has just verified.
    constexpr std::uint64_t slice = 100'000;
    for (std::uint64_t lo = from; lo <= to; lo += slice) {
        const auto hi = std::min(to, lo + slice - 1);
        auto r = (*s)->verify(eventstore::log_position{lo}, eventstore::log_position{hi});
        total.checked += r.checked;
        bar.update(total.checked);
        if (!r.ok) {
            total.ok = false;
            total.first_bad_position = r.first_bad_position;
            total.message = r.message;
            break;
        }
        if (hi == UINT64_MAX) break;
    }
    // A log shorter than its recorded head is only seen by a verify that reaches the head.
    if (total.ok && to == head) {
        auto tail = (*s)->verify(eventstore::log_position{head + 1}, eventstore::log_position::max());
        if (!tail.ok) {
            total.ok = false;
            total.first_bad_position = tail.first_bad_position;
            total.message = tail.message;
        }
    }
    bar.finish();
    out << verify_report_json(total) << '\n';
    return total.ok ? 0 : 1;
}

}  // namespace roster::replay
