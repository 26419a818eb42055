// The generator's transmit port: a vdev it creates from "name,args" (any
// PMD EAL can load: memif, af_packet, pcap tx_pcap, ring, null) or a device
// EAL already probed (a PCI VF on Azure, given by its name). One TX queue,
// one RX queue (some PMDs need one), started; waits for link up, which a
// memif client only reaches once its server answers. Cold path.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

struct rte_mempool;

namespace vtap::loadgen {

struct TxPort {
    uint16_t port_id = 0;
    std::string device;
    bool created = false;  // a vdev this program made (removed by close_tx_port)
};

Result<TxPort> open_tx_port(const std::string& spec, rte_mempool* pool, uint16_t tx_descriptors,
                            double link_wait_s);
void close_tx_port(const TxPort& p);

}  // namespace vtap::loadgen
