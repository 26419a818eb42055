// vtapd's configuration: YAML (yaml-cpp) -> an immutable, validated Config.
// Every key is documented in conf/vtapd.yaml. Loading rejects unknown keys
// and bad values with an Error naming file, line, column and key path; yaml-cpp
// exceptions never escape this module. Control path only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "decap/decap.hpp"
#include "output/output_spec.hpp"

namespace vtap::config {

// One packet source. Which fields matter depends on `driver`. Loading checks
// the driver name, the fields it requires, that no field it ignores is set,
// address syntax and duplicate devices; drivers/ checks what needs DPDK
// (PMD present, queue and MTU limits).
struct PortConfig {
    std::string driver;            // pcap | af_packet | null | ring | netvsc | mlx5 | mana
    std::string name;              // label in stats and logs; default "<driver><index>"
    // net_pcap
    std::string pcap_file;         // rx_pcap=FILE
    bool infinite_rx = false;      // replay the file from memory forever (benchmarks)
    bool preload = false;          // read the whole file into memory at start, then deliver it once
                                   // at memory speed (drivers/pcap; benchmarks of what follows RX)
    // net_af_packet
    std::string iface;             // kernel interface to attach to
    // PCI devices (netvsc via uio_hv_generic, mlx5) and MANA
    std::string pci;               // PCI address, e.g. "7870:00:00.0"; netvsc: or a VMBus id
    std::string mac;               // MANA selects its port by MAC; also a check for others
    // Queues and link
    uint16_t rx_queues = 1;        // RSS spreads outer flows across them
    uint16_t rx_descriptors = 1024;
    uint16_t mtu = 0;              // 0 = leave the PMD's default
    bool promiscuous = false;      // needed when the tap's destination MAC is not ours (lab bridges)
    bool allmulti = false;
    std::string devargs;           // extra PMD arguments appended verbatim (expert use)
};

struct PipelineConfig {
    uint16_t rx_lcores = 1;        // lcores polling RX queues; queues are split among them
    uint16_t workers = 1;          // worker lcores; 0 = run to completion on the RX lcore
    uint16_t burst_size = 32;      // 1..64
    uint32_t ring_size = 4096;     // per worker ring, power of two
    uint32_t flow_table_size = 65536;  // flows tracked per worker (counting only, for now)
};

struct MempoolConfig {
    uint32_t mbufs = 16383;        // per NUMA socket; 2^n - 1 is optimal
    uint32_t cache_size = 256;
    uint16_t data_room = 2048 + 128;  // buffer bytes incl. RTE_PKTMBUF_HEADROOM; >= 9216+128 for jumbo
};

struct StatsConfig {
    uint32_t interval_s = 0;       // print statistics every N seconds; 0 = only at exit
    std::string file;              // write final statistics as flat JSON here ("" = none)
    bool telemetry = true;         // register /vtap/stats with DPDK telemetry
};

struct CaptureConfig {
    std::string pcapng;            // write decapsulated inner frames here ("" = off)
    uint64_t max_bytes = 64ull << 20;  // rotate when a file reaches this size
    uint32_t max_files = 4;        // keep at most this many files (FILE, FILE.1, ...)
    uint32_t snaplen = 0;          // bytes kept per frame; 0 = whole frame
};

// Signature detection (lib/rules -> lib/detect on the workers).
struct DetectConfig {
    std::vector<std::string> rule_files;   // Suricata/Snort rule files; empty = detection off
    std::string classification_file;      // classification.config for classtype priorities ("" = none)
    std::vector<std::pair<std::string, std::string>> address_vars;  // HOME_NET -> "[10.0.0.0/8]"
    std::vector<std::pair<std::string, std::string>> port_vars;     // HTTP_PORTS -> "80"
    std::string cache_dir;                 // compiled-database cache ("" = compile every start)
    // Per-packet and threshold limits (Suricata's packet-alert-max; the
    // per-worker threshold table's fixed size).
    uint32_t packet_alert_max = 15;        // 1..64
    uint32_t threshold_entries = 16384;    // 8..16777216, rounded up to a power of two
    // Stream bytes kept per active TCP direction to confirm a rule against
    // what came before the current chunk (detect::ScannerOptions).
    uint32_t stream_window_bytes = 4096;   // 256..65536
    // Active TCP directions per worker whose Hyperscan stream state and
    // window are allocated (and their pages touched) at start, so the worker
    // neither mallocs nor page-faults for them; more than this allocate when
    // opened (detect.stream_allocs): Hyperscan state by malloc, windows from
    // 2 MiB huge-page chunks kept for reuse. ~window + 130 bytes each.
    uint32_t stream_prealloc = 4096;       // 0..1048576
    // IPv4 and IPv6 reassembly per worker (flow::DefragConfig): datagrams under
    // reassembly at once (~72 KiB each, preallocated) and how long one may
    // wait for its missing fragments, from its first.
    uint32_t defrag_max_datagrams = 256;   // 1..4096 (detect.defrag.max_datagrams)
    uint32_t defrag_timeout_s = 60;        // 1..3600 (detect.defrag.timeout_s)
};

// One kind of non-VTAP frame handed to the kernel (exception.forward).
enum class ForwardKind : uint8_t {
    kEtherType,  // "arp" (0x0806), "ipv6" (0x86DD), "ethertype:0x88cc"
    kIpProto,    // "icmp" (1), "ip:47": IPv4 with this protocol
    kTcpPort,    // "tcp:22": IPv4 TCP to this destination port
    kUdpPort,    // "udp:68": IPv4 UDP to this destination port (not the VXLAN port)
};

struct ForwardEntry {
    ForwardKind kind = ForwardKind::kEtherType;
    uint16_t value = 0;     // EtherType, IP protocol or port, host order
    std::string text;       // as written, for counter names ("tcp:22")
};

// The exception path: frames on the data port that are not VTAP traffic
// (ARP, ping, the load balancer's probe, SSH) go to a kernel tap interface so
// the kernel answers them; its replies leave through the data port.
struct ExceptionConfig {
    bool enabled = false;
    std::string tap_name = "vtapexc0";      // kernel interface name
    std::string address;                    // "10.0.1.4/24" set on the tap; "" = the system configures it
    uint16_t port = 0;                      // index into ports[] whose non-VTAP frames are handled
    uint32_t ring_size = 1024;              // frames in flight RX lcores -> control thread (power of two)
    std::vector<ForwardEntry> forward;      // what reaches the kernel; the rest is dropped and counted
};

// Health endpoint served by the control thread (HTTP/1.0, GET /health).
struct HealthConfig {
    std::string listen;                     // "127.0.0.1:8081"; "" = off
    double max_drop_ratio = 0.01;           // lost / received over window_s above this: unhealthy
    uint32_t stall_ms = 2000;               // a lane with queued input and no progress this long: unhealthy
    uint32_t window_s = 10;                 // drop-ratio window
};

// Where alerts go.
struct AlertsConfig {
    // EVE JSON lines: a file path, "-" = stdout, "" = off. Shorthand for one
    // eve output named "eve"; when `outputs:` lists any output and `eve` is
    // not given, it is off.
    std::string eve = "-";
    uint32_t queue_size = 4096;            // alerts in flight per worker (power of two)
    uint32_t flush_timeout_ms = 2000;      // shutdown: time the outputs get to deliver what they hold
    output::RateLimitSpec rate_limit;      // per gid:sid; per_signature 0 = off
};

// Who this vtapd is, when several run behind one load balancer (scale-out):
// alerts carry `id` as EVE "host" so a SIEM can tell the instances apart.
struct InstanceConfig {
    std::string id;                        // "" = the machine's host name
};

struct Config {
    std::string source;                  // the file it came from, for messages
    InstanceConfig instance;
    std::vector<std::string> eal_args;   // extra EAL arguments (e.g. --no-huge, -m, -l)
    std::vector<PortConfig> ports;
    decap::DecapConfig decap;            // data-path view, validated
    PipelineConfig pipeline;
    MempoolConfig mempool;
    StatsConfig stats;
    CaptureConfig capture;
    DetectConfig detect;
    AlertsConfig alerts;
    ExceptionConfig exception;
    HealthConfig health;
    // Every alert output: alerts.eve (as "eve") first when set, then the
    // `outputs:` list in order. Names are unique.
    std::vector<output::OutputSpec> outputs;
};

// Parses and validates YAML text. `source_name` is used in error positions.
Result<Config> parse(const std::string& yaml_text, const std::string& source_name);

// Reads and parses a file. Relative ports[].pcap_file paths are resolved
// against the file's directory (see resolve_pcap_files).
Result<Config> load(const std::string& path);

// Prefixes every relative ports[].pcap_file with `base_dir` ("" leaves them
// unchanged). load() applies it with the
// config file's directory; for the embedded default the application applies
// it with the directory holding the bundled demo capture.
void resolve_pcap_files(Config& cfg, const std::string& base_dir);

// Same for detect.rule_files and detect.classification_file: relative to the
// config file's directory; for the embedded default, to the source conf/.
void resolve_rule_files(Config& cfg, const std::string& base_dir);

// Run to completion (workers 0) with more than one RX lcore is refused:
// nothing would keep both directions of a connection on one lcore. load()
// checks the file; vtapd checks again after its command-line overrides.
Result<void> check_run_to_completion(const PipelineConfig& p);

// The embedded default (the same text as conf/vtapd.yaml), used when no
// --config is given.
const std::string& default_yaml();

// "198.18.0.0/15" -> prefix; a bare address is a /32. Octets are decimal
// without leading zeros; host bits beyond the length are an error (the
// message names the network address). Errors name the bad text; `where` is
// empty (the caller knows the position).
Result<decap::Ipv4Prefix> parse_prefix(const std::string& text);

}  // namespace vtap::config
