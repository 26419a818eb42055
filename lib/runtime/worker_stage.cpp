#include "runtime/worker_stage.hpp"

#include <string>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mbuf.h>

#include "core/pkt_meta.hpp"
#include "shard/shard.hpp"

namespace vtap::runtime {

Result<std::unique_ptr<FlowCountStage>> FlowCountStage::create(unsigned worker, uint32_t capacity, int socket) {
    std::string name = "vtap_flows_w" + std::to_string(worker);
    rte_hash_parameters p{};
    p.name = name.c_str();
    p.entries = capacity;
    p.key_len = sizeof(shard::FlowKey);
    p.hash_func = rte_hash_crc;
    p.socket_id = socket;
    rte_hash* h = rte_hash_create(&p);
    if (!h)
        return fail("worker " + std::to_string(worker),
                    "cannot create flow table of " + std::to_string(capacity) + " entries: " +
                        rte_strerror(rte_errno) + " (lower pipeline.flow_table_size or raise EAL memory)");
    return std::unique_ptr<FlowCountStage>(new FlowCountStage(h));
}

FlowCountStage::~FlowCountStage() { rte_hash_free(table_); }

void FlowCountStage::on_burst(rte_mbuf** pkts, uint16_t n, WorkerCounters& ctr) noexcept {
    for (uint16_t i = 0; i < n; i++) {
        const PktMeta& meta = pkt_meta(pkts[i]);
        shard::FlowKey key;
        shard::flow_key(rte_pktmbuf_mtod(pkts[i], const uint8_t*), meta, key);
        // The symmetric flow hash doubles as the table's signature: same key,
        // same hash, so no second hash computation per packet.
        if (rte_hash_lookup_with_hash(table_, &key, meta.flow_hash) >= 0) continue;
        if (rte_hash_add_key_with_hash(table_, &key, meta.flow_hash) >= 0) ctr.flows.add();
        else ctr.flow_table_full.add();
    }
}

}  // namespace vtap::runtime
