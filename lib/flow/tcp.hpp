// A TCP segment as the reassembler sees it, how to read one from a
// decapsulated frame, and the sink that receives a direction's in-order
// bytes. The sink is a plain function pointer plus context: no allocation,
// no std::function, one indirect call per delivered chunk.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include <netinet/in.h>

#include "core/pkt_meta.hpp"
#include "flow/flow.hpp"

namespace vtap::flow {

// TCP header flags (RFC 9293 s3.1), byte 13 of the header.
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

struct TcpSegment {
    uint32_t seq = 0;
    uint32_t ack = 0;  // meaningful when flags has kTcpAck
    uint8_t flags = 0;
    std::span<const uint8_t> payload;
};

// Reads the TCP header of a decapsulated frame of frame_len contiguous bytes
// (decap trims the frame to the inner IP packet, so the payload is
// [payload_off, frame_len)). False when the packet carries no whole TCP
// header: not TCP, a fragment, or offsets beyond frame_len.
inline bool parse_tcp(const uint8_t* frame, uint32_t frame_len, const PktMeta& m,
                      TcpSegment& out) noexcept {
    if (m.l4_proto != IPPROTO_TCP || (m.flags & (kFlagL4Header | kFlagFragment)) != kFlagL4Header)
        return false;
    if (uint32_t{m.l4_off} + 20 > frame_len || m.payload_off > frame_len || m.payload_off < m.l4_off + 20)
        return false;
    const uint8_t* t = frame + m.l4_off;
    uint32_t seq, ack;
    std::memcpy(&seq, t + 4, 4);
    std::memcpy(&ack, t + 8, 4);
    out.seq = ntohl(seq);
    out.ack = ntohl(ack);
    out.flags = t[13];
    out.payload = {frame + m.payload_off, frame_len - m.payload_off};
    return true;
}

// Suricata's stream_size of a direction (detect-stream_size.c reads
// next_seq - isn): 1, for the SYN or the ISN assumed one byte before a
// picked-up stream, plus the bytes delivered in order (a skipped hole counts,
// as it moves next_seq). FIN is not counted (Suricata adds 1 once it is seen).
//
// The size of seg's own direction once seg is processed, asked before
// FlowTable::tcp_segment processes it (detection's header checks run first):
// seg adds its payload when it is the next in order.
inline uint32_t stream_size_after(const Flow& f, Direction dir, const TcpSegment& seg) noexcept {
    const Stream& st = f.stream[index(dir)];
    const bool syn = seg.flags & kTcpSyn;
    const auto payload = static_cast<uint32_t>(seg.payload.size());
    if (!(st.flags & kStreamSeqKnown)) return syn ? 1 : 1 + payload;
    const uint32_t size = st.next_seq - st.isn;
    return !syn && seg.seq == st.next_seq ? size + payload : size;
}

// The other direction, which seg does not move. Before its first segment: 0,
// but 1 in a flow picked up mid-stream (Suricata takes that side's ISN from
// the first packet's ACK).
inline uint32_t stream_size_now(const Flow& f, Direction dir) noexcept {
    const Stream& st = f.stream[index(dir)];
    if (!(st.flags & kStreamSeqKnown)) return (f.flags & kFlowMidstream) ? 1 : 0;
    return st.next_seq - st.isn;
}

// No more stream bytes can come in dir: the connection was reset, or every
// byte before dir's FIN has been delivered (and nothing waits out of order).
// A segment that still arrived would be a retransmission (dropped as an
// overlap) or beyond the FIN.
inline bool stream_finished(const Flow& f, Direction dir) noexcept {
    if (f.state == FlowState::kClosed) return true;
    const Stream& st = f.stream[index(dir)];
    return fin_is_next(st) && st.ooo_head == kNoIndex;
}

enum class StreamEvent : uint8_t {
    kData,  // bytes: the next in-order bytes of the direction's stream
    kGap,   // a hole was skipped; the bytes that follow do not continue the previous ones
};

struct StreamChunk {
    StreamEvent event = StreamEvent::kData;
    uint32_t seq = 0;          // kData: sequence number of bytes[0]; kGap: where delivery resumes
    uint32_t gap_len = 0;      // kGap: sequence space skipped
    std::span<const uint8_t> bytes;  // kData only; valid during the call
};

using SinkFn = void (*)(void* ctx, Flow& flow, Direction dir, const StreamChunk& chunk) noexcept;

struct Sink {
    SinkFn fn = nullptr;  // null: bytes are tracked and counted but go nowhere
    void* ctx = nullptr;

    void operator()(Flow& f, Direction d, const StreamChunk& c) const noexcept {
        if (fn) fn(ctx, f, d, c);
    }
};

}  // namespace vtap::flow
