// YAML text -> validated Config. yaml-cpp is only touched inside the try
// blocks of parse(); everything after loading works on an in-memory node tree
// through MapView, which reports errors as values. Ranges are documented in
// conf/vtapd.yaml next to each key; keep the two in step.
#include "config/config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/depthguard.h>

#include "config/sections.hpp"
#include "core/burst.hpp"
#include "core/file_text.hpp"

namespace vtap::config {

namespace detail {
// Generated from conf/vtapd.yaml at build time (tools/embed_text.py).
extern const char kDefaultYamlText[];
extern const size_t kDefaultYamlTextSize;
}  // namespace detail

namespace {

using detail::MapView;
using detail::quote;

// shard::kMaxWorkers; config does not depend on the shard module.
constexpr uint16_t kMaxWorkers = 64;
// RTE_MAX_LCORE in Debian's DPDK 22.11 build.
constexpr uint16_t kMaxLcores = 128;
// RTE_MEMPOOL_CACHE_MAX_SIZE.
constexpr uint32_t kMaxMempoolCache = 512;
constexpr uint32_t kMinMbufs = 1023;
// rte_mempool_create refuses a cache larger than n / 1.5; the ranges alone
// guarantee it, so no cross-check is needed.
static_assert(kMaxMempoolCache * 3 <= kMinMbufs * 2);

Result<void> parse_eal(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("eal"), "eal");
    VTAP_CONFIG_TRY(m.check_keys({"args"}));
    VTAP_CONFIG_TRY(m.read("args", cfg.eal_args));
    return {};
}

Result<void> parse_sources(const MapView& m, decap::DecapConfig& d) {
    YAML::Node list = m.child("tap_sources");
    const std::string hint =
        "'decap.tap_sources' must list at least one prefix; use 0.0.0.0/0 to analyse any source";
    if (!list.IsDefined()) return m.fail_here(hint + " (the key is missing)");
    if (list.IsNull() || (list.IsSequence() && list.size() == 0))
        return m.fail_at("tap_sources", hint);
    if (!list.IsSequence())
        return m.fail_at("tap_sources", "'decap.tap_sources' must be a list of IPv4 prefixes "
                                        "like 198.18.0.0/15, got " +
                                            std::string(detail::kind_name(list)));
    if (list.size() > decap::DecapConfig::kMaxSources)
        return m.fail_at("tap_sources", "'decap.tap_sources' lists " + std::to_string(list.size()) +
                                            " prefixes; at most " +
                                            std::to_string(decap::DecapConfig::kMaxSources) +
                                            " are allowed (merge adjacent ones)");
    size_t i = 0;
    for (const auto& e : list) {
        std::string name = "decap.tap_sources[" + std::to_string(i) + "]";
        if (!e.IsScalar())
            return detail::fail_node(m.source(), e, quote(name) + " must be an IPv4 prefix, got " +
                                                        std::string(detail::kind_name(e)));
        auto p = parse_prefix(e.Scalar());
        if (!p) return detail::fail_node(m.source(), e, quote(name) + ": " + p.error().what);
        for (size_t j = 0; j < i; j++)
            if (d.sources[j].addr == p->addr && d.sources[j].len == p->len)
                return detail::fail_node(m.source(), e, quote(name) + " repeats tap_sources[" +
                                                            std::to_string(j) + "] (" +
                                                            e.Scalar() + ")");
        d.sources[i++] = *p;
    }
    d.n_sources = static_cast<uint8_t>(i);
    return {};
}

Result<void> parse_decap(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("decap"), "decap");
    VTAP_CONFIG_TRY(m.check_keys({"mode", "udp_port", "reserved_bits", "max_inner_frame", "tap_sources", "vnis"}));
    decap::DecapConfig& d = cfg.decap;
    // mode: vxlan (VTAP copies), ethernet (plain frames) or ip (bare IP
    // packets); tap_sources are optional and unused in the last two.
    std::string mode = "vxlan";
    VTAP_CONFIG_TRY(m.read("mode", mode));
    if (mode == "ethernet") d.mode = decap::DecapMode::kEthernet;
    else if (mode == "ip") d.mode = decap::DecapMode::kIp;
    else if (mode != "vxlan")
        return m.fail_at("mode", "'decap.mode' is '" + mode +
                                     "'; use vxlan (VTAP copies), ethernet (plain frames) or ip (bare IP packets)");
    VTAP_CONFIG_TRY(m.read("udp_port", d.udp_port, 1, 65535));

    std::string rb = "permissive";
    VTAP_CONFIG_TRY(m.read("reserved_bits", rb));
    if (rb == "permissive")
        d.reserved_bits = decap::ReservedBits::kPermissive;
    else if (rb == "strict")
        d.reserved_bits = decap::ReservedBits::kStrict;
    else
        return m.fail_at("reserved_bits", "'decap.reserved_bits' is '" + rb +
                                              "'; use permissive or strict");

    VTAP_CONFIG_TRY(m.read("max_inner_frame", d.max_inner_frame, 64, 16384));
    if (d.mode == decap::DecapMode::kVxlan || m.child("tap_sources").IsDefined())
        VTAP_CONFIG_TRY(parse_sources(m, d));

    std::vector<uint64_t> vnis;
    VTAP_CONFIG_TRY(m.read("vnis", vnis, 0, 0xFFFFFF));  // VNIs are 24 bits (RFC 7348 section 5)
    if (vnis.size() > decap::DecapConfig::kMaxVnis)
        return m.fail_at("vnis", "'decap.vnis' lists " + std::to_string(vnis.size()) +
                                     " VNIs; at most " +
                                     std::to_string(decap::DecapConfig::kMaxVnis) +
                                     " are allowed (leave it empty to accept any VNI)");
    for (size_t i = 0; i < vnis.size(); i++) {
        for (size_t j = 0; j < i; j++)
            if (vnis[j] == vnis[i])
                return m.fail_at("vnis", "'decap.vnis' lists VNI " + std::to_string(vnis[i]) +
                                             " twice");
        d.vnis[i] = static_cast<uint32_t>(vnis[i]);
    }
    d.n_vnis = static_cast<uint8_t>(vnis.size());
    return {};
}

bool is_power_of_two(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

Result<void> parse_pipeline(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("pipeline"), "pipeline");
    VTAP_CONFIG_TRY(m.check_keys({"rx_lcores", "workers", "burst_size", "ring_size", "flow_table_size"}));
    PipelineConfig& p = cfg.pipeline;
    VTAP_CONFIG_TRY(m.read("rx_lcores", p.rx_lcores, 1, kMaxLcores));
    VTAP_CONFIG_TRY(m.read("workers", p.workers, 0, kMaxWorkers));
    VTAP_CONFIG_TRY(m.read("burst_size", p.burst_size, 1, kMaxBurst));
    VTAP_CONFIG_TRY(m.read("ring_size", p.ring_size, 64, 1u << 24));
    if (!is_power_of_two(p.ring_size))
        return m.fail_at("ring_size", "'pipeline.ring_size' is " + std::to_string(p.ring_size) +
                                          "; it must be a power of two in 64..16777216");
    VTAP_CONFIG_TRY(m.read("flow_table_size", p.flow_table_size, 1024, 1u << 26));
    return {};
}

Result<void> parse_mempool(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("mempool"), "mempool");
    VTAP_CONFIG_TRY(m.check_keys({"mbufs", "cache_size", "data_room"}));
    MempoolConfig& mp = cfg.mempool;
    VTAP_CONFIG_TRY(m.read("mbufs", mp.mbufs, kMinMbufs, 1u << 30));
    VTAP_CONFIG_TRY(m.read("cache_size", mp.cache_size, 0, kMaxMempoolCache));
    VTAP_CONFIG_TRY(m.read("data_room", mp.data_room, 1024, 65535));
    return {};
}

Result<void> parse_stats(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("stats"), "stats");
    VTAP_CONFIG_TRY(m.check_keys({"interval_s", "file", "telemetry"}));
    VTAP_CONFIG_TRY(m.read("interval_s", cfg.stats.interval_s, 0, 86400));
    VTAP_CONFIG_TRY(m.read("file", cfg.stats.file));
    VTAP_CONFIG_TRY(m.read("telemetry", cfg.stats.telemetry));
    return {};
}

Result<void> parse_capture(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("capture"), "capture");
    VTAP_CONFIG_TRY(m.check_keys({"pcapng", "max_bytes", "max_files", "snaplen"}));
    CaptureConfig& c = cfg.capture;
    VTAP_CONFIG_TRY(m.read("pcapng", c.pcapng));
    VTAP_CONFIG_TRY(m.read("max_bytes", c.max_bytes, 65536, 1ull << 40));
    VTAP_CONFIG_TRY(m.read("max_files", c.max_files, 1, 1024));
    VTAP_CONFIG_TRY(m.read("snaplen", c.snaplen, 0, 65535));
    if (c.snaplen != 0 && c.snaplen < 64)
        return m.fail_at("snaplen", "'capture.snaplen' is " + std::to_string(c.snaplen) +
                                        "; use 0 (whole frame) or 64..65535");
    return {};
}

// A mapping of variable names to scalar values, e.g. detect.vars.address.
Result<void> read_vars(const MapView& parent, std::string_view key,
                       std::vector<std::pair<std::string, std::string>>& out) {
    YAML::Node n = parent.child(key);
    if (!n.IsDefined() || n.IsNull()) return {};
    if (!n.IsMap())
        return parent.fail_at(key, quote(parent.path(key)) + " must be a mapping of NAME: value, got " +
                                       std::string(detail::kind_name(n)));
    for (auto it = n.begin(); it != n.end(); ++it) {
        if (!it->first.IsScalar() || !it->second.IsScalar())
            return detail::fail_node(parent.source(), it->first,
                                     quote(parent.path(key)) + " entries must be NAME: value scalars");
        const std::string& name = it->first.Scalar();
        if (name.empty() || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos)
            return detail::fail_node(parent.source(), it->first,
                                     quote(parent.path(key)) + ": variable name " + quote(name) +
                                         " must be upper case letters, digits and '_' (as in $HOME_NET)");
        out.emplace_back(name, it->second.Scalar());
    }
    return {};
}

Result<void> parse_detect(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("detect"), "detect");
    VTAP_CONFIG_TRY(m.check_keys({"rule_files", "classification_file", "vars", "cache_dir", "packet_alert_max",
                                  "threshold_entries", "stream_window_bytes", "stream_prealloc", "defrag"}));
    DetectConfig& d = cfg.detect;
    VTAP_CONFIG_TRY(m.read("rule_files", d.rule_files));
    VTAP_CONFIG_TRY(m.read("classification_file", d.classification_file));
    VTAP_CONFIG_TRY(m.read("cache_dir", d.cache_dir));
    // Limits (see DetectConfig); 64 = detect::MatchSink::kCapacity.
    VTAP_CONFIG_TRY(m.read("packet_alert_max", d.packet_alert_max, 1, 64));
    VTAP_CONFIG_TRY(m.read("threshold_entries", d.threshold_entries, 8, 1u << 24));
    VTAP_CONFIG_TRY(m.read("stream_window_bytes", d.stream_window_bytes, 256, 65536));
    VTAP_CONFIG_TRY(m.read("stream_prealloc", d.stream_prealloc, 0, 1u << 20));
    MapView defrag(doc.source(), m.child("defrag"), "detect.defrag");
    VTAP_CONFIG_TRY(defrag.check_keys({"max_datagrams", "timeout_s"}));
    VTAP_CONFIG_TRY(defrag.read("max_datagrams", d.defrag_max_datagrams, 1, 4096));  // flow::DefragConfig
    VTAP_CONFIG_TRY(defrag.read("timeout_s", d.defrag_timeout_s, 1, 3600));
    MapView vars(doc.source(), m.child("vars"), "detect.vars");
    VTAP_CONFIG_TRY(vars.check_keys({"address", "port"}));
    VTAP_CONFIG_TRY(read_vars(vars, "address", d.address_vars));
    VTAP_CONFIG_TRY(read_vars(vars, "port", d.port_vars));
    return {};
}

Result<void> parse_alerts(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("alerts"), "alerts");
    VTAP_CONFIG_TRY(m.check_keys({"eve", "queue_size", "flush_timeout_ms", "rate_limit"}));
    // With outputs listed, the stdout default would duplicate them: alerts.eve
    // then only applies when given.
    YAML::Node outs = doc.child("outputs");
    if (outs.IsDefined() && outs.IsSequence() && outs.size() > 0) cfg.alerts.eve.clear();
    VTAP_CONFIG_TRY(m.read("eve", cfg.alerts.eve));
    VTAP_CONFIG_TRY(m.read("queue_size", cfg.alerts.queue_size, 64, 1u << 20));
    if (cfg.alerts.queue_size & (cfg.alerts.queue_size - 1))
        return m.fail_at("queue_size", "'alerts.queue_size' is " + std::to_string(cfg.alerts.queue_size) +
                                           "; it must be a power of two");
    VTAP_CONFIG_TRY(m.read("flush_timeout_ms", cfg.alerts.flush_timeout_ms, 0, 600000));
    MapView rl(doc.source(), m.child("rate_limit"), "alerts.rate_limit");
    VTAP_CONFIG_TRY(rl.check_keys({"per_signature", "per_seconds"}));
    VTAP_CONFIG_TRY(rl.read("per_signature", cfg.alerts.rate_limit.per_signature, 0, 1000000));
    VTAP_CONFIG_TRY(rl.read("per_seconds", cfg.alerts.rate_limit.per_seconds, 1, 86400));

    auto list = detail::parse_outputs(doc);
    if (!list) return std::unexpected(list.error());
    if (!cfg.alerts.eve.empty()) {
        output::OutputSpec e;
        e.name = "eve";
        e.type = output::OutputType::kEve;
        e.path = cfg.alerts.eve;
        for (size_t i = 0; i < list->size(); i++) {
            const auto& o = (*list)[i];
            const std::string idx = "outputs[" + std::to_string(i) + "]";
            if (o.name == "eve")
                return m.fail_at("eve", "'alerts.eve' is an output named 'eve', and so is " + quote(idx) +
                                            "; rename that one");
            if (o.type == output::OutputType::kEve && o.path == e.path)
                return m.fail_at("eve", "'alerts.eve' writes " + quote(e.path) + " like " + quote(idx) +
                                            "; two writers would interleave lines");
        }
        cfg.outputs.push_back(std::move(e));
    }
    for (auto& o : *list) cfg.outputs.push_back(std::move(o));
    return {};
}

// instance.id: 1..64 of [A-Za-z0-9._-], so it is a valid EVE string and a
// valid RFC 5424 HOSTNAME (printable US-ASCII, no spaces) without escaping.
Result<void> parse_instance(const MapView& doc, Config& cfg) {
    MapView m(doc.source(), doc.child("instance"), "instance");
    VTAP_CONFIG_TRY(m.check_keys({"id"}));
    VTAP_CONFIG_TRY(m.read("id", cfg.instance.id));
    const std::string& id = cfg.instance.id;
    constexpr std::string_view kAllowed =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
    if (id.size() > 64 || id.find_first_not_of(kAllowed) != std::string::npos)
        return m.fail_at("id", "'instance.id' is " + quote(id) +
                                   "; use 1..64 of A-Z a-z 0-9 . _ - (or \"\" for the host name)");
    return {};
}

}  // namespace

Result<void> check_run_to_completion(const PipelineConfig& p) {
    // Run to completion shards nothing: each RX lcore tracks the flows its
    // own queues deliver, and NIC RSS hashes the outer headers (on Azure the
    // tapped VM's address and a UDP source port VTAP does not document), so
    // the two directions of an inner connection can reach different lcores.
    if (p.workers == 0 && p.rx_lcores > 1)
        return fail("pipeline", "'pipeline.workers' is 0 (run to completion) with " + std::to_string(p.rx_lcores) +
                                    " RX lcores: RSS hashes outer headers, so the two directions of a connection "
                                    "can reach different lcores and each would track half of it; use rx_lcores 1, "
                                    "or workers >= 1 (the symmetric inner hash keeps a connection on one worker)");
    return {};
}

namespace {

// Rules that span sections.
Result<void> cross_check(const MapView& doc, const Config& cfg) {
    uint64_t queues = 0, descriptors = 0;
    for (const auto& p : cfg.ports) {
        queues += p.rx_queues;
        descriptors += uint64_t{p.rx_queues} * p.rx_descriptors;
    }
    MapView pipeline(doc.source(), doc.child("pipeline"), "pipeline");
    if (cfg.pipeline.rx_lcores > queues)
        return pipeline.fail_at("rx_lcores",
                                "'pipeline.rx_lcores' is " + std::to_string(cfg.pipeline.rx_lcores) +
                                    " but the ports have only " + std::to_string(queues) +
                                    " RX queues in total; an RX lcore without a queue would idle");
    if (auto r = check_run_to_completion(cfg.pipeline); !r) return pipeline.fail_at("workers", r.error().what);
    // Every RX descriptor holds an mbuf from the start; with fewer mbufs than
    // descriptors the ports cannot start (counted over all ports, which is
    // conservative when ports sit on different NUMA sockets).
    MapView mempool(doc.source(), doc.child("mempool"), "mempool");
    if (cfg.mempool.mbufs <= descriptors)
        return mempool.fail_at("mbufs", "'mempool.mbufs' is " + std::to_string(cfg.mempool.mbufs) +
                                            " but the ports' RX rings hold " +
                                            std::to_string(descriptors) +
                                            " (rx_queues x rx_descriptors); raise mbufs");
    return {};
}

Result<Config> build(const std::string& source, const YAML::Node& root) {
    MapView doc(source, root, "");
    VTAP_CONFIG_TRY(doc.check_keys(
        {"instance", "eal", "ports", "decap", "pipeline", "mempool", "stats", "capture", "detect", "alerts",
         "outputs", "exception", "health"}));
    Config cfg;
    cfg.source = source;
    VTAP_CONFIG_TRY(parse_instance(doc, cfg));
    VTAP_CONFIG_TRY(parse_eal(doc, cfg));
    auto ports = detail::parse_ports(doc);
    if (!ports) return std::unexpected(ports.error());
    cfg.ports = std::move(*ports);
    VTAP_CONFIG_TRY(parse_decap(doc, cfg));
    VTAP_CONFIG_TRY(parse_pipeline(doc, cfg));
    VTAP_CONFIG_TRY(parse_mempool(doc, cfg));
    VTAP_CONFIG_TRY(parse_stats(doc, cfg));
    VTAP_CONFIG_TRY(parse_capture(doc, cfg));
    VTAP_CONFIG_TRY(parse_detect(doc, cfg));
    VTAP_CONFIG_TRY(parse_alerts(doc, cfg));
    VTAP_CONFIG_TRY(detail::parse_exception(doc, cfg));
    VTAP_CONFIG_TRY(detail::parse_health(doc, cfg));
    VTAP_CONFIG_TRY(cross_check(doc, cfg));
    return cfg;
}

}  // namespace

Result<Config> parse(const std::string& yaml_text, const std::string& source_name) {
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(yaml_text);
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp's own message for this one is an unhelpful "bad file".
        return fail(detail::where(source_name, e.mark),
                    "YAML syntax error: nesting deeper than " + std::to_string(e.depth()) +
                        " levels");
    } catch (const YAML::Exception& e) {
        return fail(detail::where(source_name, e.mark), "YAML syntax error: " + e.msg);
    } catch (const std::exception& e) {
        return fail(source_name, std::string("cannot parse YAML: ") + e.what());
    }
    if (docs.empty() || (docs.size() == 1 && docs[0].IsNull()))
        return fail(source_name, "the configuration is empty; 'ports' and 'decap.tap_sources' "
                                 "are required (see conf/vtapd.yaml)");
    if (docs.size() > 1)
        return detail::fail_node(source_name, docs[1],
                                 "the file holds more than one YAML document ('---'); vtapd reads "
                                 "exactly one");
    // MapView avoids the throwing parts of yaml-cpp's node API; the catch is
    // the module boundary's guarantee, not expected control flow.
    try {
        return build(source_name, docs[0]);
    } catch (const std::exception& e) {
        return fail(source_name, std::string("cannot read configuration: ") + e.what());
    }
}

void resolve_pcap_files(Config& cfg, const std::string& base_dir) {
    if (base_dir.empty()) return;
    for (auto& p : cfg.ports) {
        if (p.pcap_file.empty() || std::filesystem::path(p.pcap_file).is_absolute()) continue;
        p.pcap_file = (std::filesystem::path(base_dir) / p.pcap_file).lexically_normal().string();
    }
}

void resolve_rule_files(Config& cfg, const std::string& base_dir) {
    if (base_dir.empty()) return;
    auto fix = [&](std::string& f) {
        if (f.empty() || std::filesystem::path(f).is_absolute()) return;
        f = (std::filesystem::path(base_dir) / f).lexically_normal().string();
    };
    for (auto& f : cfg.detect.rule_files) fix(f);
    fix(cfg.detect.classification_file);
}

Result<Config> load(const std::string& path) {
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found)
        return fail(path, "cannot read configuration file: no such file");
    if (ec) return fail(path, "cannot read configuration file: " + ec.message());
    if (std::filesystem::is_directory(status))
        return fail(path, "cannot read configuration file: it is a directory");
    auto text = read_file_text(path);
    if (!text) return fail(path, "cannot read configuration file: " + text.error().what);

    auto cfg = parse(*text, path);
    if (!cfg) return cfg;
    resolve_pcap_files(*cfg, std::filesystem::path(path).parent_path().string());
    resolve_rule_files(*cfg, std::filesystem::path(path).parent_path().string());
    return cfg;
}

const std::string& default_yaml() {
    static const std::string text(detail::kDefaultYamlText, detail::kDefaultYamlTextSize);
    return text;
}

}  // namespace vtap::config
