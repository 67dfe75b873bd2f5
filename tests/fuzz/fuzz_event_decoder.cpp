// libFuzzer target: eventstore::decode_event on arbitrary bytes (what a damaged or tampered
// RocksDB value would hold). Invariants: no crash and no exception; a refusal is errc::corrupt;
// an accepted payload re-encodes canonically: encode(decode(x)) decodes to the same event and
// encodes to the same bytes again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "roster/eventstore/codec.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_event_decoder: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace roster::eventstore;
    // RocksDB values carry no alignment: give the decoder a deliberately misaligned view that
    // ends exactly at the end of its heap block, so ASan sees any read past it.
    auto block = std::make_unique<char[]>(size + 1);
    if (size) std::memcpy(block.get() + 1, data, size);
    const std::string_view bytes(block.get() + 1, size);

    auto decoded = decode_event(bytes);
    if (!decoded) {
        if (decoded.error().code != errc::corrupt) fail("a refusal that is not errc::corrupt");
        return 0;
    }
    const std::string canonical = encode_event(*decoded);
    auto again = decode_event(canonical);
    if (!again) {
        std::fprintf(stderr, "decoded %s; its encoding: %s\n", std::string(roster::domain::type_name(*decoded)).c_str(),
                     again.error().message.c_str());
        fail("the re-encoding of a decoded event does not decode");
    }
    if (!(*again == *decoded)) fail("decode(encode(e)) != e");
    if (encode_event(*again) != canonical) fail("the encoding is not canonical (encode(decode(encode(e))) differs)");
    return 0;
}
