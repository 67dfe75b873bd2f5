// RFC 9162 Merkle tree: transparency-dev reference vectors, and every proof for every tree of up to
// 70 leaves against a naive transcription of the RFC's recursive definitions.
#include "roster/eventstore/merkle.hpp"

#include <bit>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace roster::eventstore {
namespace {

hash256 hx(std::string_view hex) {
    hash256 out{};
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    return out;
}

std::vector<hash256> hxs(std::initializer_list<std::string_view> hexes) {
    std::vector<hash256> out;
    for (auto h : hexes) out.push_back(hx(h));
    return out;
}

// transparency-dev/merkle testonly/constants.go LeafInputs().
std::vector<std::vector<std::uint8_t>> reference_leaves() {
    return {{},
            {0x00},
            {0x10},
            {0x20, 0x21},
            {0x30, 0x31},
            {0x40, 0x41, 0x42, 0x43},
            {0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
            {0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f}};
}

// testonly/constants.go RootHashes(), by tree size 0..8.
const std::vector<hash256> reference_roots = hxs({
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
});

// testonly/constants.go NodeHashes(): [level][index] of every complete subtree of the 8 leaves.
const std::vector<std::vector<hash256>> reference_nodes = {
    hxs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
         "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
         "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
         "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
         "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
         "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
         "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
         "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"}),
    hxs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
         "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
         "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
         "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"}),
    hxs({"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
         "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}),
    hxs({"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"}),
};

// What the writer will keep in RocksDB: every subtree the appender completed. Counts look-ups.
class map_source : public subtree_source {
public:
    result<hash256> subtree(unsigned level, std::uint64_t index) override {
        ++lookups;
        auto it = nodes.find({level, index});
        if (it == nodes.end())
            return error{errc::corrupt, "no subtree " + std::to_string(level) + "/" + std::to_string(index), {}, 0, 0};
        return it->second;
    }
    std::map<std::pair<unsigned, std::uint64_t>, hash256> nodes;
    std::size_t lookups = 0;
};

// ---- naive RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 over leaf hashes ----------------------------------

using leaves_t = std::vector<hash256>;

std::uint64_t naive_split(std::uint64_t n) {
    std::uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
}

hash256 naive_mth(const leaves_t& d, std::uint64_t lo, std::uint64_t hi) {
    if (hi == lo) return empty_root();
    if (hi - lo == 1) return d[lo];
    const std::uint64_t k = naive_split(hi - lo);
    return node_hash(naive_mth(d, lo, lo + k), naive_mth(d, lo + k, hi));
}

std::vector<hash256> naive_path(std::uint64_t m, const leaves_t& d, std::uint64_t lo, std::uint64_t hi) {
    if (hi - lo <= 1) return {};
    const std::uint64_t k = naive_split(hi - lo);
    std::vector<hash256> out;
    if (m < k) {
        out = naive_path(m, d, lo, lo + k);
        out.push_back(naive_mth(d, lo + k, hi));
    } else {
        out = naive_path(m - k, d, lo + k, hi);
        out.push_back(naive_mth(d, lo, lo + k));
    }
    return out;
}

std::vector<hash256> naive_subproof(std::uint64_t m, const leaves_t& d, std::uint64_t lo, std::uint64_t hi, bool b) {
    const std::uint64_t n = hi - lo;
    if (m == n) {
        if (b) return {};
        return {naive_mth(d, lo, hi)};
    }
    const std::uint64_t k = naive_split(n);
    std::vector<hash256> out;
    if (m <= k) {
        out = naive_subproof(m, d, lo, lo + k, b);
        out.push_back(naive_mth(d, lo + k, hi));
    } else {
        out = naive_subproof(m - k, d, lo + k, hi, false);
        out.push_back(naive_mth(d, lo, lo + k));
    }
    return out;
}

// A tree of `count` leaves "leaf <i>", kept by an appender into a map_source.
struct built_tree {
    leaves_t leaves;
    std::vector<hash256> roots;  // by size, 0..count
    map_source source;
};

built_tree build(std::uint64_t count) {
    built_tree t;
    merkle_appender app;
    t.roots.push_back(app.root());
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::string data = "leaf " + std::to_string(i);
        const hash256 leaf = leaf_hash({reinterpret_cast<const std::uint8_t*>(data.data()), data.size()});
        t.leaves.push_back(leaf);
        auto done = app.append(leaf);
        EXPECT_TRUE(done.has_value());
        for (const auto& node : *done) t.source.nodes[{node.level, node.index}] = node.hash;
        t.roots.push_back(app.root());
    }
    return t;
}

hash256 flipped(hash256 h, std::size_t bit) {
    h[bit / 8 % 32] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    return h;
}

// ---- reference vectors -------------------------------------------------------------------------

TEST(merkle, hashing_matches_reference_leaves_nodes_and_roots) {
    const auto inputs = reference_leaves();
    EXPECT_EQ(empty_root(), reference_roots[0]);
    merkle_appender app;
    map_source source;
    EXPECT_EQ(app.root(), reference_roots[0]);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const hash256 leaf = leaf_hash(inputs[i]);
        EXPECT_EQ(leaf, reference_nodes[0][i]) << i;
        auto done = app.append(leaf);
        ASSERT_TRUE(done.has_value());
        // Appending leaf i completes exactly the subtrees whose last leaf is i.
        ASSERT_EQ(done->size(), 1u + static_cast<std::size_t>(std::countr_one(i)));
        for (const auto& node : *done) {
            EXPECT_EQ(node.hash, reference_nodes[node.level][node.index]) << node.level << "/" << node.index;
            source.nodes[{node.level, node.index}] = node.hash;
        }
        EXPECT_EQ(app.size(), i + 1);
        EXPECT_EQ(app.root(), reference_roots[i + 1]) << "size " << i + 1;
        auto r = root(i + 1, source);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(*r, reference_roots[i + 1]) << "size " << i + 1;
    }
    auto r0 = root(0, source);
    ASSERT_TRUE(r0.has_value());
    EXPECT_EQ(*r0, reference_roots[0]);
}

map_source reference_source() {
    map_source s;
    for (unsigned level = 0; level < reference_nodes.size(); ++level)
        for (std::uint64_t i = 0; i < reference_nodes[level].size(); ++i)
            s.nodes[{level, i}] = reference_nodes[level][i];
    return s;
}

// transparency-dev/merkle testdata/inclusion/{1,2,3,4}/happy-path.json.
TEST(merkle, inclusion_proofs_match_reference_vectors) {
    struct vec {
        std::uint64_t index, size;
        std::vector<hash256> proof;
    };
    const std::vector<vec> vectors = {
        {0, 8,
         hxs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
        {5, 8,
         hxs({"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
        {2, 3, hxs({"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"})},
        {1, 5,
         hxs({"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
        {0, 1, {}},
    };
    auto source = reference_source();
    for (const auto& v : vectors) {
        auto proof = inclusion_proof(v.index, v.size, source);
        ASSERT_TRUE(proof.has_value());
        EXPECT_EQ(*proof, v.proof) << v.index << " in " << v.size;
        EXPECT_TRUE(verify_inclusion(reference_nodes[0][v.index], v.index, v.size, v.proof, reference_roots[v.size])
                        .has_value());
    }
}

// transparency-dev/merkle testdata/consistency/{0,1,2,3,4}/happy-path.json.
TEST(merkle, consistency_proofs_match_reference_vectors) {
    struct vec {
        std::uint64_t m, n;
        std::vector<hash256> proof;
    };
    const std::vector<vec> vectors = {
        {1, 1, {}},
        {1, 8,
         hxs({"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
              "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"})},
        {6, 8,
         hxs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
        {2, 5,
         hxs({"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
              "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"})},
        {6, 7,
         hxs({"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
              "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
              "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"})},
    };
    auto source = reference_source();
    for (const auto& v : vectors) {
        auto proof = consistency_proof(v.m, v.n, source);
        ASSERT_TRUE(proof.has_value());
        EXPECT_EQ(*proof, v.proof) << v.m << " -> " << v.n;
        EXPECT_TRUE(verify_consistency(v.m, v.n, reference_roots[v.m], reference_roots[v.n], v.proof).has_value());
    }
}

// ---- properties against the naive definitions --------------------------------------------------

constexpr std::uint64_t max_property_size = 70;

TEST(merkle, roots_and_subtrees_equal_naive_for_every_size_up_to_70) {
    auto t = build(max_property_size);
    for (std::uint64_t n = 0; n <= max_property_size; ++n) {
        const hash256 want = naive_mth(t.leaves, 0, n);
        EXPECT_EQ(t.roots[n], want) << n;
        auto r = root(n, t.source);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(*r, want) << n;
    }
    // Every stored node is the naive root of the perfect subtree it names.
    for (const auto& [key, hash] : t.source.nodes) {
        const std::uint64_t lo = key.second << key.first;
        EXPECT_EQ(hash, naive_mth(t.leaves, lo, lo + (std::uint64_t{1} << key.first)));
    }
}

TEST(merkle, inclusion_proofs_equal_naive_verify_and_reject_tampering) {
    auto t = build(max_property_size + 1);
    for (std::uint64_t n = 1; n <= max_property_size; ++n) {
        for (std::uint64_t i = 0; i < n; ++i) {
            t.source.lookups = 0;
            auto proof = inclusion_proof(i, n, t.source);
            ASSERT_TRUE(proof.has_value()) << i << " in " << n;
            EXPECT_LE(t.source.lookups, 2u * static_cast<std::size_t>(std::bit_width(n))) << i << " in " << n;
            ASSERT_EQ(*proof, naive_path(i, t.leaves, 0, n)) << i << " in " << n;
            const auto& p = *proof;
            const hash256& leaf = t.leaves[i];
            ASSERT_TRUE(verify_inclusion(leaf, i, n, p, t.roots[n]).has_value()) << i << " in " << n;

            EXPECT_FALSE(verify_inclusion(flipped(leaf, 3), i, n, p, t.roots[n]).has_value());
            EXPECT_FALSE(verify_inclusion(leaf, i, n, p, flipped(t.roots[n], 200)).has_value());
            for (std::size_t k = 0; k < p.size(); ++k) {
                auto bad = p;
                bad[k] = flipped(bad[k], 7 * k + i);
                EXPECT_FALSE(verify_inclusion(leaf, i, n, bad, t.roots[n]).has_value())
                    << i << " in " << n << " @" << k;
            }
            for (std::uint64_t j = 0; j < n; ++j)
                if (j != i) {
                    EXPECT_FALSE(verify_inclusion(leaf, j, n, p, t.roots[n]).has_value())
                        << i << " as " << j << " in " << n;
                }
            // Against the root of a neighbouring size (what a checkpoint of that size would hold).
            if (i < n - 1) {
                EXPECT_FALSE(verify_inclusion(leaf, i, n - 1, p, t.roots[n - 1]).has_value());
            }
            EXPECT_FALSE(verify_inclusion(leaf, i, n + 1, p, t.roots[n + 1]).has_value());
            if (!p.empty()) {
                std::vector<hash256> shorter(p.begin(), p.end() - 1);
                EXPECT_FALSE(verify_inclusion(leaf, i, n, shorter, t.roots[n]).has_value());
                std::vector<hash256> headless(p.begin() + 1, p.end());
                EXPECT_FALSE(verify_inclusion(leaf, i, n, headless, t.roots[n]).has_value());
            }
            auto longer = p;
            longer.push_back(t.leaves[0]);
            EXPECT_FALSE(verify_inclusion(leaf, i, n, longer, t.roots[n]).has_value());
        }
    }
}

TEST(merkle, consistency_proofs_equal_naive_verify_and_reject_tampering) {
    auto t = build(max_property_size + 1);
    for (std::uint64_t n = 1; n <= max_property_size; ++n) {
        for (std::uint64_t m = 1; m <= n; ++m) {
            t.source.lookups = 0;
            auto proof = consistency_proof(m, n, t.source);
            ASSERT_TRUE(proof.has_value()) << m << " -> " << n;
            EXPECT_LE(t.source.lookups, 2u * static_cast<std::size_t>(std::bit_width(n)) + 1) << m << " -> " << n;
            ASSERT_EQ(*proof, naive_subproof(m, t.leaves, 0, n, true)) << m << " -> " << n;
            const auto& p = *proof;
            ASSERT_TRUE(verify_consistency(m, n, t.roots[m], t.roots[n], p).has_value()) << m << " -> " << n;

            EXPECT_FALSE(verify_consistency(m, n, flipped(t.roots[m], 1), t.roots[n], p).has_value());
            EXPECT_FALSE(verify_consistency(m, n, t.roots[m], flipped(t.roots[n], 9), p).has_value());
            for (std::size_t k = 0; k < p.size(); ++k) {
                auto bad = p;
                bad[k] = flipped(bad[k], 5 * k + m);
                EXPECT_FALSE(verify_consistency(m, n, t.roots[m], t.roots[n], bad).has_value())
                    << m << " -> " << n << " @" << k;
            }
            if (m > 1) {
                EXPECT_FALSE(verify_consistency(m - 1, n, t.roots[m - 1], t.roots[n], p).has_value());
            }
            if (m < n) {
                EXPECT_FALSE(verify_consistency(m + 1, n, t.roots[m + 1], t.roots[n], p).has_value());
            }
            if (n > m) {
                EXPECT_FALSE(verify_consistency(m, n - 1, t.roots[m], t.roots[n - 1], p).has_value());
            }
            EXPECT_FALSE(verify_consistency(m, n + 1, t.roots[m], t.roots[n + 1], p).has_value());
            if (!p.empty()) {
                std::vector<hash256> shorter(p.begin(), p.end() - 1);
                EXPECT_FALSE(verify_consistency(m, n, t.roots[m], t.roots[n], shorter).has_value());
                std::vector<hash256> headless(p.begin() + 1, p.end());
                EXPECT_FALSE(verify_consistency(m, n, t.roots[m], t.roots[n], headless).has_value());
            }
            auto longer = p;
            longer.push_back(t.leaves[0]);
            EXPECT_FALSE(verify_consistency(m, n, t.roots[m], t.roots[n], longer).has_value());
        }
    }
}

TEST(merkle, resumed_appender_continues_the_same_tree) {
    auto t = build(40);
    for (std::uint64_t n = 0; n <= 40; ++n) {
        auto app = merkle_appender::resume(n, t.source);
        ASSERT_TRUE(app.has_value()) << n;
        EXPECT_EQ(app->size(), n);
        EXPECT_EQ(app->root(), t.roots[n]);
        for (std::uint64_t i = n; i < 40; ++i) ASSERT_TRUE(app->append(t.leaves[i]).has_value());
        EXPECT_EQ(app->root(), t.roots[40]) << "resumed at " << n;
    }
}

// The writer's store will hold 10^6+ leaves: look-ups stay logarithmic, shifts never overflow.
class synthetic_source : public subtree_source {
public:
    result<hash256> subtree(unsigned level, std::uint64_t index) override {
        ++lookups;
        EXPECT_LT(level, 64u);
        hash256 h{};
        h[0] = static_cast<std::uint8_t>(level);
        for (int b = 0; b < 8; ++b) h[1 + b] = static_cast<std::uint8_t>(index >> (8 * b));
        return h;
    }
    std::size_t lookups = 0;
};

TEST(merkle, lookups_stay_logarithmic_in_huge_trees) {
    synthetic_source s;
    for (std::uint64_t n :
         {std::uint64_t{1'000'000}, (std::uint64_t{1} << 40) + 12345, max_tree_size - 1, max_tree_size}) {
        for (std::uint64_t i : {std::uint64_t{0}, n / 3, n / 2, n - 2, n - 1}) {
            s.lookups = 0;
            auto p = inclusion_proof(i, n, s);
            ASSERT_TRUE(p.has_value());
            EXPECT_LE(p->size(), 63u);
            EXPECT_LE(s.lookups, 2u * 64u);
            s.lookups = 0;
            auto c = consistency_proof(i + 1, n, s);
            ASSERT_TRUE(c.has_value());
            EXPECT_LE(c->size(), 64u);
            EXPECT_LE(s.lookups, 2u * 64u + 1);
        }
        s.lookups = 0;
        ASSERT_TRUE(root(n, s).has_value());
        EXPECT_EQ(s.lookups, static_cast<std::size_t>(std::popcount(n)));
    }
}

TEST(merkle, bad_arguments_are_values_not_exceptions) {
    map_source s;
    EXPECT_EQ(inclusion_proof(0, 0, s).error().code, errc::invalid_argument);
    EXPECT_EQ(inclusion_proof(5, 5, s).error().code, errc::invalid_argument);
    EXPECT_EQ(consistency_proof(0, 5, s).error().code, errc::invalid_argument);
    EXPECT_EQ(consistency_proof(6, 5, s).error().code, errc::invalid_argument);
    EXPECT_EQ(root(max_tree_size + 1, s).error().code, errc::invalid_argument);
    const hash256 h{};
    EXPECT_EQ(verify_inclusion(h, 3, 3, {}, h).error().code, errc::invalid_argument);
    EXPECT_EQ(verify_consistency(0, 3, h, h, {}).error().code, errc::invalid_argument);
    EXPECT_EQ(verify_consistency(4, 3, h, h, {}).error().code, errc::invalid_argument);
    EXPECT_EQ(verify_consistency(2, 3, h, h, {}).error().code, errc::corrupt);  // empty proof
    const std::vector<hash256> huge(1000, h);
    EXPECT_EQ(verify_consistency(2, 3, h, h, huge).error().code, errc::corrupt);
    EXPECT_EQ(verify_inclusion(h, 0, 3, huge, h).error().code, errc::corrupt);
    // Equal sizes: the proof is empty and the roots are equal.
    EXPECT_TRUE(verify_consistency(3, 3, h, h, {}).has_value());
    EXPECT_FALSE(verify_consistency(3, 3, h, flipped(h, 0), {}).has_value());
    EXPECT_FALSE(verify_consistency(3, 3, h, h, std::vector<hash256>{h}).has_value());
}

TEST(merkle, source_failures_pass_through) {
    map_source empty;  // holds nothing: every look-up is an error
    EXPECT_EQ(root(5, empty).error().code, errc::corrupt);
    EXPECT_EQ(inclusion_proof(1, 5, empty).error().code, errc::corrupt);
    EXPECT_EQ(consistency_proof(3, 5, empty).error().code, errc::corrupt);
    EXPECT_EQ(merkle_appender::resume(5, empty).error().code, errc::corrupt);
}

TEST(merkle, appender_refuses_to_grow_past_max_tree_size) {
    synthetic_source s;
    auto app = merkle_appender::resume(max_tree_size, s);
    ASSERT_TRUE(app.has_value());
    EXPECT_EQ(app->border().size(), 1u);
    EXPECT_EQ(app->append(hash256{}).error().code, errc::invalid_argument);
}

}  // namespace
}  // namespace roster::eventstore
