// Real mbufs for [eal] tests: a pool and helpers that copy bytes into one
// mbuf or a chain of mbufs split at chosen points.
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <rte_mbuf.h>
#include <rte_mempool.h>

namespace vtap::test {

inline rte_mempool* make_pool(const char* name, unsigned n = 1023, uint16_t data_room = RTE_MBUF_DEFAULT_BUF_SIZE) {
    rte_mempool* mp = rte_pktmbuf_pool_create(name, n, 0, 0, data_room, SOCKET_ID_ANY);
    if (!mp) throw std::runtime_error(std::string("cannot create pool ") + name);
    return mp;
}

// One mbuf (or a chain when first_seg > 0 and the frame is longer) holding `bytes`.
inline rte_mbuf* make_mbuf(rte_mempool* mp, const std::vector<uint8_t>& bytes, size_t first_seg = 0) {
    rte_mbuf* head = nullptr;
    rte_mbuf* tail = nullptr;
    size_t off = 0;
    do {
        rte_mbuf* m = rte_pktmbuf_alloc(mp);
        if (!m) throw std::runtime_error("mbuf pool empty");
        size_t room = rte_pktmbuf_tailroom(m);
        size_t chunk = std::min(bytes.size() - off, (head == nullptr && first_seg) ? first_seg : room);
        char* dst = rte_pktmbuf_append(m, static_cast<uint16_t>(chunk));
        if (chunk) std::memcpy(dst, bytes.data() + off, chunk);  // an empty frame has no data() to copy
        off += chunk;
        if (!head) {
            head = tail = m;
        } else {
            tail->next = m;
            tail = m;
            head->nb_segs++;
            head->pkt_len += m->data_len;
        }
    } while (off < bytes.size());
    return head;
}

inline std::vector<uint8_t> mbuf_bytes(const rte_mbuf* m) {
    std::vector<uint8_t> out(m->pkt_len);
    const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, out.data());
    if (p != out.data()) std::memcpy(out.data(), p, m->pkt_len);
    return out;
}

}  // namespace vtap::test
