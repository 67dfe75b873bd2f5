#include "roster/eventstore/merkle.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>

namespace roster::eventstore {

namespace {

// One context per thread, reused: a fresh EVP context (and the implicit algorithm fetch of OpenSSL
// 3) per hash would cost more than the hash of 65 bytes itself.
class hasher {
public:
    hasher() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)), ctx_(EVP_MD_CTX_new()) {
        if (md_ == nullptr || ctx_ == nullptr) throw std::runtime_error("OpenSSL SHA-256 unavailable");
    }
    ~hasher() {
        EVP_MD_CTX_free(ctx_);
        EVP_MD_free(md_);
    }
    hasher(const hasher&) = delete;
    hasher& operator=(const hasher&) = delete;

    hash256 digest(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b = {}) {
        hash256 out{};
        unsigned int len = 0;
        // A failure here means a broken OpenSSL installation: a bug, not an expected failure.
        if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, a.data(), a.size()) != 1 ||
            (!b.empty() && EVP_DigestUpdate(ctx_, b.data(), b.size()) != 1) ||
            EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size())
            throw std::runtime_error("OpenSSL SHA-256 failed");
        return out;
    }

private:
    EVP_MD* md_;
    EVP_MD_CTX* ctx_;
};

hasher& thread_hasher() {
    thread_local hasher h;
    return h;
}

error bad_argument(std::string message) { return error{errc::invalid_argument, std::move(message), {}, 0, 0}; }
error bad_proof(std::string message) { return error{errc::corrupt, std::move(message), {}, 0, 0}; }

// The largest power of two strictly below size (size >= 2): RFC 9162's k, where MTH splits.
std::uint64_t split_point(std::uint64_t size) { return std::bit_floor(size - 1); }

unsigned log2_of(std::uint64_t power_of_two) { return static_cast<unsigned>(std::countr_zero(power_of_two)); }

// MTH(D[lo:hi]) for hi > lo with lo a multiple of bit_ceil(hi - lo), as every range met while
// descending from [0, n) is. Such a range is a run of perfect subtrees, largest first (one per set
// bit of hi - lo), which MTH folds from the right.
result<hash256> range_hash(std::uint64_t lo, std::uint64_t hi, subtree_source& source) {
    std::array<hash256, 64> pieces;
    std::size_t count = 0;
    std::uint64_t pos = lo;
    for (std::uint64_t rest = hi - lo; rest != 0;) {
        const std::uint64_t width = std::bit_floor(rest);
        const unsigned level = log2_of(width);
        auto h = source.subtree(level, pos >> level);
        if (!h) return h.error();
        pieces[count++] = *h;
        pos += width;
        rest -= width;
    }
    hash256 acc = pieces[count - 1];
    for (std::size_t i = count - 1; i-- > 0;) acc = node_hash(pieces[i], acc);
    return acc;
}

}  // namespace

hash256 leaf_hash(std::span<const std::uint8_t> data) {
    static constexpr std::uint8_t prefix[1] = {0x00};
    return thread_hasher().digest(prefix, data);
}

hash256 node_hash(const hash256& left, const hash256& right) {
    std::array<std::uint8_t, 65> buf;
    buf[0] = 0x01;
    std::copy(left.begin(), left.end(), buf.begin() + 1);
    std::copy(right.begin(), right.end(), buf.begin() + 33);
    return thread_hasher().digest(buf);
}

hash256 empty_root() {
    // SHA-256(""), a constant.
    static constexpr hash256 h = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                                  0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                                  0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    return h;
}

result<hash256> root(std::uint64_t n, subtree_source& source) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    if (n == 0) return empty_root();
    return range_hash(0, n, source);
}

// Descends from [0, n) towards the leaf as PATH does, collecting the sibling at each split. Only
// the first left turn meets a sibling that is not a perfect subtree (the right part of a split,
// popcount look-ups); below it every range is perfect, so every sibling is one look-up.
result<std::vector<hash256>> inclusion_proof(std::uint64_t leaf_index, std::uint64_t n, subtree_source& source) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    if (leaf_index >= n)
        return bad_argument("leaf " + std::to_string(leaf_index) + " is not in a tree of " + std::to_string(n));
    std::vector<hash256> path;
    path.reserve(static_cast<std::size_t>(std::bit_width(n - 1)));
    std::uint64_t lo = 0;
    std::uint64_t hi = n;
    while (hi - lo > 1) {
        const std::uint64_t k = split_point(hi - lo);
        if (leaf_index < lo + k) {
            auto sibling = range_hash(lo + k, hi, source);
            if (!sibling) return sibling.error();
            path.push_back(*sibling);
            hi = lo + k;
        } else {
            auto sibling = source.subtree(log2_of(k), lo >> log2_of(k));
            if (!sibling) return sibling.error();
            path.push_back(*sibling);
            lo += k;
        }
    }
    // PATH lists the nearest sibling first; the descent found it last.
    std::reverse(path.begin(), path.end());
    return path;
}

// SUBPROOF(m, D[0:n], true) unrolled: descend while m splits the range, collecting siblings; where
// m ends exactly at a range's end, that range's root closes the proof unless it is the old root
// itself (b = true: no right turn was taken yet, so the verifier already holds it).
result<std::vector<hash256>> consistency_proof(std::uint64_t m, std::uint64_t n, subtree_source& source) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    if (m == 0 || m > n)
        return bad_argument("no consistency proof from " + std::to_string(m) + " to " + std::to_string(n));
    std::vector<hash256> path;
    if (m == n) return path;
    path.reserve(static_cast<std::size_t>(std::bit_width(n - 1)) + 1);
    std::uint64_t lo = 0;
    std::uint64_t hi = n;
    bool whole_old_tree = true;
    for (;;) {
        if (m == hi) {
            if (!whole_old_tree) {
                // Every range below a split is perfect, and m == hi < n means we split at least once.
                const unsigned level = log2_of(hi - lo);
                auto h = source.subtree(level, lo >> level);
                if (!h) return h.error();
                path.push_back(*h);
            }
            break;
        }
        const std::uint64_t k = split_point(hi - lo);
        if (m - lo <= k) {
            auto sibling = range_hash(lo + k, hi, source);
            if (!sibling) return sibling.error();
            path.push_back(*sibling);
            hi = lo + k;
        } else {
            auto sibling = source.subtree(log2_of(k), lo >> log2_of(k));
            if (!sibling) return sibling.error();
            path.push_back(*sibling);
            lo += k;
            whole_old_tree = false;
        }
    }
    std::reverse(path.begin(), path.end());
    return path;
}

result<void> verify_inclusion(const hash256& leaf, std::uint64_t index, std::uint64_t n, std::span<const hash256> proof,
                              const hash256& root) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    if (index >= n) return bad_argument("leaf " + std::to_string(index) + " is not in a tree of " + std::to_string(n));
    std::uint64_t fn = index;
    std::uint64_t sn = n - 1;
    hash256 r = leaf;
    for (const hash256& p : proof) {
        if (sn == 0) return bad_proof("inclusion proof is too long");
        if ((fn & 1) != 0 || fn == sn) {
            r = node_hash(p, r);
            if ((fn & 1) == 0) {
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(r, p);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return bad_proof("inclusion proof is too short");
    if (r != root) return bad_proof("inclusion proof does not lead to the root");
    return {};
}

result<void> verify_consistency(std::uint64_t m, std::uint64_t n, const hash256& root_m, const hash256& root_n,
                                std::span<const hash256> proof) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    if (m == 0 || m > n)
        return bad_argument("no consistency proof from " + std::to_string(m) + " to " + std::to_string(n));
    if (m == n) {
        if (!proof.empty()) return bad_proof("consistency proof between equal sizes must be empty");
        if (root_m != root_n) return bad_proof("different roots for the same tree size");
        return {};
    }
    if (proof.empty()) return bad_proof("consistency proof is empty");
    // A valid proof has at most 64 hashes; refusing longer ones bounds the work an input can cause.
    if (proof.size() > 64) return bad_proof("consistency proof is too long");
    // An old tree of 2^k leaves is a node of the new one, which the proof leaves out: the verifier
    // holds it as root_m, so it seeds the path.
    const bool seeded = std::has_single_bit(m);
    std::size_t next = seeded ? 0 : 1;
    const hash256& first = seeded ? root_m : proof[0];
    std::uint64_t fn = m - 1;
    std::uint64_t sn = n - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    hash256 fr = first;
    hash256 sr = first;
    for (; next < proof.size(); ++next) {
        const hash256& c = proof[next];
        if (sn == 0) return bad_proof("consistency proof is too long");
        if ((fn & 1) != 0 || fn == sn) {
            fr = node_hash(c, fr);
            sr = node_hash(c, sr);
            if ((fn & 1) == 0) {
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(sr, c);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) return bad_proof("consistency proof is too short");
    if (fr != root_m) return bad_proof("consistency proof does not lead to the old root");
    if (sr != root_n) return bad_proof("consistency proof does not lead to the new root");
    return {};
}

result<merkle_appender> merkle_appender::resume(std::uint64_t n, subtree_source& source) {
    if (n > max_tree_size) return bad_argument("tree size " + std::to_string(n) + " is too large");
    merkle_appender a;
    std::uint64_t pos = 0;
    for (std::uint64_t rest = n; rest != 0;) {
        const std::uint64_t width = std::bit_floor(rest);
        const unsigned level = log2_of(width);
        auto h = source.subtree(level, pos >> level);
        if (!h) return h.error();
        a.border_.push_back(subtree_node{level, pos >> level, *h});
        pos += width;
        rest -= width;
    }
    a.size_ = n;
    return a;
}

result<std::span<const subtree_node>> merkle_appender::append(const hash256& leaf) {
    if (size_ >= max_tree_size) return bad_argument("the tree is full");
    completed_.clear();
    subtree_node node{0, size_, leaf};
    completed_.push_back(node);
    // Equal neighbours on the border are siblings: merge them into their parent, which is complete.
    while (!border_.empty() && border_.back().level == node.level) {
        node = subtree_node{node.level + 1, node.index >> 1, node_hash(border_.back().hash, node.hash)};
        border_.pop_back();
        completed_.push_back(node);
    }
    border_.push_back(node);
    ++size_;
    return std::span<const subtree_node>(completed_);
}

hash256 merkle_appender::root() const {
    if (border_.empty()) return empty_root();
    hash256 acc = border_.back().hash;
    for (std::size_t i = border_.size() - 1; i-- > 0;) acc = node_hash(border_[i].hash, acc);
    return acc;
}

}  // namespace roster::eventstore
