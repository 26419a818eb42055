// vtapd: parse arguments, load the configuration, run the pipeline, print
// what it saw, map errors to exit codes. No packet logic lives here.
//   exit 0  ran (or --check-config passed)
//   exit 1  configuration error
//   exit 2  usage error
//   exit 3  runtime error (EAL, ports, memory)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <climits>
#include <unistd.h>

#include <rte_eal.h>

#include "config/config.hpp"
#include "runtime/pipeline.hpp"
#include "runtime/rule_loading.hpp"

namespace {

constexpr const char* kUsage = R"(usage: vtapd [options] [-- EAL arguments]

Receives Azure Virtual Network TAP traffic (VXLAN, UDP 4789) through DPDK,
strips the encapsulation, shards inner flows to workers and reports counters.

  -c, --config FILE       configuration (default: the embedded demo config,
                          see conf/vtapd.yaml)
      --check-config      validate the configuration and exit
      --test-rules        load and compile detect.rule_files, print what loaded,
                          what was skipped and why, and exit (1 on rule errors)
      --rules FILE        use this rule file instead of detect.rule_files
                          (may be repeated)
      --pcap FILE         offline: read FILE through net_pcap instead of the
                          configured ports, exit at end of file
      --workers N         worker lcores (0 = run to completion on the RX lcore)
      --rx-lcores N       RX lcores
      --duration S        stop after S seconds
      --stats-file FILE   write the final counters as flat JSON
      --stats-interval S  print counters every S seconds
      --print-config      print the embedded default configuration and exit
  -h, --help              this text
Arguments after "--" are appended to the EAL arguments from the config.
)";

vtap::runtime::Pipeline* g_pipeline = nullptr;

void on_signal(int) {
    if (g_pipeline) g_pipeline->stop();
}

// logrotate renames the EVE file and sends SIGHUP: reopen, do not stop.
void on_hangup(int) {
    if (g_pipeline) g_pipeline->request_reopen();
}

bool parse_uint(const char* s, unsigned long max, unsigned long& out) {
    char* end = nullptr;
    errno = 0;
    out = std::strtoul(s, &end, 10);
    return errno == 0 && end && *end == '\0' && *s != '-' && out <= max;
}

struct Args {
    std::string config;
    std::string pcap;
    std::string stats_file;
    bool check = false;
    bool test_rules = false;
    std::vector<std::string> rule_files;
    long workers = -1, rx_lcores = -1, interval = -1;
    double duration = 0;
    std::vector<std::string> eal;
};

// EAL leaves its runtime directory, /var/run/dpdk/<file-prefix>, behind:
// one per run. The telemetry socket in it is unlinked by an atexit handler
// EAL registers, so the directory is removed by one registered before EAL
// starts (atexit handlers run in reverse order).
char g_runtime_dir[PATH_MAX];

void remove_runtime_dir() {
    if (g_runtime_dir[0]) rmdir(g_runtime_dir);
}

void cleanup_eal() {
    std::snprintf(g_runtime_dir, sizeof g_runtime_dir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
}

int usage_error(const std::string& msg) {
    std::fprintf(stderr, "vtapd: %s\n%s", msg.c_str(), kUsage);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::atexit(remove_runtime_dir);
    Args a;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) return nullptr;
            (void)name;
            return argv[++i];
        };
        unsigned long n;
        if (arg == "--") {
            for (i++; i < argc; i++) a.eal.emplace_back(argv[i]);
            break;
        } else if (arg == "-h" || arg == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (arg == "--print-config") {
            std::fputs(vtap::config::default_yaml().c_str(), stdout);
            return 0;
        } else if (arg == "-c" || arg == "--config") {
            const char* v = value("--config");
            if (!v) return usage_error("--config needs a file");
            a.config = v;
        } else if (arg == "--check-config") {
            a.check = true;
        } else if (arg == "--test-rules") {
            a.test_rules = true;
        } else if (arg == "--rules") {
            const char* v = value("--rules");
            if (!v) return usage_error("--rules needs a file");
            a.rule_files.emplace_back(v);
        } else if (arg == "--pcap") {
            const char* v = value("--pcap");
            if (!v) return usage_error("--pcap needs a file");
            a.pcap = v;
        } else if (arg == "--stats-file") {
            const char* v = value("--stats-file");
            if (!v) return usage_error("--stats-file needs a file");
            a.stats_file = v;
        } else if (arg == "--workers" || arg == "--rx-lcores" || arg == "--stats-interval") {
            const char* v = value(arg.c_str());
            if (!v || !parse_uint(v, 64 * 1024, n)) return usage_error(arg + " needs a non-negative integer");
            (arg == "--workers" ? a.workers : arg == "--rx-lcores" ? a.rx_lcores : a.interval) = static_cast<long>(n);
        } else if (arg == "--duration") {
            const char* v = value("--duration");
            char* end = nullptr;
            if (!v || (a.duration = std::strtod(v, &end), !end || *end || a.duration <= 0))
                return usage_error("--duration needs a positive number of seconds");
        } else {
            return usage_error("unknown option '" + arg + "'");
        }
    }

    auto cfg = a.config.empty() ? vtap::config::parse(vtap::config::default_yaml(), "<embedded default>")
                                : vtap::config::load(a.config);
    if (!cfg) {
        std::fprintf(stderr, "vtapd: configuration error: %s\n", cfg.error().to_string().c_str());
        return 1;
    }
    if (cfg && a.config.empty()) {
        vtap::config::resolve_pcap_files(*cfg, VTAP_DEMO_DIR);
        vtap::config::resolve_rule_files(*cfg, VTAP_CONF_DIR);
    }
    if (!a.pcap.empty()) {
        vtap::config::PortConfig p;
        p.driver = "pcap";
        p.name = "pcap0";
        p.pcap_file = a.pcap;
        cfg->ports = {p};
    }
    if (a.workers >= 0) cfg->pipeline.workers = static_cast<uint16_t>(a.workers);
    if (a.rx_lcores >= 0) cfg->pipeline.rx_lcores = static_cast<uint16_t>(a.rx_lcores);
    if (a.interval >= 0) cfg->stats.interval_s = static_cast<uint32_t>(a.interval);
    if (!a.stats_file.empty()) cfg->stats.file = a.stats_file;
    if (!a.rule_files.empty()) cfg->detect.rule_files = a.rule_files;
    cfg->eal_args.insert(cfg->eal_args.end(), a.eal.begin(), a.eal.end());
    // The file was validated on load; the command line may only set what it
    // parses itself, so these are the only ranges left to check.
    if (cfg->pipeline.workers > 64) return usage_error("--workers must be at most 64");
    if (cfg->pipeline.rx_lcores < 1 || cfg->pipeline.rx_lcores > 64) return usage_error("--rx-lcores must be 1..64");
    if (auto r = vtap::config::check_run_to_completion(cfg->pipeline); !r) return usage_error(r.error().what);
    if (a.test_rules) {
        if (cfg->detect.rule_files.empty()) {
            std::fprintf(stderr, "vtapd: no rule files configured (detect.rule_files or --rules)\n");
            return 1;
        }
        auto loaded = vtap::runtime::load_and_compile(cfg->detect);
        if (!loaded) {
            std::fprintf(stderr, "vtapd: %s\n", loaded.error().to_string().c_str());
            return 1;
        }
        std::fputs(loaded->report.c_str(), stdout);
        std::printf("%s\n", loaded->summary.c_str());
        return loaded->errors ? 1 : 0;
    }
    if (a.check) {
        std::printf("vtapd: configuration %s is valid (%zu port(s), %u rx lcore(s), %u worker(s), %zu alert output(s))\n",
                    cfg->source.c_str(), cfg->ports.size(), cfg->pipeline.rx_lcores, cfg->pipeline.workers,
                    cfg->outputs.size());
        return 0;
    }

    auto pipeline = vtap::runtime::start(*cfg, argv[0]);
    if (!pipeline) {
        std::fprintf(stderr, "vtapd: %s\n", pipeline.error().to_string().c_str());
        cleanup_eal();
        return 3;
    }
    // Ports are open and receiving into their rings from here on: scripts and
    // tests wait for this line before sending traffic.
    std::string names;
    for (const auto& p : cfg->ports) names += (names.empty() ? "" : ", ") + p.name;
    std::printf("vtapd: running: %zu port(s) [%s], %u rx lcore(s), %u worker(s)\n", cfg->ports.size(),
                names.c_str(), cfg->pipeline.rx_lcores, cfg->pipeline.workers);
    std::fflush(stdout);
    g_pipeline = pipeline->get();
    struct sigaction sa{};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    struct sigaction hup{};
    hup.sa_handler = on_hangup;
    hup.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &hup, nullptr);

    vtap::runtime::RunOptions opt;
    opt.duration_s = a.duration;
    opt.print = [](const std::string& s) { std::fputs(s.c_str(), stdout); std::fflush(stdout); };
    auto stats = (*pipeline)->run(opt);
    g_pipeline = nullptr;
    int rc = 0;
    if (!stats) {
        std::fprintf(stderr, "vtapd: %s\n", stats.error().to_string().c_str());
        rc = 3;
    } else {
        std::printf("vtapd: final statistics\n%s", vtap::runtime::format_table(*stats).c_str());
        if (!cfg->stats.file.empty())
            if (auto w = vtap::runtime::write_json(*stats, cfg->stats.file); !w) {
                std::fprintf(stderr, "vtapd: %s\n", w.error().to_string().c_str());
                rc = 3;
            }
    }
    pipeline->reset();
    cleanup_eal();
    return rc;
}
