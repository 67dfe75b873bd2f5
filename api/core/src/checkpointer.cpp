#include "roster/api/checkpointer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <utility>

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
    : store_(store), key_(std::move(key)), options_(std::move(options)), on_error_(std::move(on_error)) {
    options_.every = std::max<std::uint64_t>(1, options_.every);
}

checkpointer::~checkpointer() { stop(); }

void checkpointer::report(std::string_view message) {
    if (on_error_) on_error_(message);
}

es::result<void> checkpointer::start() {
    if (auto note = store_.get_meta(latest_key)) {
        const es::verifier_key mine = key_.verifier();
        auto body = es::open_checkpoint(*note, std::span(&mine, 1));
        // A checkpoint this key did not sign (the key file was replaced) is not served again.
        if (body) {
            latest_ = signed_checkpoint{*note, *body};
            signed_size_ = body->size;
        } else {
            report("the stored checkpoint does not verify with the signing key; it is not served: " +
                   body.error().message);
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
    signed_wake_.notify_all();
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
    if (!signed_wake_.wait_for(lock, timeout, [&] { return covers() || stop_; }) || !covers()) return std::nullopt;
    return latest_;
}

bool checkpointer::persist_block() {
    std::string leaves;
    leaves.reserve(block_leaves * 32);
    for (const auto& h : block_) leaves.append(reinterpret_cast<const char*>(h.data()), h.size());
    const std::uint64_t b = (tree_.size() - 1) >> merkle_block_bits;
    if (auto r = store_.put_meta(block_key(b), leaves); !r)
        return report("merkle block write failed: " + r.error().message), false;
    for (const auto& n : upper_)
        if (auto r = store_.put_meta(node_key(n.level, n.index),
                                     std::string_view(reinterpret_cast<const char*>(n.hash.data()), n.hash.size()));
            !r)
            return report("merkle subtree write failed: " + r.error().message), false;
    // Last: a resume trusts everything below this size.
    if (auto r = store_.put_meta(size_key, std::to_string(tree_.size())); !r)
        return report("merkle size write failed: " + r.error().message), false;
    block_.clear();
    upper_.clear();
    return true;
}

bool checkpointer::catch_up(std::size_t max_leaves) {
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
        if (block_.size() == block_leaves && !persist_block()) return ok = false;
        size_ = tree_.size();
        return true;
    });
    if (!r) {
        report("reading the log for the merkle tree failed: " + r.error().message);
        return false;
    }
    return ok;
}

void checkpointer::sign_now() {
    if (tree_.size() == 0 || tree_.size() == signed_size_) return;
    es::checkpoint c;
    c.origin = options_.origin;
    c.size = tree_.size();
    c.root = tree_.root();
    const auto now = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    c.extensions.push_back("timestamp " + std::to_string(now.time_since_epoch().count()));
    auto note = es::sign_checkpoint(c, key_);
    if (!note) return report("signing a checkpoint failed: " + note.error().message);
    if (auto r = store_.put_meta(latest_key, *note); !r)
        return report("storing a checkpoint failed: " + r.error().message);
    signed_size_ = c.size;
    signed_at_ = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        latest_ = signed_checkpoint{std::move(*note), std::move(c)};
    }
    signed_wake_.notify_all();
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
            wake_.wait_until(lock, due, [&] { return stop_ || committed_ > tree_.size() || sign_wanted_ > 0; });
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
        if (stopping || interval_passed || (wanted > 0 && tree_.size() >= wanted)) sign_now();
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

}  // namespace roster::api
