// `ports:` — one mapping per packet source. Checks what can be checked
// without DPDK: the driver name, the fields that driver needs (and no fields
// it would ignore), address syntax, and that no device is listed twice.
// Whether the PMD exists and accepts the queue counts is drivers/' business.
#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "config/formats.hpp"
#include "config/sections.hpp"

namespace vtap::config::detail {

namespace {

// Keys only some drivers use. A key set for a driver that ignores it is an
// error: "iface: eth1" under a pcap port is a mistake, not a no-op.
struct DriverRule {
    std::string_view name;
    std::string_view required;   // "" = nothing beyond `driver`
    std::array<std::string_view, 3> specific;  // "" pads
};

constexpr std::string_view kSpecificKeys[] = {"pcap_file", "infinite_rx", "preload", "iface", "pci"};

const DriverRule kRules[] = {
    {"pcap", "pcap_file", {"pcap_file", "infinite_rx", "preload"}},
    {"af_packet", "iface", {"iface", "", ""}},
    {"null", "", {"", "", ""}},
    {"ring", "", {"", "", ""}},
    {"netvsc", "pci", {"pci", "", ""}},
    {"mlx5", "pci", {"pci", "", ""}},
    {"mana", "", {"pci", "", ""}},  // mac or pci, checked below
};

const DriverRule* find_rule(std::string_view driver) {
    for (const auto& r : kRules)
        if (r.name == driver) return &r;
    return nullptr;
}

std::string driver_list() {
    std::string s;
    for (const auto& r : kRules) s += (s.empty() ? "" : ", ") + std::string(r.name);
    return s;
}

std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// One spelling per device, so "3B:00.0" and "0000:3b:00.0" collide.
std::string canonical_pci(const std::string& pci) {
    std::string s = lower(pci);
    if (std::ranges::count(s, ':') == 1) return "0000:" + s;
    size_t colon = s.find(':');
    std::string dom = s.substr(0, colon);
    dom.erase(0, std::min(dom.find_first_not_of('0'), dom.size()));
    if (dom.size() < 4) dom.insert(0, 4 - dom.size(), '0');
    return dom + s.substr(colon);
}

std::string canonical_mac(const std::string& mac) {
    std::string s = lower(mac);
    std::ranges::replace(s, '-', ':');
    return s;
}

Result<PortConfig> parse_port(const std::string& source, const YAML::Node& node, size_t index) {
    std::string path = "ports[" + std::to_string(index) + "]";
    if (!node.IsMap())
        return fail_node(source, node, quote(path) + " must be a mapping with at least 'driver', got " +
                                           std::string(kind_name(node)));
    MapView m(source, node, path);
    VTAP_CONFIG_TRY(m.check_keys({"driver", "name", "pcap_file", "infinite_rx", "preload", "iface", "pci",
                                  "mac", "rx_queues", "rx_descriptors", "mtu", "promiscuous",
                                  "allmulti", "devargs"}));

    PortConfig pc;
    if (!m.has("driver"))
        return m.fail_here(std::string("'") + path + ".driver' is missing (one of: " + driver_list() + ")");
    VTAP_CONFIG_TRY(m.read("driver", pc.driver));
    // `driver: null` is YAML's null, not the string "null".
    if (m.child("driver").IsNull())
        return m.fail_at("driver", quote(path + ".driver") + " is empty (YAML null); for the "
                                   "null PMD write it quoted: driver: \"null\"");
    const DriverRule* rule = find_rule(pc.driver);
    if (rule == nullptr)
        return m.fail_at("driver", std::string("'") + path + ".driver' is '" + pc.driver +
                                       "', not a known driver (one of: " + driver_list() + ")");

    for (auto key : kSpecificKeys)
        if (m.has(key) && std::ranges::find(rule->specific, key) == rule->specific.end())
            return m.fail_at(key, quote(m.path(key)) + " does not apply to driver '" +
                                      pc.driver + "'; remove it");

    pc.name = pc.driver + std::to_string(index);
    VTAP_CONFIG_TRY(m.read("name", pc.name));
    if (!is_port_name(pc.name))
        return m.fail_at("name", std::string("'") + m.path("name") + "' is '" + pc.name +
                                     "'; use 1..32 characters of A-Z a-z 0-9 _ . - (it names "
                                     "stats counters)");
    VTAP_CONFIG_TRY(m.read("pcap_file", pc.pcap_file));
    VTAP_CONFIG_TRY(m.read("infinite_rx", pc.infinite_rx));
    VTAP_CONFIG_TRY(m.read("preload", pc.preload));
    if (pc.preload && pc.infinite_rx)
        return m.fail_at("preload", quote(m.path("preload")) + " and '" + m.path("infinite_rx") +
                                        "' exclude each other: preload delivers the file once, infinite_rx forever");
    VTAP_CONFIG_TRY(m.read("iface", pc.iface));
    VTAP_CONFIG_TRY(m.read("pci", pc.pci));
    VTAP_CONFIG_TRY(m.read("mac", pc.mac));
    VTAP_CONFIG_TRY(m.read("rx_queues", pc.rx_queues, 1, 1024));
    VTAP_CONFIG_TRY(m.read("rx_descriptors", pc.rx_descriptors, 32, 32768));
    VTAP_CONFIG_TRY(m.read("mtu", pc.mtu, 0, 65535));
    if (pc.mtu != 0 && pc.mtu < 68)
        return m.fail_at("mtu", std::string("'") + m.path("mtu") + "' is " + std::to_string(pc.mtu) +
                                    "; use 0 (the PMD's default) or 68..65535");
    VTAP_CONFIG_TRY(m.read("promiscuous", pc.promiscuous));
    VTAP_CONFIG_TRY(m.read("allmulti", pc.allmulti));
    VTAP_CONFIG_TRY(m.read("devargs", pc.devargs));

    if (!rule->required.empty()) {
        std::string_view key = rule->required;
        const std::string& value = key == "pcap_file" ? pc.pcap_file
                                   : key == "iface"   ? pc.iface
                                                      : pc.pci;
        if (value.empty())
            return m.fail_here(quote(m.path(key)) + " is required for driver '" + pc.driver + "'");
    }
    if (pc.driver == "mana" && pc.mac.empty() && pc.pci.empty())
        return m.fail_here("driver 'mana' needs '" + m.path("mac") + "' (selects the vPort) or '" +
                           m.path("pci") + "'");
    if (!pc.mac.empty() && !is_mac(pc.mac))
        return m.fail_at("mac", std::string("'") + m.path("mac") + "' is '" + pc.mac +
                                    "', not a MAC address like 00:0d:3a:12:34:56");
    // netvsc devices bound to uio_hv_generic are VMBus devices, named by
    // their VMBus id rather than a PCI address.
    bool vmbus_ok = pc.driver == "netvsc" && is_vmbus_uuid(pc.pci);
    if (!pc.pci.empty() && !is_pci_address(pc.pci) && !vmbus_ok)
        return m.fail_at("pci", std::string("'") + m.path("pci") + "' is '" + pc.pci +
                                    "', not a PCI address like 7870:00:00.0" +
                                    (pc.driver == "netvsc" ? " or a VMBus device id" : ""));
    return pc;
}

// Returns the index of an earlier port that names the same device, if any.
struct Clash {
    size_t other;
    std::string_view key;
};

std::optional<Clash> find_clash(const std::vector<PortConfig>& ports, const PortConfig& pc) {
    for (size_t i = 0; i < ports.size(); i++) {
        const PortConfig& o = ports[i];
        if (o.name == pc.name) return Clash{i, "name"};
        if (!pc.iface.empty() && o.iface == pc.iface) return Clash{i, "iface"};
        if (!pc.mac.empty() && !o.mac.empty() && canonical_mac(o.mac) == canonical_mac(pc.mac))
            return Clash{i, "mac"};
        // A MANA PCI function carries several vPorts told apart by MAC, so
        // a shared PCI address is only a clash when a MAC does not separate them.
        bool by_mac = pc.driver == "mana" && o.driver == "mana" && !pc.mac.empty() && !o.mac.empty();
        if (!pc.pci.empty() && !o.pci.empty() && !by_mac &&
            canonical_pci(o.pci) == canonical_pci(pc.pci))
            return Clash{i, "pci"};
    }
    return std::nullopt;
}

}  // namespace

Result<std::vector<PortConfig>> parse_ports(const MapView& doc) {
    YAML::Node list = doc.child("ports");
    const char* hint = "list at least one port, e.g. '- {driver: pcap, pcap_file: in.pcap}'";
    if (!list.IsDefined()) return doc.fail_here(std::string("'ports' is missing; ") + hint);
    if (list.IsNull() || (list.IsSequence() && list.size() == 0))
        return doc.fail_at("ports", std::string("'ports' is empty; ") + hint);
    if (!list.IsSequence())
        return doc.fail_at("ports", "'ports' must be a list of port mappings, got " +
                                        std::string(kind_name(list)));

    std::vector<PortConfig> ports;
    size_t index = 0;
    for (const auto& node : list) {
        auto pc = parse_port(doc.source(), node, index);
        if (!pc) return std::unexpected(pc.error());
        if (auto c = find_clash(ports, *pc)) {
            std::string key(c->key);
            const PortConfig& o = ports[c->other];
            std::string value = key == "name" ? o.name : key == "iface" ? o.iface
                                                       : key == "mac"   ? o.mac
                                                                        : o.pci;
            MapView m(doc.source(), node, "ports[" + std::to_string(index) + "]");
            return m.fail_at(key == "name" && !m.has("name") ? "driver" : key,
                             "duplicate port: '" + m.path(key) + "' " + value +
                                 " is already used by ports[" + std::to_string(c->other) + "] ('" +
                                 o.name + "')");
        }
        ports.push_back(std::move(*pc));
        index++;
    }
    return ports;
}

}  // namespace vtap::config::detail
