// Test helpers for the syslog sender: free loopback ports, a plain TCP
// receiver that undoes octet counting, a real rsyslogd in the background, and
// alert records with distinct sids formatted the way vtapd will send them.
#pragma once

#include <arpa/inet.h>
#include <csignal>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "alert/eve_json.hpp"
#include "output/syslog_format.hpp"
#include "output/syslog_tcp.hpp"
#include "tests/support/process.hpp"

namespace vtap::test {

inline void sleep_ms(int ms) { ::poll(nullptr, 0, ms); }

// A port nothing listens on right now (bound to 0, then released).
inline uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error("free_port: bind failed");
    ::close(fd);
    return ntohs(a.sin_port);
}

// Splits an octet-counted stream into messages; `rest` gets an incomplete tail.
// Returns false on a framing error (what a real receiver would choke on).
inline bool unframe(const std::string& stream, std::vector<std::string>& msgs, std::string* rest = nullptr) {
    size_t i = 0;
    while (i < stream.size()) {
        const size_t sp = stream.find(' ', i);
        if (sp == std::string::npos) break;
        if (sp == i || sp - i > 9) return false;
        size_t len = 0;
        for (size_t k = i; k < sp; k++) {
            if (stream[k] < '0' || stream[k] > '9') return false;
            len = len * 10 + size_t(stream[k] - '0');
        }
        if (stream.size() - (sp + 1) < len) break;
        msgs.push_back(stream.substr(sp + 1, len));
        i = sp + 1 + len;
    }
    if (rest) *rest = stream.substr(i);
    else if (i != stream.size()) return false;
    return true;
}

inline alert::AlertRecord sample_alert(uint32_t sid) {
    alert::AlertRecord r;
    r.ts_ns = 1'795'305'326'123'456'789ull + uint64_t(sid) * 1000;
    r.set_ipv4(htonl(0xC6120A01), htonl(0xC6120A02));  // 198.18.10.1 -> 198.18.10.2
    r.src_port = 40000;
    r.dst_port = 80;
    r.ip_proto = 6;
    r.sid = sid;
    r.rev = 1;
    r.priority = uint8_t(1 + sid % 4);
    r.msg.set("ET TEST \"quoted\"\nnewline and \xc3\xa9 sid " + std::to_string(sid));
    r.class_name.set("trojan-activity");
    r.class_desc.set("A Network Trojan was detected");
    const std::string payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n12 <13>1 fake frame\n";
    r.payload.set(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
    return r;
}

// The syslog message vtapd would send for `rec`.
inline std::string syslog_message(alert::EveFormatter& f, const output::SyslogHeader& h,
                                  const alert::AlertRecord& rec) {
    std::string line, msg;
    f.format(rec, line);
    output::format_alert(h, rec, line, msg);
    return msg;
}

// rsyslogd -n with imtcp on 127.0.0.1:port, writing each message's MSG to
// msgs.log and "PRI APP PROCID MSGID" to hdrs.log, one line per message.
// One rsyslogd in the foreground (-n) with a config file, its stdout and
// stderr in DIR/rsyslogd.out; stopped with SIGTERM (SIGKILL after 3 s).
// Shared by the fixtures below, which differ only in the config they write.
class RsyslogProcess {
public:
    static constexpr const char* kBinary = "/usr/sbin/rsyslogd";

    void start(const TempDir& dir, const std::string& conf) {
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            const int out = ::open((dir / "rsyslogd.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out >= 0) {
                ::dup2(out, 1);
                ::dup2(out, 2);
            }
            const std::string pidfile = dir / "rsyslogd.pid";
            ::execl(kBinary, kBinary, "-n", "-f", conf.c_str(), "-i", pidfile.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
    }
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        int st = 0;
        for (int i = 0; i < 300 && ::waitpid(pid_, &st, WNOHANG) == 0; i++) sleep_ms(10);
        if (::waitpid(pid_, &st, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &st, 0);
        }
        pid_ = -1;
    }
    bool running() const {
        int st = 0;
        return pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == 0;
    }
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
};

class Rsyslog {
public:
    static constexpr const char* kBinary = "/usr/sbin/rsyslogd";

    Rsyslog(const TempDir& dir, uint16_t port) : dir_(dir) {
        const std::string conf = dir / "rsyslog.conf";
        write(conf,
              "global(workDirectory=\"" + dir.path + "\" maxMessageSize=\"64k\")\n"
              "module(load=\"imtcp\")\n"
              "template(name=\"msgonly\" type=\"string\" string=\"%msg%\\n\")\n"
              "template(name=\"hdr\" type=\"string\" string=\"%pri% %app-name% %procid% %msgid% %hostname%\\n\")\n"
              "ruleset(name=\"vtap\") {\n"
              "  action(type=\"omfile\" file=\"" + msgs() + "\" template=\"msgonly\")\n"
              "  action(type=\"omfile\" file=\"" + hdrs() + "\" template=\"hdr\")\n"
              "}\n"
              "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(port) + "\" ruleset=\"vtap\")\n");
        proc_.start(dir_, conf);
    }
    ~Rsyslog() { stop(); }
    Rsyslog(const Rsyslog&) = delete;
    Rsyslog& operator=(const Rsyslog&) = delete;

    void stop() { proc_.stop(); }
    bool running() const { return proc_.running(); }
    std::string msgs() const { return dir_ / "msgs.log"; }
    std::string hdrs() const { return dir_ / "hdrs.log"; }
    std::string log() const { return dir_ / "rsyslogd.out"; }

private:
    static void write(const std::string& path, const std::string& text) {
        FILE* f = std::fopen(path.c_str(), "w");
        if (!f) throw std::runtime_error("cannot write " + path);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    const TempDir& dir_;
    RsyslogProcess proc_;
};

inline size_t count_lines(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return 0;
    size_t n = 0;
    for (int c; (c = std::fgetc(f)) != EOF;) n += c == '\n';
    std::fclose(f);
    return n;
}

}  // namespace vtap::test

namespace vtap::test {
inline std::string read_file_or_empty(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return {};
    std::string s;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
    std::fclose(f);
    return s;
}
}  // namespace vtap::test

// Added for the UDP, unix-socket, fault and end-to-end tests: an rsyslogd
// with any mix of imtcp, imudp and imuxsock inputs, restartable on the same
// ports and socket (for collector-restart tests), appending every message to
// msgs.log and its parsed header ("PRI VERSION APP PROCID MSGID HOST") to
// hdrs.log.
namespace vtap::test {

struct RsyslogInputs {
    uint16_t tcp_port = 0;  // 0 = no imtcp
    uint16_t udp_port = 0;  // 0 = no imudp
    std::string unix_path;  // "" = no imuxsock
};

inline bool proc_net_has_port(const char* table, uint16_t port, const char* state) {
    char want[16];
    std::snprintf(want, sizeof want, ":%04X", port);
    const std::string text = read_file_or_empty(table);
    for (size_t at = text.find(want); at != std::string::npos; at = text.find(want, at + 1)) {
        const size_t line = text.rfind('\n', at);
        const std::string row = text.substr(line + 1, text.find('\n', at) - line - 1);
        // "sl local_address rem_address st": the local address comes first.
        char local[64], remote[64], st[8];
        if (std::sscanf(row.c_str(), "%*s %63s %63s %7s", local, remote, st) == 3 &&
            std::string(local).ends_with(want) && std::string(st) == state)
            return true;
    }
    return false;
}

class RsyslogServer {
public:
    RsyslogServer(const TempDir& dir, RsyslogInputs in) : dir_(dir), in_(std::move(in)) { start(); }
    ~RsyslogServer() { stop(); }
    RsyslogServer(const RsyslogServer&) = delete;
    RsyslogServer& operator=(const RsyslogServer&) = delete;

    void start() {
        const std::string conf = dir_ / "rsyslog-server.conf";
        std::string text = "global(workDirectory=\"" + dir_.path + "\" maxMessageSize=\"64k\")\n"
                           "template(name=\"msgonly\" type=\"string\" string=\"%msg%\\n\")\n"
                           "template(name=\"hdr\" type=\"string\" string=\"%pri% %protocol-version% %app-name% "
                           "%procid% %msgid% %hostname%\\n\")\n"
                           "ruleset(name=\"vtap\") {\n"
                           "  action(type=\"omfile\" file=\"" + msgs() + "\" template=\"msgonly\")\n"
                           "  action(type=\"omfile\" file=\"" + hdrs() + "\" template=\"hdr\")\n"
                           "}\n";
        if (in_.tcp_port)
            text += "module(load=\"imtcp\")\ninput(type=\"imtcp\" address=\"127.0.0.1\" port=\"" +
                    std::to_string(in_.tcp_port) + "\" ruleset=\"vtap\")\n";
        if (in_.udp_port)
            text += "module(load=\"imudp\")\ninput(type=\"imudp\" address=\"127.0.0.1\" port=\"" +
                    std::to_string(in_.udp_port) + "\" ruleset=\"vtap\" rcvbufSize=\"8m\")\n";
        if (!in_.unix_path.empty())
            text += "module(load=\"imuxsock\" SysSock.Use=\"off\")\ninput(type=\"imuxsock\" Socket=\"" + in_.unix_path +
                    "\" ruleset=\"vtap\" rateLimit.interval=\"0\")\n";
        FILE* f = std::fopen(conf.c_str(), "w");
        if (!f) throw std::runtime_error("cannot write " + conf);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        proc_.start(dir_, conf);
    }

    // SIGTERM: rsyslogd finishes writing what it has read, then exits.
    void stop() { proc_.stop(); }

    // Every configured input is listening (TCP LISTEN, UDP bound, socket file present).
    bool wait_ready(int timeout_ms = 10000) const {
        for (int waited = 0; waited < timeout_ms; waited += 10) {
            bool ok = proc_.pid() > 0;
            if (in_.tcp_port) ok = ok && proc_net_has_port("/proc/net/tcp", in_.tcp_port, "0A");
            if (in_.udp_port) ok = ok && proc_net_has_port("/proc/net/udp", in_.udp_port, "07");
            if (!in_.unix_path.empty()) ok = ok && ::access(in_.unix_path.c_str(), F_OK) == 0;
            if (ok) return true;
            sleep_ms(10);
        }
        return false;
    }

    std::string msgs() const { return dir_ / "server-msgs.log"; }
    std::string hdrs() const { return dir_ / "server-hdrs.log"; }
    std::string log() const { return dir_ / "rsyslogd-server.out"; }

private:
    const TempDir& dir_;
    RsyslogInputs in_;
    RsyslogProcess proc_;
};

// Lines of msgs.log parsed as JSON by Python's strict parser; prints each
// line's sid, or fails (status != 0) on the first line that is not JSON.
inline Output json_sids(const std::string& python, const std::string& path) {
    return run_cmd(python + " -c 'import json,sys\nfor l in open(sys.argv[1], encoding=\"utf-8\"):\n"
                            "    print(json.loads(l)[\"alert\"][\"signature_id\"])' '" + path + "'");
}

}  // namespace vtap::test


// --- syslog over TLS (RFC 5425): certificates made at run time, rsyslog's gtls driver ---
namespace vtap::test {

// A throwaway PKI made with certtool (gnutls-bin): a CA, a server
// certificate for localhost / 127.0.0.1, a client certificate, and a second,
// unrelated CA for the wrong-CA cases. ECDSA P-256 keys: quick to generate.
struct TestPki {
    std::string ca, ca_key, server, server_key, client, client_key, other_ca;
};

inline TestPki make_pki(const TempDir& dir) {
    auto write_text = [](const std::string& path, const std::string& text) {
        FILE* f = std::fopen(path.c_str(), "w");
        if (!f) throw std::runtime_error("cannot write " + path);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    };
    auto run = [](const std::string& cmd) {
        const Output o = run_cmd(cmd);
        if (o.status != 0) throw std::runtime_error("certtool failed: " + cmd + "\n" + o.text);
    };
    auto key = [&](const std::string& path) { run("certtool --generate-privkey --key-type=ecdsa --outfile '" + path + "'"); };
    TestPki p{dir / "ca.pem",     dir / "ca-key.pem",     dir / "server.pem", dir / "server-key.pem",
              dir / "client.pem", dir / "client-key.pem", dir / "other-ca.pem"};
    write_text(dir / "ca.tmpl", "cn = \"vtapd test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
    write_text(dir / "server.tmpl",
               "cn = \"localhost\"\ndns_name = \"localhost\"\nip_address = \"127.0.0.1\"\n"
               "tls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n");
    write_text(dir / "client.tmpl", "cn = \"vtapd-sensor\"\ntls_www_client\nsigning_key\nexpiration_days = 2\n");
    key(p.ca_key);
    run("certtool --generate-self-signed --load-privkey '" + p.ca_key + "' --template '" + (dir / "ca.tmpl") +
        "' --outfile '" + p.ca + "'");
    struct Leaf {
        std::string cert, key, tmpl;
    };
    for (const Leaf& l : {Leaf{p.server, p.server_key, "server.tmpl"}, Leaf{p.client, p.client_key, "client.tmpl"}}) {
        key(l.key);
        run("certtool --generate-certificate --load-privkey '" + l.key + "' --load-ca-certificate '" + p.ca +
            "' --load-ca-privkey '" + p.ca_key + "' --template '" + (dir / l.tmpl) + "' --outfile '" + l.cert + "'");
    }
    key(dir / "other-ca-key.pem");
    run("certtool --generate-self-signed --load-privkey '" + (dir / "other-ca-key.pem") + "' --template '" +
        (dir / "ca.tmpl") + "' --outfile '" + p.other_ca + "'");
    return p;
}

// rsyslogd -n with imtcp on 127.0.0.1:port, over the gtls netstream driver
// (rsyslog-gnutls) when `pki` is given, writing the same msgs.log / hdrs.log
// as Rsyslog (or nothing with `discard`, for benchmarks).
// require_client_cert: AuthMode x509/certvalid (the client must present a
// certificate signed by the CA), else anon (server-authenticated TLS only).
struct RsyslogOptions {
    const TestPki* pki = nullptr;  // null: plain TCP
    bool require_client_cert = false;
    bool discard = false;          // parse every message, store none
};

class RsyslogTls {
public:
    static constexpr const char* kDriver = "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so";

    RsyslogTls(const TempDir& dir, uint16_t port, const TestPki& pki, bool require_client_cert = false)
        : RsyslogTls(dir, port, RsyslogOptions{.pki = &pki, .require_client_cert = require_client_cert}) {}

    RsyslogTls(const TempDir& dir, uint16_t port, const RsyslogOptions& o) : dir_(dir) {
        const std::string conf = dir / "rsyslog-tls.conf";
        const std::string msgs = dir / "msgs.log", hdrs = dir / "hdrs.log";
        std::string text = "global(workDirectory=\"" + dir.path + "\" maxMessageSize=\"64k\"";
        if (o.pki)
            text += "\n  DefaultNetstreamDriver=\"gtls\" DefaultNetstreamDriverCAFile=\"" + o.pki->ca + "\"\n"
                    "  DefaultNetstreamDriverCertFile=\"" + o.pki->server + "\" DefaultNetstreamDriverKeyFile=\"" +
                    o.pki->server_key + "\")\n"
                    "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=\"" +
                    std::string(o.require_client_cert ? "x509/certvalid" : "anon") + "\")\n";
        else
            text += ")\nmodule(load=\"imtcp\")\n";
        text +=
            "template(name=\"msgonly\" type=\"string\" string=\"%msg%\\n\")\n"
            "template(name=\"hdr\" type=\"string\" string=\"%pri% %app-name% %procid% %msgid% %hostname%\\n\")\n"
            "ruleset(name=\"vtap\") {\n" +
            std::string(o.discard ? "  if $app-name == \"no-such-app\" then action(type=\"omfile\" file=\"/dev/null\")\n  stop\n"
                                  : "  action(type=\"omfile\" file=\"" + msgs + "\" template=\"msgonly\")\n"
                                    "  action(type=\"omfile\" file=\"" + hdrs + "\" template=\"hdr\")\n") +
            "}\n"
            "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"" + std::to_string(port) + "\" ruleset=\"vtap\")\n";
        FILE* f = std::fopen(conf.c_str(), "w");
        if (!f) throw std::runtime_error("cannot write " + conf);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
        proc_.start(dir_, conf);
    }
    ~RsyslogTls() { stop(); }
    RsyslogTls(const RsyslogTls&) = delete;
    RsyslogTls& operator=(const RsyslogTls&) = delete;

    void stop() { proc_.stop(); }
    bool running() const { return proc_.running(); }
    std::string msgs() const { return dir_ / "msgs.log"; }
    std::string hdrs() const { return dir_ / "hdrs.log"; }
    std::string log() const { return dir_ / "rsyslogd.out"; }

private:
    const TempDir& dir_;
    RsyslogProcess proc_;
};

// Waits (polling the sender) until rsyslog listens on 127.0.0.1:port, so a
// test that expects a TLS failure is not fooled by a refused connection.
inline bool wait_listening(uint16_t port, int timeout_ms = 5000) {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return true;
        sleep_ms(20);
    }
    return false;
}

}  // namespace vtap::test

namespace vtap::test {

// Each line of an rsyslog msgs.log parsed as JSON by `python` (must succeed
// for every line); the alerts' signature ids in file order.
inline std::vector<uint32_t> json_sid_list(const std::string& python, const std::string& path) {
    const Output o = run_cmd(python +
                             " -c 'import json,sys\nfor l in open(sys.argv[1], encoding=\"utf-8\"):\n"
                             "    print(json.loads(l)[\"alert\"][\"signature_id\"])' '" + path + "'");
    if (o.status != 0) throw std::runtime_error("not one JSON alert per line in " + path + ":\n" + o.text);
    std::vector<uint32_t> out;
    size_t i = 0;
    while (i < o.text.size()) {
        const size_t nl = o.text.find('\n', i);
        const std::string line = o.text.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
        if (!line.empty()) out.push_back(uint32_t(std::stoul(line)));
        if (nl == std::string::npos) break;
        i = nl + 1;
    }
    return out;
}

// Polls the sender until `path` holds `n` lines or `timeout_ms` passes.
inline bool deliver_lines(output::SyslogTcpSender& s, const std::string& path, size_t n, int timeout_ms = 10000) {
    const uint64_t deadline = output::SyslogTcpSender::monotonic_ns() + uint64_t(timeout_ms) * 1'000'000u;
    while (output::SyslogTcpSender::monotonic_ns() < deadline) {
        s.poll(output::SyslogTcpSender::monotonic_ns());
        if (count_lines(path) >= n) return true;
        sleep_ms(5);
    }
    return false;
}

// Polls the sender for `ms` milliseconds (a failing collector: backoff runs).
inline void poll_for(output::SyslogTcpSender& s, int ms) {
    const uint64_t until = output::SyslogTcpSender::monotonic_ns() + uint64_t(ms) * 1'000'000u;
    while (output::SyslogTcpSender::monotonic_ns() < until) {
        s.poll(output::SyslogTcpSender::monotonic_ns());
        sleep_ms(2);
    }
}

}  // namespace vtap::test
