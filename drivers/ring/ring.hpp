// The rings behind a port opened with driver "ring" (net_ring over
// rte_eth_from_rings). Whoever holds the port can feed its RX queues
// directly: mbufs enqueued on rx_ring(h, q) come out of rte_eth_rx_burst on
// queue q in order, and TX bursts land on tx_ring(h). Tests and in-process
// producers use this; the rings live until close_port.
#pragma once

#include <cstdint>

#include "drivers/driver.hpp"

struct rte_ring;

namespace vtap::drivers::ring {

// nullptr when `h` is not a ring port or `queue` is out of range.
rte_ring* rx_ring(const PortHandle& h, uint16_t queue);
rte_ring* tx_ring(const PortHandle& h);

}  // namespace vtap::drivers::ring
