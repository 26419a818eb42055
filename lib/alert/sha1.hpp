// SHA-1 (FIPS 180-4) for Community ID v1 only: that spec fixes the hash, and
// a 70-line implementation avoids a crypto library dependency for 32-byte
// inputs. Not for anything that needs collision resistance.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace vtap::alert {

class Sha1 {
public:
    using Digest = std::array<uint8_t, 20>;

    void update(const void* data, size_t len) noexcept;
    Digest finish() noexcept;  // the object is spent afterwards

private:
    void block(const uint8_t* p) noexcept;

    uint32_t h_[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    uint8_t buf_[64] = {};
    size_t buf_len_ = 0;
    uint64_t total_ = 0;  // bytes
};

// RFC 4648 base64 with padding, appended to out[0..]; returns bytes written
// (4 * ceil(len / 3)). `out` must have room.
size_t base64_encode(const uint8_t* in, size_t len, char* out) noexcept;

}  // namespace vtap::alert
