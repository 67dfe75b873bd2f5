// RFC 9162 §2.1 Merkle tree over the event log: hashing, the appender a writer keeps the tree with,
// proofs built from stored complete subtrees, and the verifiers an outsider runs.
// Pure functions and values; a merkle_appender is owned by one writer and is not thread-safe.
// The functions taking a subtree_source are as thread-safe as that source.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "roster/eventstore/errors.hpp"

namespace roster::eventstore {

// Same type as store.hpp's hash256 (an alias may be declared twice).
using hash256 = std::array<std::uint8_t, 32>;

// SHA-256(0x00 || data): the leading byte keeps a leaf from ever passing for an inner node.
hash256 leaf_hash(std::span<const std::uint8_t> data);
// SHA-256(0x01 || left || right).
hash256 node_hash(const hash256& left, const hash256& right);
// MTH({}) = SHA-256 of the empty string.
hash256 empty_root();

// The deepest tree the functions here handle: 2^63 leaves is more than any log will hold, and it
// keeps every shift below 64 bits.
inline constexpr std::uint64_t max_tree_size = std::uint64_t{1} << 63;

// Where the complete (perfect) subtrees of the log's tree live; the writer persists what the
// merkle_appender yields, so a proof needs O(log n) look-ups and never a rehash of the leaves.
class subtree_source {
public:
    virtual ~subtree_source() = default;
    // The root of the perfect subtree over leaves [index * 2^level, (index + 1) * 2^level); level 0
    // is the leaf hash. Only asked for subtrees wholly inside the tree size the caller named.
    // A miss or a read failure is an error value (storage_unavailable, corrupt, ...), passed on as is.
    virtual result<hash256> subtree(unsigned level, std::uint64_t index) = 0;
};

// MTH(D[0:n]) in popcount(n) look-ups.
result<hash256> root(std::uint64_t n, subtree_source& source);

// RFC 9162 §2.1.3.1 PATH(leaf_index, D[0:n]), nearest sibling first; at most 63 hashes and
// 2·log2(n) look-ups. invalid_argument unless leaf_index < n <= max_tree_size.
result<std::vector<hash256>> inclusion_proof(std::uint64_t leaf_index, std::uint64_t n, subtree_source& source);

// RFC 9162 §2.1.4.1 PROOF(m, D[0:n]); empty when m == n. invalid_argument unless 0 < m <= n <=
// max_tree_size (nothing can be proven about the empty tree: every tree extends it).
result<std::vector<hash256>> consistency_proof(std::uint64_t m, std::uint64_t n, subtree_source& source);

// RFC 9162 §2.1.3.2. invalid_argument when index >= n or n > max_tree_size; corrupt when the
// proof does not lead from leaf to root (wrong length, wrong hash, wrong position).
result<void> verify_inclusion(const hash256& leaf, std::uint64_t index, std::uint64_t n, std::span<const hash256> proof,
                              const hash256& root);

// RFC 9162 §2.1.4.2, plus m == n (proof empty and equal roots). invalid_argument unless
// 0 < m <= n <= max_tree_size; corrupt when the proof does not show root_n extends root_m.
result<void> verify_consistency(std::uint64_t m, std::uint64_t n, const hash256& root_m, const hash256& root_n,
                                std::span<const hash256> proof);

// One complete subtree, as the writer stores it: the key of subtree_source::subtree and its hash.
struct subtree_node {
    unsigned level = 0;
    std::uint64_t index = 0;
    hash256 hash{};

    friend bool operator==(const subtree_node&, const subtree_node&) = default;
};

// The compact range [0, n) of the log's tree: the roots of its perfect subtrees, largest first
// (one per set bit of n, so at most 64 hashes). Appending a leaf completes 1 + ctz(n + 1) subtrees,
// which the writer persists (in the same batch as the event) for later proofs.
class merkle_appender {
public:
    merkle_appender() = default;

    // Picks up a tree of n leaves from its stored subtrees (popcount(n) look-ups).
    static result<merkle_appender> resume(std::uint64_t n, subtree_source& source);

    // Appends the next leaf (its leaf_hash). The subtrees it completed, level 0 first, stay valid
    // until the next append. invalid_argument once the tree holds max_tree_size leaves.
    result<std::span<const subtree_node>> append(const hash256& leaf);

    std::uint64_t size() const noexcept { return size_; }
    // MTH(D[0:size()]): folds the border, popcount(size()) - 1 hashes.
    hash256 root() const;
    // The border subtrees, largest first (what resume reads back).
    std::span<const subtree_node> border() const noexcept { return border_; }

private:
    std::uint64_t size_ = 0;
    std::vector<subtree_node> border_;     // largest first; never more than 64
    std::vector<subtree_node> completed_;  // the last append's output; never more than 64
};

}  // namespace roster::eventstore
