// TCP tracking and per-direction reassembly (hot path). In-order bytes go to
// the sink straight from the packet; only out-of-order bytes are copied, into
// 512-byte pieces from the table's pool. Overlaps: the first copy of a byte
// wins, whether it was delivered already or is waiting in the buffer (the
// policy Suricata calls "first"; a retransmission cannot rewrite what the
// detector saw). Every sequence comparison is mod 2^32 (seq.hpp).
#include <algorithm>
#include <cstring>

#include "flow/flow_table.hpp"
#include "flow/seq.hpp"
#include "flow/table_detail.hpp"

namespace vtap::flow {

void FlowTable::emit(Flow& f, Direction dir, std::span<const uint8_t> data, Sink sink) noexcept {
    if (data.empty()) return;
    Stream& st = f.stream[index(dir)];
    StreamChunk c;
    c.seq = st.next_seq;
    c.bytes = data;
    st.next_seq += static_cast<uint32_t>(data.size());
    st.delivered += data.size();
    ctr_.reassembled_bytes.add(data.size());
    sink(f, dir, c);
}

void FlowTable::pop_piece(Stream& st) noexcept {
    const uint32_t p = st.ooo_head;
    st.ooo_head = pieces_[p].next;
    if (st.ooo_head == kNoIndex) st.ooo_tail = kNoIndex;
    st.ooo_bytes -= pieces_[p].len;
    pieces_[p].next = free_piece_;
    free_piece_ = p;
    pieces_free_++;
}

void FlowTable::release_pieces(Stream& st) noexcept {
    if (st.ooo_bytes) ctr_.ooo_discarded.add(st.ooo_bytes);
    while (st.ooo_head != kNoIndex) pop_piece(st);
}

// Delivers buffered pieces that next_seq has reached. A piece starting
// before next_seq cannot occur by the Stream invariant; it is trimmed
// rather than trusted.
void FlowTable::drain(Flow& f, Direction dir, Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    bool moved = false;
    while (st.ooo_head != kNoIndex && seq_leq(pieces_[st.ooo_head].seq, st.next_seq)) {
        const Piece& p = pieces_[st.ooo_head];
        const uint32_t skip = st.next_seq - p.seq;
        if (skip < p.len) emit(f, dir, {p.data + skip, p.len - skip}, sink);
        pop_piece(st);
        moved = true;
    }
    if (moved && st.ooo_head != kNoIndex) st.hole_since_ns = now_ns_;  // a new hole begins
}

// Gives up on [next_seq, seq): tells the sink, resumes at seq, delivers what
// is buffered from there.
void FlowTable::skip_to(Flow& f, Direction dir, uint32_t seq, Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    if (seq_leq(seq, st.next_seq)) return;
    StreamChunk c;
    c.event = StreamEvent::kGap;
    c.seq = seq;
    c.gap_len = seq - st.next_seq;
    st.next_seq = seq;
    ctr_.gaps.add();
    sink(f, dir, c);
    drain(f, dir, sink);
}

void FlowTable::tcp_flush(Flow& f, Direction dir, Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    while (st.ooo_head != kNoIndex) skip_to(f, dir, pieces_[st.ooo_head].seq, sink);
}

// The receiver acknowledged up to ack, beyond what dir delivered: those bytes
// passed the tap unseen (or will never come). Skip to the first buffered
// piece if the ACK covers it, else to the ACK itself. A FIN occupies one
// sequence number (RFC 9293 s3.4), so acking it is no hole.
void FlowTable::ack_past_hole(Flow& f, Direction dir, uint32_t ack, Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    for (;;) {
        const uint32_t limit = st.next_seq + (fin_is_next(st) ? 1 : 0);
        const int32_t ahead = seq_diff(ack, limit);
        if (ahead <= 0 || static_cast<uint32_t>(ahead) > cfg_.max_seq_ahead) return;
        if (st.ooo_head != kNoIndex && seq_leq(pieces_[st.ooo_head].seq, ack)) {
            skip_to(f, dir, pieces_[st.ooo_head].seq, sink);
        } else {
            skip_to(f, dir, ack, sink);
            return;
        }
    }
}

// data starts at next_seq. Walks the buffered pieces along the segment:
// bytes no piece covers go to the sink from the packet, covered bytes come
// from the pieces (they arrived first).
void FlowTable::deliver_in_order(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                                 Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    const uint32_t end = seq + static_cast<uint32_t>(data.size());
    while (seq_lt(st.next_seq, end)) {
        uint32_t stop = end;
        if (st.ooo_head != kNoIndex) {
            const Piece& p = pieces_[st.ooo_head];
            if (p.seq == st.next_seq) {
                const uint32_t p_end = p.seq + p.len;
                ctr_.overlap_bytes.add((seq_lt(end, p_end) ? end : p_end) - p.seq);
                emit(f, dir, {p.data, p.len}, sink);
                pop_piece(st);
                continue;
            }
            if (seq_lt(p.seq, end)) stop = p.seq;
        }
        emit(f, dir, data.subspan(st.next_seq - seq, stop - st.next_seq), sink);
    }
    drain(f, dir, sink);
}

// Copies the parts of an out-of-order segment that no piece holds yet into
// new pieces, keeping the list sorted. False, with nothing changed, when the
// direction's bound or the pool cannot take them.
bool FlowTable::buffer_ooo(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                           uint64_t now_ns) noexcept {
    Stream& st = f.stream[index(dir)];
    const uint32_t base = st.next_seq;
    const auto rel = [base](uint32_t s) { return s - base; };  // pieces are all ahead of base
    const uint32_t a = rel(seq);
    const uint32_t b = a + static_cast<uint32_t>(data.size());
    const bool was_empty = st.ooo_head == kNoIndex;

    // Run twice: first to count, then (if it fits) to insert.
    const auto walk = [&](bool apply, uint32_t& n_pieces, uint32_t& n_bytes) {
        uint32_t prev = kNoIndex;
        uint32_t cur = st.ooo_head;
        if (st.ooo_tail != kNoIndex && rel(pieces_[st.ooo_tail].seq) + pieces_[st.ooo_tail].len <= a) {
            prev = st.ooo_tail;  // appending after the last piece: the common case
            cur = kNoIndex;
        }
        uint32_t pos = a;
        while (pos < b) {
            while (cur != kNoIndex && rel(pieces_[cur].seq) + pieces_[cur].len <= pos) {
                prev = cur;
                cur = pieces_[cur].next;
            }
            if (cur != kNoIndex && rel(pieces_[cur].seq) <= pos) {  // held already: first copy wins
                pos = std::min(b, rel(pieces_[cur].seq) + pieces_[cur].len);
                continue;
            }
            const uint32_t hole_end = cur != kNoIndex ? std::min(b, rel(pieces_[cur].seq)) : b;
            while (pos < hole_end) {
                const uint32_t n = std::min(kPieceData, hole_end - pos);
                n_pieces++;
                n_bytes += n;
                if (apply) {
                    const uint32_t p = free_piece_;
                    free_piece_ = pieces_[p].next;
                    pieces_free_--;
                    Piece& pc = pieces_[p];
                    pc.seq = base + pos;
                    pc.len = static_cast<uint16_t>(n);
                    std::memcpy(pc.data, data.data() + (pos - a), n);
                    pc.next = cur;
                    if (prev == kNoIndex) st.ooo_head = p;
                    else pieces_[prev].next = p;
                    if (cur == kNoIndex) st.ooo_tail = p;
                    prev = p;
                }
                pos += n;
            }
        }
    };
    uint32_t n_pieces = 0;
    uint32_t n_bytes = 0;
    walk(false, n_pieces, n_bytes);
    if (uint64_t{st.ooo_bytes} + n_bytes > cfg_.ooo_max_bytes || n_pieces > pieces_free_) return false;
    if (n_bytes) {
        uint32_t again_pieces = 0;
        uint32_t again_bytes = 0;
        walk(true, again_pieces, again_bytes);
        st.ooo_bytes += n_bytes;
        ctr_.ooo_bytes.add(n_bytes);
        if (was_empty) st.hole_since_ns = now_ns;
    }
    ctr_.overlap_bytes.add(data.size() - n_bytes);
    return true;
}

void FlowTable::accept_data(Flow& f, Direction dir, uint32_t seq, std::span<const uint8_t> data,
                            uint64_t now_ns, Sink sink) noexcept {
    Stream& st = f.stream[index(dir)];
    for (;;) {
        if (seq_lt(seq, st.next_seq)) {
            const uint32_t behind = st.next_seq - seq;
            if (behind > cfg_.max_seq_ahead) {
                ctr_.out_of_window.add();
                return;
            }
            const uint32_t old = std::min<uint32_t>(behind, static_cast<uint32_t>(data.size()));
            ctr_.overlap_bytes.add(old);  // delivered already: first copy wins
            if (old == data.size()) return;
            data = data.subspan(old);
            seq = st.next_seq;
        }
        if (seq - st.next_seq > cfg_.max_seq_ahead) {
            ctr_.out_of_window.add();
            return;
        }
        if (seq == st.next_seq) {
            deliver_in_order(f, dir, seq, data, sink);
            return;
        }
        if (buffer_ooo(f, dir, seq, data, now_ns)) return;
        // No room: skip the oldest hole and retry. Each round delivers at
        // least one piece or reaches the segment itself, so this ends.
        skip_to(f, dir, st.ooo_head != kNoIndex ? pieces_[st.ooo_head].seq : seq, sink);
    }
}

// The connection state (README "TCP states"). A RST is honoured only near
// what its sender has sent (RFC 5961 s3 spirit): an injected RST with a wild
// sequence number must not end inspection of the stream.
void FlowTable::tcp_track(Flow& f, Direction dir, const TcpSegment& seg, Sink sink) noexcept {
    const Stream& st = f.stream[index(dir)];
    if (seg.flags & kTcpRst) {
        const int32_t d = seq_diff(seg.seq, st.next_seq);
        const bool plausible = !(st.flags & kStreamSeqKnown) ||
                               (d >= -1 && static_cast<uint32_t>(d < 0 ? 0 : d) <= cfg_.max_seq_ahead);
        if (!plausible || f.state == FlowState::kClosed) return;
        tcp_flush(f, Direction::kToServer, sink);
        tcp_flush(f, Direction::kToClient, sink);
        f.state = FlowState::kClosed;
        set_class(f, TimeoutClass::kTcpClosing);
        return;
    }
    if (f.state == FlowState::kClosed) return;
    if (seg.flags & kTcpFin) {
        f.state = FlowState::kClosing;
        set_class(f, TimeoutClass::kTcpClosing);
    } else if (f.state == FlowState::kNew && (seg.flags & (kTcpSyn | kTcpAck)) == kTcpAck) {
        // The handshake's third packet, or the first of a picked-up stream.
        f.state = FlowState::kEstablished;
        set_class(f, TimeoutClass::kTcpEstablished);
    }
}

void FlowTable::tcp_segment(Flow& f, Direction dir, const TcpSegment& seg, uint64_t input_ns,
                            Sink sink) noexcept {
    const uint64_t now_ns = tick(input_ns);
    now_ns_ = now_ns;
    Stream& st = f.stream[index(dir)];
    const uint32_t data_seq = seg.seq + ((seg.flags & kTcpSyn) ? 1 : 0);  // a SYN occupies one number
    if (!(st.flags & kStreamSeqKnown)) {
        st.next_seq = data_seq;  // the ISN + 1, or where a picked-up stream starts
        st.isn = data_seq - 1;   // as Suricata assumes for a picked-up stream
        st.flags |= kStreamSeqKnown;
    }
    if (seg.flags & kTcpSyn) st.flags |= kStreamSynSeen;
    tcp_track(f, dir, seg, sink);
    if (f.flags & kFlowUntracked) {
        if (!seg.payload.empty()) ctr_.untracked_segments.add();
        return;
    }
    if (st.ooo_head != kNoIndex && now_ns - st.hole_since_ns >= cfg_.gap_timeout_ns)
        skip_to(f, dir, pieces_[st.ooo_head].seq, sink);
    if (!seg.payload.empty()) {
        if (f.state == FlowState::kClosed) ctr_.untracked_segments.add();
        else accept_data(f, dir, data_seq, seg.payload, now_ns, sink);
    }
    if ((seg.flags & kTcpFin) && !(st.flags & kStreamFinSeen)) {
        st.flags |= kStreamFinSeen;
        st.fin_seq = data_seq + static_cast<uint32_t>(seg.payload.size());
    }
    if ((seg.flags & kTcpAck) && f.state != FlowState::kClosed) {
        const Direction back = opposite(dir);
        if (f.stream[index(back)].flags & kStreamSeqKnown) ack_past_hole(f, back, seg.ack, sink);
    }
}

}  // namespace vtap::flow
