#include "gen/payload.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "gen/net.hpp"
#include "gen/rng.hpp"

namespace vtap::gen {
namespace {

constexpr std::array<std::string_view, 8> kHosts = {
    "www.example.com",    "api.example.net",     "cdn.example.org",    "login.example.com",
    "updates.example.net", "mail.example.org",   "static.example.com", "telemetry.example.net"};
constexpr std::array<std::string_view, 7> kPaths = {
    "/", "/index.html", "/api/v1/items?id=4711", "/static/app.js", "/login", "/images/logo.png",
    "/search?q=vxlan+tap"};
constexpr std::array<std::string_view, 12> kWords = {
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
    "sed", "do", "eiusmod", "tempor"};
constexpr std::string_view kAlnum = "abcdefghijklmnopqrstuvwxyz0123456789";
constexpr size_t kTlsRecordMax = 5 + 16384;  // header + largest plaintext fragment (RFC 8446 5.1)

void append(std::vector<uint8_t>& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }
void append16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}
void random_bytes(Rng& rng, std::vector<uint8_t>& out, size_t n) {
    uint64_t word = 0;
    for (size_t i = 0; i < n; ++i, word >>= 8) {
        if (i % 8 == 0) word = rng.next();
        out.push_back(static_cast<uint8_t>(word));
    }
}
// Cuts or zero-pads to exactly len.
void fit(std::vector<uint8_t>& out, size_t len) { out.resize(len, 0); }

void http_request(const MessageId& id, Rng& rng, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    std::string head = std::string("GET ") + std::string(kPaths[rng.below(kPaths.size())]) + " HTTP/1.1\r\nHost: " +
                       std::string(host_name(id.seed)) +
                       "\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: vtap-pcap/1.0 (";
    std::string_view tail = ")\r\nConnection: keep-alive\r\n\r\n";
    append(out, head);
    // The User-Agent comment absorbs the size difference so the request stays well formed.
    fill.begin = out.size();
    for (size_t i = head.size() + tail.size(); i < len; ++i) out.push_back(static_cast<uint8_t>(kAlnum[rng.below(kAlnum.size())]));
    fill.end = out.size();
    append(out, tail);
    fit(out, len);
}

void http_response(Rng& rng, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    std::string_view base = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: ";
    size_t body = 0;
    for (size_t digits = 1; digits < 8; ++digits) {
        size_t hl = base.size() + digits + 4;
        if (len < hl) break;
        if (std::to_string(len - hl).size() == digits) {
            body = len - hl;
            break;
        }
    }
    append(out, base);
    append(out, std::to_string(body));
    append(out, "\r\n\r\n");
    std::string text = "<html><body><p>";
    while (text.size() < body) {
        text += kWords[rng.below(kWords.size())];
        text += ' ';
    }
    if (body >= 18) text.replace(body - 18, std::string::npos, "</p></body></html>");
    fill = {out.size() + 15, out.size() + (body >= 18 ? body - 18 : 0)};
    append(out, std::string_view(text).substr(0, body));
    fit(out, len);
}

// TLS records: one handshake record, then application data records of at
// most 16 KiB each; a remainder too small for a record header goes to the
// handshake's padding (RFC 7685) or the previous record.
void tls_records(Rng& rng, std::vector<uint8_t>& out, size_t len, Filler& fill) {
    while (out.size() < len) {
        size_t rest = len - out.size();
        size_t n = std::min(rest, kTlsRecordMax);
        if (rest - n > 0 && rest - n < 6) n -= 6;
        if (n < 6) {
            random_bytes(rng, out, n);
            break;
        }
        out.push_back(0x17);  // application_data
        append16(out, 0x0303);
        append16(out, static_cast<uint16_t>(n - 5));
        if (fill.begin == fill.end) fill = {out.size(), out.size() + n - 5};
        random_bytes(rng, out, n - 5);
    }
}

void tls_client(const MessageId& id, Rng& rng, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    if (id.txn > 0) return tls_records(rng, out, len, fill);
    std::string_view host = host_name(id.seed);
    std::vector<uint8_t> ext;
    append16(ext, 0x0000);  // server_name
    append16(ext, static_cast<uint16_t>(host.size() + 5));
    append16(ext, static_cast<uint16_t>(host.size() + 3));
    ext.push_back(0);
    append16(ext, static_cast<uint16_t>(host.size()));
    append(ext, host);
    std::vector<uint8_t> body = {0x03, 0x03};
    random_bytes(rng, body, 32);
    body.push_back(32);
    random_bytes(rng, body, 32);
    for (uint16_t v : {uint16_t{6}, uint16_t{0x1301}, uint16_t{0x1302}, uint16_t{0xc02f}}) append16(body, v);
    body.push_back(1);
    body.push_back(0);
    constexpr size_t kHelloTarget = 517;  // a typical browser ClientHello record
    size_t fixed = 5 + 4 + body.size() + 2 + ext.size();
    size_t target = std::min(len, kHelloTarget);
    if (len - target < 6) target = len;
    size_t pad = 0;
    if (target >= fixed + 4) {
        pad = target - fixed - 4;
        append16(ext, 0x0015);  // padding
        append16(ext, static_cast<uint16_t>(pad));
        ext.insert(ext.end(), pad, 0);
    }
    append16(body, static_cast<uint16_t>(ext.size()));
    body.insert(body.end(), ext.begin(), ext.end());
    out.push_back(0x16);  // handshake
    append16(out, 0x0301);
    append16(out, static_cast<uint16_t>(body.size() + 4));
    out.push_back(0x01);  // ClientHello
    out.push_back(0);
    append16(out, static_cast<uint16_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
    fill = {out.size() - pad, out.size()};  // the padding extension's zeros
    if (out.size() >= len) return fit(out, len);
    tls_records(rng, out, len, fill);
}

void tls_server(const MessageId& id, Rng& rng, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    if (id.txn == 0) {
        std::vector<uint8_t> body = {0x03, 0x03};
        random_bytes(rng, body, 32);
        body.push_back(32);
        random_bytes(rng, body, 32);
        append16(body, 0x1301);
        body.push_back(0);
        append16(body, 0);
        out.push_back(0x16);
        append16(out, 0x0303);
        append16(out, static_cast<uint16_t>(body.size() + 4));
        out.push_back(0x02);  // ServerHello
        out.push_back(0);
        append16(out, static_cast<uint16_t>(body.size()));
        out.insert(out.end(), body.begin(), body.end());
        for (uint8_t b : {0x14, 0x03, 0x03, 0x00, 0x01, 0x01}) out.push_back(b);  // ChangeCipherSpec
        if (out.size() >= len) return fit(out, len);
        if (len - out.size() < 6) return random_bytes(rng, out, len - out.size());
    }
    tls_records(rng, out, len, fill);
}

// DNS (RFC 1035 4.1) with an EDNS(0) OPT record whose padding option
// (RFC 7830) stretches the message to the wanted size.
void dns(const MessageId& id, Rng& rng, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    std::vector<uint8_t> q;
    std::string_view host = host_name(id.seed);
    for (size_t start = 0; start <= host.size();) {
        size_t dot = std::min(host.find('.', start), host.size());
        q.push_back(static_cast<uint8_t>(dot - start));
        append(q, host.substr(start, dot - start));
        start = dot + 1;
    }
    q.push_back(0);
    append16(q, 1);  // A
    append16(q, 1);  // IN
    std::vector<uint8_t> answer;
    if (!id.request) {
        append16(answer, 0xc00c);  // pointer to the question name
        append16(answer, 1);
        append16(answer, 1);
        for (uint8_t b : {0, 0, 1, 44, 0, 4, 198, 19}) answer.push_back(b);  // TTL 300, RDLENGTH 4
        answer.push_back(static_cast<uint8_t>(rng.below(256)));
        answer.push_back(static_cast<uint8_t>(1 + rng.below(254)));
    }
    size_t natural = 12 + q.size() + answer.size();
    bool opt = len >= natural + 15 && len - natural - 15 <= 0xffff;
    append16(out, static_cast<uint16_t>(mix_seed(id.seed, id.txn)));
    append16(out, id.request ? 0x0100 : 0x8180);
    append16(out, 1);
    append16(out, id.request ? 0 : 1);
    append16(out, 0);
    append16(out, opt ? 1 : 0);
    out.insert(out.end(), q.begin(), q.end());
    out.insert(out.end(), answer.begin(), answer.end());
    if (opt) {
        size_t pad = len - natural - 15;
        for (uint8_t b : {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0}) out.push_back(b);  // root, OPT, 1232, TTL 0
        append16(out, static_cast<uint16_t>(4 + pad));
        append16(out, 12);  // Padding
        append16(out, static_cast<uint16_t>(pad));
        out.insert(out.end(), pad, 0);
        fill = {out.size() - pad, out.size()};
    }
    fit(out, len);
}

// Like ping: 8 bytes of timestamp, then an incrementing byte pattern. The
// reply echoes the request's data (RFC 792), so the seed alone decides it.
void echo(const MessageId& id, size_t len, std::vector<uint8_t>& out, Filler& fill) {
    uint64_t ts = mix_seed(id.seed, id.txn);
    for (size_t i = 0; i < len; ++i) out.push_back(i < 8 ? static_cast<uint8_t>(ts >> (8 * i)) : static_cast<uint8_t>(i));
    fill = {8, len};
}

}  // namespace

std::string_view host_name(uint64_t seed) { return kHosts[mix_seed(seed, 0x4057) % kHosts.size()]; }

Filler render_message(const MessageId& id, size_t len, std::vector<uint8_t>& out) {
    out.clear();
    out.reserve(len);
    Rng rng(mix_seed(id.seed, uint64_t{id.txn} << 1 | (id.request ? 1 : 0)));
    Filler fill;
    switch (id.app) {
    case App::kHttp: id.request ? http_request(id, rng, len, out, fill) : http_response(rng, len, out, fill); break;
    case App::kTls: id.request ? tls_client(id, rng, len, out, fill) : tls_server(id, rng, len, out, fill); break;
    case App::kDns: dns(id, rng, len, out, fill); break;
    case App::kEcho: echo(id, len, out, fill); break;
    }
    // A template cut short may have lost its filler.
    fill.end = std::min(fill.end, out.size());
    fill.begin = std::min(fill.begin, fill.end);
    return fill;
}

}  // namespace vtap::gen
