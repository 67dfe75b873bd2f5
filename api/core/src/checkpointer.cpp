#include "roster/api/checkpointer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace roster::api {

namespace es = roster::eventstore;

namespace {

constexpr std::uint64_t block_leaves = std::uint64_t{1} << merkle_block_bits;
// Leaves appended between two looks at the stop flag and the signing schedule during a catch-up.
constexpr std::size_t catch_up_slice = 4096;

std::string block_key(std::uint64_t b) { return "merkle/block/" + std::to_string(b); }
std::string node_key(unsigned level, std::uint64_t index) {
    return "merkle/node/" + std::to_string(level) + "/" + std::to_string(index);
}
constexpr std::string_view size_key = "merkle/size";
constexpr std::string_view latest_key = "checkpoint/latest";

es::error missing(std::string what) { return es::error{es::errc::corrupt, std::move(what), {}, 0, 0}; }

std::optional<std::uint64_t> parse_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// MTH of a run of 2^k leaf hashes, folded in place.
es::hash256 fold(std::vector<es::hash256> level) {
    while (level.size() > 1) {
        for (std::size_t i = 0; i < level.size() / 2; ++i) level[i] = es::node_hash(level[2 * i], level[2 * i + 1]);
        level.resize(level.size() / 2);
    }
    return level.front();
}

}  // namespace

// ---- stored_subtrees ---------------------------------------------------------------------------

es::result<std::vector<es::hash256>> stored_subtrees::block(std::uint64_t b) {
    std::vector<es::hash256> leaves;
    if (auto v = store_.get_meta(block_key(b)); v && v->size() == block_leaves * 32) {
        leaves.resize(block_leaves);
        for (std::uint64_t i = 0; i < block_leaves; ++i) std::memcpy(leaves[i].data(), v->data() + i * 32, 32);
        return leaves;
    }
    // Not persisted yet: rehash the envelopes, which the chain has already bound.
    std::uint64_t expected = b * block_leaves + 1;
    bool gap = false;
    auto r = store_.read_raw_from(expected, block_leaves, [&](std::uint64_t position, std::string_view bytes) {
        if (position != expected) return !(gap = true);
        leaves.push_back(es::leaf_hash(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())));
        ++expected;
        return true;
    });
    if (!r) return r.error();
    if (gap) return missing("the log has a gap at position " + std::to_string(expected));
    return leaves;
}

es::result<es::hash256> stored_subtrees::subtree(unsigned level, std::uint64_t index) {
    if (level >= merkle_block_bits) {
        auto v = store_.get_meta(node_key(level, index));
        if (!v || v->size() != 32) return missing("merkle subtree " + node_key(level, index) + " is not stored");
        es::hash256 h;
        std::memcpy(h.data(), v->data(), 32);
        return h;
    }
    const std::uint64_t first = index << level;
    const std::uint64_t b = first >> merkle_block_bits;
    if (cached_block_ != b) {
        auto leaves = block(b);
        if (!leaves) return leaves.error();
        cached_ = std::move(*leaves);
        cached_block_ = b;
    }
    const std::uint64_t offset = first - b * block_leaves, count = std::uint64_t{1} << level;
    if (offset + count > cached_.size()) return missing("merkle leaves past the log head were asked for");
    return fold(std::vector<es::hash256>(cached_.begin() + static_cast<std::ptrdiff_t>(offset),
                                         cached_.begin() + static_cast<std::ptrdiff_t>(offset + count)));
}

// ---- checkpointer ------------------------------------------------------------------------------

checkpointer::checkpointer(es::store& store, es::signing_key key, checkpointer_options options,
                           std::function<void(std::string_view)> on_error)
    : store_(store),
      key_(std::make_shared<const es::signing_key>(std::move(key))),
      options_(std::move(options)),
      on_error_(std::move(on_error)) {
    options_.every = std::max<std::uint64_t>(1, options_.every);
}

checkpointer::checkpointer(es::store& store, checkpoint_verification verification, checkpointer_options options,
                           std::function<void(std::string_view)> on_error)
    : store_(store),
      options_(std::move(options)),
      on_error_(std::move(on_error)),
      verification_(std::move(verification)) {
    options_.every = std::max<std::uint64_t>(1, options_.every);
}

checkpointer::~checkpointer() { stop(); }

void checkpointer::report(std::string_view message) {
    if (on_error_) on_error_(message);
}

es::result<void> checkpointer::start() {
    if (verification_) {
        // The leader's checkpoint verified last time, with the key that opened it.
        auto note = store_.get_meta(verified_checkpoint_key);
        auto key_text = store_.get_meta(verified_key_key);
        if (note && key_text) {
            auto key = es::verifier_key::parse(*key_text);
            auto body = key ? es::open_checkpoint(*note, std::span(&*key, 1)) : es::result<es::checkpoint>(key.error());
            if (body) {
                latest_ = signed_checkpoint{*note, *body};
                verified_key_ = *key;
                status_.verified_size = body->size;
            } else {
                report("the stored verified checkpoint does not open; it is not served: " + body.error().message);
            }
        }
    } else if (auto note = store_.get_meta(latest_key)) {
        const es::verifier_key mine = key_->verifier();
        auto body = es::open_checkpoint(*note, std::span(&mine, 1));
        // A checkpoint this key did not sign (the key file was replaced, or a rotation was
        // installed after a crash) is not served again; one is signed with this key at once.
        if (body) {
            latest_ = signed_checkpoint{*note, *body};
            signed_size_ = body->size;
        } else {
            report("the stored checkpoint does not verify with the signing key; it is not served: " +
                   body.error().message);
            sign_soon_ = true;
        }
    }
    std::uint64_t persisted = 0;
    if (auto v = store_.get_meta(size_key)) persisted = parse_u64(*v).value_or(0);
    if (persisted % block_leaves != 0 || persisted > store_.head().position.value) persisted = 0;
    if (persisted > 0) {
        stored_subtrees source(store_);
        auto resumed = es::merkle_appender::resume(persisted, source);
        if (resumed) {
            tree_ = std::move(*resumed);
        } else {
            report("cannot resume the merkle tree, rebuilding it from the log: " + resumed.error().message);
            tree_ = es::merkle_appender{};
        }
    }
    size_ = tree_.size();
    // A tree's size is a count of leaves: the log's head position as a number.
    committed_ = store_.head().position.value;
    subscription_ = store_.subscribe([this](es::log_position position) {
        // On the committing thread: record and wake only.
        {
            std::lock_guard lock(mutex_);
            committed_ = position.value;
        }
        wake_.notify_one();
    });
    signed_at_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
    return {};
}

void checkpointer::stop() {
    subscription_.reset();
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    signed_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::optional<signed_checkpoint> checkpointer::latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
}

std::optional<signed_checkpoint> checkpointer::sign_through(std::uint64_t size, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const auto covers = [&] { return latest_ && latest_->body.size >= size; };
    if (covers() || (size == 0 && !latest_)) return latest_;
    sign_wanted_ = std::max(sign_wanted_, size);
    wake_.notify_one();
    if (!signed_.wait_for(lock, timeout, [&] { return covers() || stop_; }) || !covers()) return std::nullopt;
    return latest_;
}

std::shared_ptr<const es::signing_key> checkpointer::key() const {
    std::lock_guard lock(mutex_);
    return key_;
}

std::optional<es::verifier_key> checkpointer::verifier() const {
    std::lock_guard lock(mutex_);
    if (key_) return key_->verifier();
    return verified_key_;
}

void checkpointer::offer(std::string note) {
    {
        std::lock_guard lock(mutex_);
        ++status_.offered;
        offered_bytes_ += note.size();
        offered_.push_back(std::move(note));
        // A replica far behind keeps the newest: each is checked once the log reaches it.
        while (offered_bytes_ > max_offered_bytes && offered_.size() > 1) {
            offered_bytes_ -= offered_.front().size();
            offered_.pop_front();
        }
        status_.pending = offered_.size();
        offer_new_ = true;
    }
    wake_.notify_one();
}

verification_status checkpointer::verification() const {
    std::lock_guard lock(mutex_);
    return status_;
}

bool checkpointer::rotate_to(es::signing_key next, std::chrono::milliseconds wait) {
    const std::uint32_t id = next.key_id();
    std::unique_lock lock(mutex_);
    if (verification_) return false;  // a replica signs nothing (its rotation route redirects)
    key_ = std::make_shared<const es::signing_key>(std::move(next));
    sign_soon_ = true;
    wake_.notify_one();
    return signed_.wait_for(lock, wait, [&] {
        if (stop_ || !latest_) return stop_;
        const es::verifier_key k = key_->verifier();
        return k.key_id == id && es::open_checkpoint(latest_->note, std::span(&k, 1)).has_value();
    });
}

void checkpointer::stage_block() {
    std::string leaves;
    leaves.reserve(block_leaves * 32);
    for (const auto& h : block_) leaves.append(reinterpret_cast<const char*>(h.data()), h.size());
    staged_.emplace_back(block_key((tree_.size() - 1) >> merkle_block_bits), std::move(leaves));
    for (const auto& n : upper_)
        staged_.emplace_back(node_key(n.level, n.index),
                             std::string(reinterpret_cast<const char*>(n.hash.data()), n.hash.size()));
    staged_size_ = tree_.size();
    block_.clear();
    upper_.clear();
}

bool checkpointer::flush_staged() {
    if (staged_.empty()) return true;
    // One atomic write: a resume trusts everything below the size, which lands with its blocks.
    staged_.emplace_back(std::string(size_key), std::to_string(staged_size_));
    auto r = store_.put_meta_batch(staged_);
    staged_.pop_back();
    if (!r) return report("merkle tree write failed: " + r.error().message), false;
    staged_.clear();
    return true;
}

bool checkpointer::catch_up(std::size_t max_leaves) {
    // A write that failed last time first: nothing more is staged (or signed) until it lands.
    if (!flush_staged()) return false;
    bool ok = true;
    std::uint64_t expected = tree_.size() + 1;
    auto r = store_.read_raw_from(expected, max_leaves, [&](std::uint64_t position, std::string_view bytes) {
        if (position != expected) {
            report("the log has a gap at position " + std::to_string(expected));
            return ok = false;
        }
        const auto leaf = es::leaf_hash(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
        auto done = tree_.append(leaf);
        if (!done) return ok = false;
        for (const auto& n : *done)
            if (n.level >= merkle_block_bits) upper_.push_back(n);
        block_.push_back(leaf);
        ++expected;
        if (block_.size() == block_leaves) stage_block();
        size_ = tree_.size();
        return true;
    });
    // Before any checkpoint over these leaves is signed (the caller signs after this returns).
    if (!flush_staged()) return false;
    if (!r) {
        report("reading the log for the merkle tree failed: " + r.error().message);
        return false;
    }
    return ok;
}

void checkpointer::sign_now() {
    std::shared_ptr<const es::signing_key> key;
    {
        std::lock_guard lock(mutex_);
        if (!key_) return;                          // verifying mode
        if (tree_.size() == 0) sign_soon_ = false;  // nothing to sign yet; the first leaf will be
        if (tree_.size() == 0 || (tree_.size() == signed_size_ && !sign_soon_)) return;
        sign_soon_ = false;
        key = key_;
    }
    es::checkpoint c;
    c.origin = options_.origin;
    c.size = tree_.size();
    c.root = tree_.root();
    const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    c.extensions.push_back("timestamp " + std::to_string(now.time_since_epoch().count()));
    auto note = es::sign_checkpoint(c, *key);
    if (!note) return report("signing a checkpoint failed: " + note.error().message);
    if (auto r = store_.put_meta(latest_key, *note); !r)
        return report("storing a checkpoint failed: " + r.error().message);
    signed_size_ = c.size;
    signed_at_ = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        latest_ = signed_checkpoint{std::move(*note), std::move(c)};
    }
    signed_.notify_all();
}

void checkpointer::verify_offered() {
    for (;;) {
        std::string note;
        std::optional<es::verifier_key> current;
        {
            std::lock_guard lock(mutex_);
            offer_new_ = false;
            if (offered_.empty() || status_.refused) return;
            note = offered_.front();
            current = verified_key_;
        }
        const auto refuse = [&](std::string why) {
            report(why);
            std::lock_guard lock(mutex_);
            status_.refused = std::move(why);
            offered_.clear();
            offered_bytes_ = 0;
            status_.pending = 0;
        };
        const auto done = [&] {
            std::lock_guard lock(mutex_);
            if (offered_.empty() || offered_.front() != note) return;  // dropped meanwhile (offer's bound)
            offered_bytes_ -= offered_.front().size();
            offered_.pop_front();
            status_.pending = offered_.size();
        };
        // Its size before its signature: the key depends on the log up to that size.
        const auto blank = note.find("\n\n");
        auto claimed = blank == std::string::npos
                           ? es::result<es::checkpoint>(missing("no blank line before the signatures"))
                           : es::parse_checkpoint(std::string_view(note).substr(0, blank + 1));
        if (!claimed) return refuse("A leader checkpoint does not parse: " + claimed.error().message);
        const std::uint64_t size = claimed->size;
        if (size > tree_.size() || size == 0) {
            if (size == 0) done();
            if (size == 0) continue;
            return;  // the log has not reached it yet; later offers are not smaller
        }
        auto keys = verification_->keys_for(size);
        if (!keys) return report("reading the leader's signing keys failed: " + keys.error().message);
        // A rotation's old key only until a checkpoint signed with the new one was verified.
        if (!keys->empty() && current == keys->front()) keys->resize(1);
        if (keys->empty()) {
            done();
            const std::string why = "no leader key is known for the checkpoint of size " + std::to_string(size) +
                                    " (give --leader-key, the leader's /v1/audit/public-key verifier_key)";
            bool first = false;
            {
                std::lock_guard lock(mutex_);
                ++status_.unverified;
                first = !status_.unverified_reason;
                status_.unverified_reason = why;
            }
            if (first) report("leader checkpoints unverified: " + why);  // once, not per checkpoint
            continue;
        }
        auto opened = es::open_note(note, *keys);
        if (!opened)
            return refuse("The leader checkpoint of size " + std::to_string(size) +
                          " does not verify with the leader's key " + keys->front().to_string() + ": " +
                          opened.error().message);
        const auto signer = std::find_if(keys->begin(), keys->end(), [&](const es::verifier_key& k) {
            return k.key_id == opened->verified.front().key_id && k.name == opened->verified.front().name;
        });
        if (signer == keys->end())
            return refuse("The leader checkpoint of size " + std::to_string(size) +
                          " names a signer that is not the leader's key.");
        es::hash256 mine{};
        if (size == tree_.size()) {
            mine = tree_.root();
        } else {
            stored_subtrees source(store_);
            auto r = es::root(size, source);
            if (!r) return report("computing the tree root to verify a checkpoint failed: " + r.error().message);
            mine = *r;
        }
        if (mine != claimed->root)
            return refuse("The leader checkpoint of size " + std::to_string(size) + " has root " +
                          es::base64_encode(claimed->root) + ", this replica's log has " + es::base64_encode(mine) +
                          " at that size.");
        if (auto r = store_.put_meta_batch(
                {{std::string(verified_checkpoint_key), note}, {std::string(verified_key_key), signer->to_string()}});
            !r)
            return report("storing a verified checkpoint failed: " + r.error().message);
        done();
        {
            std::lock_guard lock(mutex_);
            if (!latest_ || latest_->body.size <= size) {
                latest_ = signed_checkpoint{std::move(note), std::move(*claimed)};
                verified_key_ = *signer;
                status_.verified_size = size;
                status_.unverified_reason.reset();
            }
        }
        signed_.notify_all();
    }
}

void checkpointer::run() {
    // On the first pass block_ must hold the leaves of the incomplete block the resume ended in:
    // none, as resume only ever starts at a block boundary.
    for (;;) {
        bool stopping = false;
        std::uint64_t wanted = 0;
        {
            std::unique_lock lock(mutex_);
            const auto due = signed_at_ + options_.interval;
            wake_.wait_until(lock, due, [&] {
                return stop_ || sign_soon_ || committed_ > tree_.size() || sign_wanted_ > 0 || offer_new_;
            });
            stopping = stop_;
            // Taken once: a request that cannot be met (failing store) times out rather than spins.
            wanted = std::exchange(sign_wanted_, 0);
        }
        bool healthy = true;
        while (healthy && tree_.size() < store_.head().position.value) {
            healthy = catch_up(catch_up_slice);
            if (tree_.size() - signed_size_ >= options_.every) sign_now();
            std::lock_guard lock(mutex_);
            if (stop_ && !stopping) break;  // one more pass below finishes up
        }
        const bool interval_passed = std::chrono::steady_clock::now() >= signed_at_ + options_.interval;
        bool soon = false;
        {
            std::lock_guard lock(mutex_);
            soon = sign_soon_;
        }
        if (verification_) verify_offered();
        if (stopping || interval_passed || (soon && healthy) || (wanted > 0 && tree_.size() >= wanted)) sign_now();
        if (interval_passed) signed_at_ = std::chrono::steady_clock::now();
        if (stopping) return;
        if (!healthy) {
            // A failing store: retry after a pause rather than spin.
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
        }
    }
}

es::result<loaded_key> load_or_create_signing_key(const std::filesystem::path& path, const std::string& name) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto k = es::signing_key::load(path, name);
        if (!k) return k.error();
        return loaded_key{std::move(*k), false};
    }
    auto k = es::signing_key::generate(name);
    if (!k) return k.error();
    if (auto r = k->save(path); !r) return r.error();
    return loaded_key{std::move(*k), true};
}

namespace {

std::string hex_id(std::uint32_t id) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", id);
    return hex;
}

es::error key_file_error(std::string what) { return es::error{es::errc::invalid_argument, std::move(what), {}, 0, 0}; }

// A rename is durable only once its directory is.
es::result<void> sync_dir(const std::filesystem::path& file) {
    const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return key_file_error("cannot open the directory " + dir.string());
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return key_file_error("cannot fsync the directory " + dir.string());
    return {};
}

es::result<void> rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    if (std::filesystem::exists(to, ec)) return key_file_error(to.string() + " exists; a key is never replaced");
    if (std::rename(from.c_str(), to.c_str()) != 0)
        return key_file_error("cannot rename " + from.string() + " to " + to.string());
    return sync_dir(to);
}

}  // namespace

std::filesystem::path next_key_path(const std::filesystem::path& path, std::uint32_t key_id) {
    return path.string() + ".next-" + hex_id(key_id);
}

std::filesystem::path retired_key_path(const std::filesystem::path& path, std::uint32_t key_id) {
    return path.string() + ".retired-" + hex_id(key_id);
}

es::result<void> install_next_key(const std::filesystem::path& path, const std::string& name, std::uint32_t key_id) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto current = es::signing_key::load(path, name);
        if (!current) return current.error();
        if (current->key_id() == key_id) return {};  // installed already
        if (auto r = rename_durably(path, retired_key_path(path, current->key_id())); !r) return r;
    }
    return rename_durably(next_key_path(path, key_id), path);
}

es::result<std::string> reconcile_signing_key(const std::filesystem::path& path, const std::string& name,
                                              const std::optional<std::string>& latest_rotation) {
    std::string done;
    std::optional<es::verifier_key> logged;
    if (latest_rotation) {
        auto k = es::verifier_key::parse(*latest_rotation);
        if (!k) return key_file_error("the log's latest key rotation names no valid key: " + k.error().message);
        logged = *k;
        std::error_code ec;
        std::optional<std::uint32_t> current;
        if (std::filesystem::exists(path, ec)) {
            auto c = es::signing_key::load(path, name);
            if (!c) return c.error();
            current = c->key_id();
            if (c->verifier() != *logged && c->key_id() == logged->key_id)
                return key_file_error(path.string() + " holds another key with the logged key's id");
        }
        if (current != logged->key_id) {
            const auto next = next_key_path(path, logged->key_id);
            auto n = es::signing_key::load(next, name);
            if (!n || n->verifier() != *logged)
                return key_file_error("the log says the signing key is " + logged->to_string() + " but neither " +
                                      path.string() + " nor " + next.string() +
                                      " holds it; restore that key file (a new key would not verify)");
            if (auto r = install_next_key(path, name, logged->key_id); !r) return r.error();
            done = "installed the rotated key " + logged->to_string() + " the log names (after a crash)";
        }
    }
    // Next keys the log never named: a rotation that crashed before its event was durable.
    std::error_code ec;
    const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const std::string prefix = path.filename().string() + ".next-";
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const auto file = entry.path().filename().string();
        if (!file.starts_with(prefix)) continue;
        std::filesystem::remove(entry.path(), ec);
        if (!done.empty()) done += "; ";
        done += "removed " + file + " (a rotation that never reached the log)";
    }
    return done;
}

}  // namespace roster::api
