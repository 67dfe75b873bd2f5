#include "roster/api/webhooks.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "roster/api/http_client.hpp"
#include "roster/api/log.hpp"
#include "roster/api/metrics.hpp"
#include "roster/domain/events.hpp"
#include "roster/projections/read_model.hpp"
#include "roster/replay/event_json.hpp"
#include "roster/replay/rfc3339.hpp"

namespace roster::api {
namespace json = boost::json;

namespace {

constexpr std::string_view secret_prefix = "whsec_";

std::string base64(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(written));
    return out;
}

std::optional<std::string> unbase64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    std::size_t len = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding as zero bytes.
    for (auto it = text.rbegin(); it != text.rend() && *it == '='; ++it) --len;
    out.resize(len);
    return out;
}

std::string key_of(const domain::webhook_id& id, std::string_view what) {
    return "webhook/" + id.value + "/" + std::string(what);
}

std::uint64_t parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

// http(s)://host[:port] for the client, and the request target.
struct split_url {
    std::string base, target;
};

std::optional<split_url> split(const std::string& url) {
    auto u = boost::urls::parse_uri(url);
    if (!u) return std::nullopt;
    split_url out;
    out.base = std::string(u->scheme()) + "://" + std::string(u->encoded_host_and_port());
    out.target = u->encoded_path().empty() ? "/" : std::string(u->encoded_path());
    if (u->has_query()) out.target += "?" + std::string(u->encoded_query());
    return out;
}

// Dead letters are one meta key each, "webhook/<id>/dead/<position, 20 digits>", so keys sort by
// position and a change writes one entry, not the whole list; "webhook/<id>/dropped" counts refusals.
std::string dead_prefix(const domain::webhook_id& id) { return key_of(id, "dead/"); }

std::string dead_key(const domain::webhook_id& id, std::uint64_t position) {
    auto digits = std::to_string(position);
    return dead_prefix(id) + std::string(20 - digits.size(), '0') + digits;
}

json::object entry_json(const webhook_dead_letter& e) {
    return json::object{{"position", e.position},
                        {"type", e.type},
                        {"attempts", e.attempts},
                        {"error", e.error},
                        {"at", e.at.time_since_epoch().count()}};
}

std::optional<webhook_dead_letter> parse_entry(const json::value& v) {
    if (!v.is_object()) return std::nullopt;
    const auto& x = v.as_object();
    const auto* position = x.if_contains("position");
    const auto* type = x.if_contains("type");
    const auto* attempts = x.if_contains("attempts");
    const auto* error = x.if_contains("error");
    const auto* at = x.if_contains("at");
    // A value this code did not write is skipped, not fatal.
    if (!position || !position->is_number() || !type || !type->is_string() || !attempts || !attempts->is_number() ||
        !error || !error->is_string() || !at || !at->is_number())
        return std::nullopt;
    boost::system::error_code e1, e2, e3;
    webhook_dead_letter d;
    d.position = position->to_number<std::uint64_t>(e1);
    d.type = type->as_string();
    d.attempts = attempts->to_number<unsigned>(e2);
    d.error = error->as_string();
    d.at = domain::timestamp(std::chrono::microseconds(at->to_number<std::int64_t>(e3)));
    if (e1 || e2 || e3) return std::nullopt;
    return d;
}

std::optional<webhook_dead_letter> parse_entry(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return std::nullopt;
    return parse_entry(v);
}

// The list and the bytes its values take (what --webhook-dead-letter-bytes bounds).
struct stored_dead_letters {
    webhook_dead_letters list;
    std::size_t bytes = 0;
};

stored_dead_letters load_dead_letters(const eventstore::store& store, const domain::webhook_id& id) {
    stored_dead_letters out;
    (void)store.scan_meta(dead_prefix(id), [&](std::string_view, std::string_view value) {
        if (auto e = parse_entry(value)) {
            out.list.entries.push_back(std::move(*e));
            out.bytes += value.size();
        }
        return true;
    });
    if (auto d = store.get_meta(key_of(id, "dropped"))) out.list.dropped = parse_u64(*d);
    return out;
}

// Data written before dead letters had a key each kept the whole list as one JSON value under
// "webhook/<id>/dead": split it once, atomically, then drop it.
void migrate_dead_letters(eventstore::store& store, const domain::webhook_id& id, logger& log) {
    auto old = store.get_meta(key_of(id, "dead"));
    if (!old) return;
    boost::system::error_code ec;
    auto v = json::parse(*old, ec);
    std::vector<std::pair<std::string, std::string>> entries;
    if (!ec && v.is_object()) {
        const auto& o = v.as_object();
        if (const auto* es = o.if_contains("entries"); es && es->is_array())
            for (const auto& e : es->as_array())
                if (auto d = parse_entry(e))
                    entries.emplace_back(dead_key(id, d->position), json::serialize(entry_json(*d)));
        boost::system::error_code bad;
        if (const auto* d = o.if_contains("dropped"); d && d->is_number()) {
            const auto dropped = d->to_number<std::uint64_t>(bad);
            if (!bad) entries.emplace_back(key_of(id, "dropped"), std::to_string(dropped));
        }
    }
    if (auto r = store.put_meta_batch(entries); !r) {
        log.error("webhook dead letters not migrated", {{"webhook_id", id.value}, {"error", r.error().message}});
        return;
    }
    (void)store.delete_meta(key_of(id, "dead"));
}

domain::timestamp now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

bool wanted(const domain::webhook_settings& s, const eventstore::recorded_event& e) {
    if (!s.types.empty() && !std::binary_search(s.types.begin(), s.types.end(), e.type)) return false;
    if (s.accounts.empty()) return true;
    const auto parties = domain::concerned(e.payload);
    return std::any_of(parties.accounts.begin(), parties.accounts.end(), [&](const domain::account_id& a) {
        return std::binary_search(s.accounts.begin(), s.accounts.end(), a);
    });
}

// Applies `e` to `s` when it is one of `id`'s endpoint events; nullopt = not registered or removed.
void apply(const domain::webhook_id& id, const eventstore::recorded_event& e,
           std::optional<domain::webhook_settings>& s) {
    if (const auto* r = std::get_if<domain::webhook_registered>(&e.payload); r && r->webhook == id)
        s = r->settings;
    else if (const auto* c = std::get_if<domain::webhook_changed>(&e.payload); c && c->webhook == id)
        s = c->after;
    else if (const auto* x = std::get_if<domain::webhook_removed>(&e.payload); x && x->webhook == id)
        s.reset();
}

// The message body: the event as GET /v1/events shows it, wrapped the Standard Webhooks way.
std::string body_of(const eventstore::recorded_event& e) {
    return json::serialize(json::object{
        {"type", e.type}, {"timestamp", replay::format_rfc3339(e.recorded_at)}, {"data", replay::event_json(e)}});
}

struct message {
    std::uint64_t position = 0;
    std::string type;
    std::string body;
    std::string url;  // the endpoint's url as of this position in the log
};

enum class outcome : std::uint8_t { delivered, failed, interrupted };

}  // namespace

std::string new_webhook_secret() {
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    return std::string(secret_prefix) + base64(bytes, sizeof bytes);
}

std::optional<std::string> webhook_signature(std::string_view secret, std::string_view id, std::string_view timestamp,
                                             std::string_view body) {
    if (!secret.starts_with(secret_prefix)) return std::nullopt;
    auto key = unbase64(secret.substr(secret_prefix.size()));
    if (!key || key->empty()) return std::nullopt;
    std::string content;
    content.reserve(id.size() + timestamp.size() + body.size() + 2);
    content.append(id).append(".").append(timestamp).append(".").append(body);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
              reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &len))
        return std::nullopt;
    return "v1," + base64(mac, len);
}

struct webhook_dispatcher::worker {
    webhook_dispatcher& d;
    domain::webhook_id id;
    domain::log_position registered_at;
    std::thread thread;
    std::atomic<bool> done{false};
    // Guarded by d.mu_.
    webhook_status status;
    bool replay_all = false;
    std::set<std::uint64_t> replay_positions;
    std::uint64_t seen_generation = 0;

    std::mt19937_64 rng{std::random_device{}()};
    std::string secret;
    std::uint64_t cursor = 0;
    std::uint64_t saved_cursor = 0;

    worker(webhook_dispatcher& dispatcher, domain::webhook_id w, domain::log_position at)
        : d(dispatcher), id(std::move(w)), registered_at(at) {}

    bool stopping() {
        std::lock_guard lock(d.mu_);
        return d.stopping_;
    }

    // The endpoint's current settings; nullopt once it is removed.
    std::optional<domain::webhook_settings> settings() {
        return d.reads_.read([&](const projections::read_view& v) -> std::optional<domain::webhook_settings> {
            const auto* w = v.state.webhook(id);
            if (!w || w->removed) return std::nullopt;
            return w->settings;
        });
    }

    // The settings as of log position `upto`, folded from the endpoint's own stream (a handful of
    // events), so a message goes where the log said when it was committed, not where the
    // possibly lagging read model says. `s` = nullopt: not registered then, or removed.
    // False on a read error.
    bool settings_at(std::uint64_t upto, std::optional<domain::webhook_settings>& s) {
        s.reset();
        const std::string stream = "webhook-" + id.value;  // domain::stream_of's name for its events
        domain::stream_version from{1};
        for (;;) {
            std::size_t n = 0;
            bool past = false;
            auto r = d.store_.read_stream(stream, from, 64, [&](const eventstore::recorded_event& e) {
                ++n;
                from = domain::stream_version{e.version.value + 1};
                if (e.position.value > upto) {
                    past = true;
                    return false;
                }
                apply(id, e, s);
                return true;
            });
            if (!r) {
                d.log_.warn("webhook cannot read its settings",
                            {{"webhook_id", id.value}, {"error", r.error().message}});
                return false;
            }
            if (past || n < 64) return true;
        }
    }

    // Sleeps until a commit, a replay request, stop, or `limit`.
    void idle(std::chrono::milliseconds limit) {
        std::unique_lock lock(d.mu_);
        d.wake_.wait_for(lock, limit, [&] {
            return d.stopping_ || d.generation_ != seen_generation || replay_all || !replay_positions.empty();
        });
    }

    void save_cursor() {
        if (cursor == saved_cursor) return;
        if (auto r = d.store_.put_meta(key_of(id, "cursor"), std::to_string(cursor)); !r) {
            d.log_.warn("webhook cursor not saved", {{"webhook_id", id.value}, {"error", r.error().message}});
            return;
        }
        saved_cursor = cursor;
    }

    void set_cursor(std::uint64_t c) {
        cursor = c;
        std::lock_guard lock(d.mu_);
        status.cursor = c;
    }

    // Bytes of the stored dead-letter values and their count, kept in step with the store.
    std::size_t dead_bytes = 0;
    std::size_t dead_count = 0;

    void set_dead_count(std::size_t n) {
        dead_count = n;
        std::lock_guard lock(d.mu_);
        status.dead_letters = n;
    }

    bool report(const eventstore::result<void>& r) {
        if (!r)
            d.log_.error("webhook dead letters not saved", {{"webhook_id", id.value}, {"error", r.error().message}});
        return r.has_value();
    }

    // Writes one entry (new or updated) whose stored value had `old_size` bytes (0: new).
    bool put_dead_letter(const webhook_dead_letter& e, std::size_t old_size) {
        const auto value = json::serialize(entry_json(e));
        if (!report(d.store_.put_meta(dead_key(id, e.position), value))) return false;
        dead_bytes = dead_bytes - old_size + value.size();
        return true;
    }

    // One message, retried with backoff until a 2xx or max_attempts; `attempts` counts them.
    // The read model is asked only whether the endpoint is still there.
    outcome deliver(const message& m, unsigned& attempts, std::string& error) {
        const std::string msg_id = d.options_.origin + ":" + std::to_string(m.position);
        http_client_options client;
        client.ca_file = d.options_.ca_file;
        client.timeout = d.options_.timeout;
        client.max_response_bytes = 64 * 1024;
        for (attempts = 1;; ++attempts) {
            if (stopping()) return outcome::interrupted;
            if (!settings()) return outcome::interrupted;
            auto url = split(m.url);
            const auto ts = std::to_string(
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count());
            auto sig = webhook_signature(secret, msg_id, ts, m.body);
            unsigned status_code = 0;
            if (!url) {
                error = "the url cannot be parsed";
            } else if (!sig) {
                error = "the endpoint's secret is not a whsec_ secret";
            } else {
                auto r = http_request("POST", url->base, url->target,
                                      {{"content-type", "application/json"},
                                       {"user-agent", "roster-webhooks"},
                                       {"webhook-id", msg_id},
                                       {"webhook-timestamp", ts},
                                       {"webhook-signature", *sig}},
                                      m.body, client);
                if (r.response) {
                    status_code = r.response->status;
                    error = status_code >= 200 && status_code < 300 ? "" : "HTTP " + std::to_string(status_code);
                } else {
                    error = r.error.empty() ? "no answer" : r.error;
                }
            }
            {
                std::lock_guard lock(d.mu_);
                status.last_attempt_at = now();
                status.last_status = status_code;
                status.last_error = error;
                if (error.empty())
                    ++status.delivered;
                else
                    ++status.failed_attempts;
            }
            if (error.empty()) return outcome::delivered;
            if (attempts >= d.options_.max_attempts) return outcome::failed;
            // Full jitter over the upper half, so endpoints failing together do not retry together.
            auto wait = d.options_.backoff.count();
            for (unsigned i = 1; i < attempts && wait < d.options_.max_backoff.count(); ++i) wait *= 2;
            wait = std::min<std::int64_t>(wait, d.options_.max_backoff.count());
            const auto jittered =
                std::uniform_int_distribution<std::int64_t>(wait / 2, std::max<std::int64_t>(wait, 0))(rng);
            std::unique_lock lock(d.mu_);
            if (d.wake_.wait_for(lock, std::chrono::milliseconds(jittered), [&] { return d.stopping_; }))
                return outcome::interrupted;
        }
    }

    void add_dead_letter(const message& m, unsigned attempts, const std::string& error) {
        webhook_dead_letter entry{m.position, m.type, attempts, error.substr(0, 512), now()};
        const auto entry_size = json::serialize(entry_json(entry)).size();
        // The oldest are kept: they are what an operator most needs to replay.
        if (dead_bytes + entry_size > d.options_.dead_letter_bytes) {
            const auto dropped = parse_u64(d.store_.get_meta(key_of(id, "dropped")).value_or("0")) + 1;
            report(d.store_.put_meta(key_of(id, "dropped"), std::to_string(dropped)));
        } else if (put_dead_letter(entry, 0)) {
            set_dead_count(dead_count + 1);
        }
        d.log_.warn("webhook message dead-lettered",
                    {{"webhook_id", id.value}, {"position", m.position}, {"attempts", attempts}, {"error", error}});
    }

    // Redelivers requested dead letters (same webhook-id); delivered ones leave the list.
    void run_replays() {
        bool all = false;
        std::set<std::uint64_t> wanted_positions;
        {
            std::lock_guard lock(d.mu_);
            all = replay_all;
            wanted_positions.swap(replay_positions);
            replay_all = false;
        }
        if (!all && wanted_positions.empty()) return;
        // A replay is the operator fixing things now: the settings as of the head, whatever
        // position the worker has reached.
        std::optional<domain::webhook_settings> now_settings;
        if (!settings_at(std::numeric_limits<std::uint64_t>::max(), now_settings) || !now_settings) return;
        auto list = load_dead_letters(d.store_, id).list;
        for (auto& entry : list.entries) {
            if (!all && !wanted_positions.contains(entry.position)) continue;
            const auto old_size = json::serialize(entry_json(entry)).size();
            auto e = d.store_.read_at(domain::log_position{entry.position});
            if (!e) return;  // a storage error: the request is dropped, the list kept
            if (!*e) {
                if (report(d.store_.delete_meta(dead_key(id, entry.position)))) {
                    dead_bytes -= std::min(dead_bytes, old_size);
                    set_dead_count(dead_count - 1);
                }
                continue;
            }
            message m{entry.position, (*e)->type, body_of(**e), now_settings->url};
            unsigned attempts = 0;
            std::string error;
            const auto r = deliver(m, attempts, error);
            if (r == outcome::interrupted) return;
            if (r == outcome::delivered) {
                if (report(d.store_.delete_meta(dead_key(id, entry.position)))) {
                    dead_bytes -= std::min(dead_bytes, old_size);
                    set_dead_count(dead_count - 1);
                }
            } else {
                entry.attempts += attempts;
                entry.error = error.substr(0, 512);
                entry.at = now();
                put_dead_letter(entry, old_size);
            }
        }
    }

    void run() {
        if (auto c = d.store_.get_meta(key_of(id, "cursor")))
            cursor = saved_cursor = parse_u64(*c);
        else
            cursor = saved_cursor = registered_at.value;
        migrate_dead_letters(d.store_, id, d.log_);
        {
            auto stored = load_dead_letters(d.store_, id);
            dead_bytes = stored.bytes;
            dead_count = stored.list.entries.size();
            std::lock_guard lock(d.mu_);
            status.running = true;
            status.cursor = cursor;
            status.dead_letters = dead_count;
        }
        // The settings as of the cursor, moved along with it through the log.
        std::optional<domain::webhook_settings> folded;
        bool folded_ok = false;
        while (!stopping()) {
            auto s = settings();
            if (!s) break;
            if (secret.empty()) {
                secret = d.store_.get_meta(key_of(id, "secret")).value_or("");
                if (secret.empty()) {
                    {
                        std::lock_guard lock(d.mu_);
                        status.last_error = "the endpoint's secret is missing from the store";
                    }
                    idle(std::chrono::milliseconds(1000));
                    continue;
                }
            }
            {
                std::lock_guard lock(d.mu_);
                seen_generation = d.generation_;
            }
            if (!s->enabled) {
                save_cursor();
                idle(std::chrono::milliseconds(1000));
                continue;
            }
            if (!folded_ok && !(folded_ok = settings_at(cursor, folded))) {
                idle(std::chrono::milliseconds(1000));
                continue;
            }
            run_replays();
            std::vector<message> batch;
            std::uint64_t last_read = cursor;
            std::size_t bytes = 0;
            auto ahead = folded;
            auto r =
                d.store_.read_from(domain::log_position{cursor + 1}, 256, [&](const eventstore::recorded_event& e) {
                    last_read = e.position.value;
                    apply(id, e, ahead);
                    if (ahead && wanted(*ahead, e)) {
                        batch.push_back(message{e.position.value, e.type, body_of(e), ahead->url});
                        bytes += batch.back().body.size();
                    }
                    return bytes < d.options_.batch_bytes;
                });
            if (!r) {
                d.log_.warn("webhook cannot read the log", {{"webhook_id", id.value}, {"error", r.error().message}});
                idle(std::chrono::milliseconds(1000));
                continue;
            }
            if (last_read == cursor) {
                save_cursor();
                idle(std::chrono::milliseconds(1000));
                continue;
            }
            bool interrupted = false;
            for (const auto& m : batch) {
                // Filtered-out events before m are handled too.
                unsigned attempts = 0;
                std::string error;
                const auto o = deliver(m, attempts, error);
                if (o == outcome::interrupted) {
                    interrupted = true;
                    break;
                }
                if (o == outcome::failed) add_dead_letter(m, attempts, error);
                set_cursor(m.position);
            }
            if (interrupted) {
                folded_ok = false;  // refolded at the cursor, where the batch stopped
            } else {
                set_cursor(last_read);
                folded = std::move(ahead);
            }
            save_cursor();
        }
        save_cursor();
        {
            std::lock_guard lock(d.mu_);
            status.running = false;
        }
        done = true;
    }
};

webhook_dispatcher::webhook_dispatcher(eventstore::store& store, projections::read_model& reads, logger& log,
                                       webhook_options options)
    : store_(store), reads_(reads), log_(log), options_(std::move(options)) {
    options_.max_attempts = std::max(1u, options_.max_attempts);
}

webhook_dispatcher::~webhook_dispatcher() { stop(); }

void webhook_dispatcher::start() {
    commits_ = store_.subscribe([this](domain::log_position) {
        {
            std::lock_guard lock(mu_);
            ++generation_;
        }
        wake_.notify_all();
    });
    supervisor_ = std::thread([this] { supervise(); });
}

void webhook_dispatcher::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_ && !supervisor_.joinable()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
    commits_.reset();
    std::map<domain::webhook_id, std::unique_ptr<worker>> all;
    {
        std::lock_guard lock(mu_);
        all.swap(workers_);
    }
    for (auto& [id, w] : all)
        if (w->thread.joinable()) w->thread.join();
}

void webhook_dispatcher::supervise() {
    for (;;) {
        reconcile();
        std::unique_lock lock(mu_);
        const auto seen = generation_;
        wake_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
    }
}

void webhook_dispatcher::reconcile() {
    struct endpoint {
        domain::webhook_id id;
        domain::log_position at;
    };
    auto live = reads_.read([](const projections::read_view& v) {
        std::vector<endpoint> out;
        for (const auto& [id, w] : v.state.webhooks)
            if (!w.removed) out.push_back(endpoint{id, w.registered_at});
        return out;
    });
    std::vector<std::unique_ptr<worker>> finished;
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        for (auto it = workers_.begin(); it != workers_.end();) {
            if (it->second->done) {
                finished.push_back(std::move(it->second));
                it = workers_.erase(it);
            } else {
                ++it;
            }
        }
        for (const auto& e : live) {
            if (workers_.size() >= options_.max_endpoints) break;
            if (workers_.contains(e.id)) continue;
            auto w = std::make_unique<worker>(*this, e.id, e.at);
            auto* raw = w.get();
            workers_.emplace(e.id, std::move(w));
            raw->thread = std::thread([raw] { raw->run(); });
        }
    }
    for (auto& w : finished)
        if (w->thread.joinable()) w->thread.join();
}

eventstore::result<void> webhook_dispatcher::store_secret(const domain::webhook_id& id, std::string_view secret) {
    return store_.put_meta(key_of(id, "secret"), secret);
}

webhook_status webhook_dispatcher::status(const domain::webhook_id& id) const {
    webhook_status out;
    bool found = false;
    {
        std::lock_guard lock(mu_);
        if (auto it = workers_.find(id); it != workers_.end()) {
            out = it->second->status;
            found = true;
        }
    }
    if (!found) {
        if (auto c = store_.get_meta(key_of(id, "cursor"))) out.cursor = parse_u64(*c);
        out.dead_letters = load_dead_letters(store_, id).list.entries.size();
    }
    const auto head = store_.head().position.value;
    out.lag = head > out.cursor ? head - out.cursor : 0;
    return out;
}

webhook_dead_letters webhook_dispatcher::dead_letters(const domain::webhook_id& id) const {
    return load_dead_letters(store_, id).list;
}

std::size_t webhook_dispatcher::replay(const domain::webhook_id& id,
                                       const std::optional<std::vector<std::uint64_t>>& positions) {
    const auto list = dead_letters(id);
    std::size_t count = 0;
    std::set<std::uint64_t> chosen;
    for (const auto& e : list.entries)
        if (!positions || std::find(positions->begin(), positions->end(), e.position) != positions->end()) {
            chosen.insert(e.position);
            ++count;
        }
    {
        std::lock_guard lock(mu_);
        auto it = workers_.find(id);
        if (it == workers_.end() || count == 0) return count;
        if (positions)
            it->second->replay_positions.insert(chosen.begin(), chosen.end());
        else
            it->second->replay_all = true;
    }
    wake_.notify_all();
    return count;
}

void webhook_dispatcher::collect(exposition& out) const {
    struct row {
        std::string id;
        webhook_status s;
    };
    std::vector<row> rows;
    {
        std::lock_guard lock(mu_);
        for (const auto& [id, w] : workers_) rows.push_back(row{id.value, w->status});
    }
    const auto head = store_.head().position.value;
    auto family = [&](std::string_view name, std::string_view help, std::string_view type, auto value) {
        out.family(name, help, type);
        for (const auto& r : rows) out.sample(name, {{"endpoint", r.id}}, static_cast<double>(value(r.s)));
    };
    family("roster_webhook_deliveries_total", "Webhook messages answered 2xx, per endpoint (since start).", "counter",
           [](const webhook_status& s) { return s.delivered; });
    family("roster_webhook_failures_total",
           "Webhook delivery attempts that failed (non-2xx, timeout, no connection), per endpoint (since start).",
           "counter", [](const webhook_status& s) { return s.failed_attempts; });
    family("roster_webhook_dead_letters", "Messages in the endpoint's dead-letter list.", "gauge",
           [](const webhook_status& s) { return s.dead_letters; });
    family("roster_webhook_lag_events", "Log head minus the endpoint's delivery cursor.", "gauge",
           [head](const webhook_status& s) { return head > s.cursor ? head - s.cursor : 0; });
}

}  // namespace roster::api
