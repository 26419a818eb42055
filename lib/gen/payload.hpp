// Application payload templates for synthetic conversations: HTTP/1.1,
// TLS-like records, DNS (with RFC 7830 padding to reach a size) and ICMP echo
// data. Each renders a message of an exact length from a seed, so a message
// can be re-rendered and sliced into segments at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vtap::gen {

enum class App : uint8_t { kHttp, kTls, kDns, kEcho };

struct MessageId {
    App app = App::kHttp;
    bool request = true;    // client to server
    uint64_t seed = 0;      // selects host, path, random bytes
    uint16_t txn = 0;       // DNS transaction id, echo sequence
};

// Bytes of a message that are filler (User-Agent comment, HTML body, TLS
// padding or ciphertext, DNS padding, echo pattern): overwriting them keeps
// the message well formed, so a planted signature goes there.
struct Filler {
    size_t begin = 0, end = 0;
};

// Renders exactly `len` bytes into `out` (cleared first). A template longer
// than `len` is cut; a shorter one is padded in the protocol's own way.
Filler render_message(const MessageId& id, size_t len, std::vector<uint8_t>& out);

// The host name a conversation talks about (HTTP Host, TLS SNI, DNS QNAME).
std::string_view host_name(uint64_t seed);

}  // namespace vtap::gen
