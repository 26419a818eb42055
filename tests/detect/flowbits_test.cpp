// flowbits: a rule's set/unset/toggle change its flow's bits once it has
// matched (alerting or not); isset/isnotset are part of the match. Readers
// are confirmed after the other candidates of a scan, so a reader sees what
// a setter in the same packet set (Suricata orders setters first).
#include "tests/detect/detect_fixture.hpp"

using namespace vtap;
using namespace vtap::detect;
using namespace vtap::detect::test;
using Cmd = rules::Flowbit::Cmd;

namespace {

rules::Rule fb(rules::Rule r, Cmd cmd, std::vector<std::string> names, bool any = false) {
    r.flowbits.push_back(rules::Flowbit{cmd, std::move(names), any});
    return r;
}

rules::Rule quiet(rules::Rule r) {
    r.noalert = true;
    return r;
}

PacketInfo with_bits(FlowBits& bits) {
    PacketInfo p = tcp_info();
    p.flowbits = &bits;
    return p;
}

}  // namespace

TEST_CASE("detect flowbits: a noalert setter arms a reader on a later packet of the flow", "[detect][flowbits]") {
    Engine e({quiet(fb(rule(1, {C("USER admin")}), Cmd::kSet, {"login"})),
              fb(rule(2, {C("DELETE")}), Cmd::kIsSet, {"login"})});
    CHECK(e.db->stats().flowbit_names == 1);
    CHECK(e.db->stats().flowbit_check_rules == 1);
    FlowBits bits;
    CHECK(e.packet("DELETE *", with_bits(bits)).empty());    // not set yet
    CHECK(e.packet("USER admin", with_bits(bits)).empty());  // sets, says nothing
    CHECK(bits.n == 1);
    CHECK(e.packet("DELETE *", with_bits(bits)) == Sids{2});
    FlowBits other;                                          // another flow
    CHECK(e.packet("DELETE *", with_bits(other)).empty());
    CHECK(e.packet("DELETE *").empty());                     // no flow: isset does not match
}

TEST_CASE("detect flowbits: a reader sees a setter that matched earlier in the same packet", "[detect][flowbits]") {
    // The reader is the lower rule index: without the second pass it would be
    // confirmed first and miss the bit.
    Engine e({fb(rule(1, {C("pass")}), Cmd::kIsSet, {"u"}), fb(rule(2, {C("user")}), Cmd::kSet, {"u"})});
    FlowBits bits;
    CHECK(e.packet("user x pass y", with_bits(bits)) == Sids{2, 1});
}

TEST_CASE("detect flowbits: isnotset, unset, toggle and any-of lists", "[detect][flowbits]") {
    Engine e({fb(rule(1, {C("first")}), Cmd::kIsNotSet, {"seen"}),
              quiet(fb(rule(2, {C("first")}), Cmd::kSet, {"seen"})),
              quiet(fb(rule(3, {C("reset")}), Cmd::kUnset, {"seen"})),
              quiet(fb(rule(4, {C("flip")}), Cmd::kToggle, {"t"})),
              fb(rule(5, {C("check")}), Cmd::kIsSet, {"t", "seen"}, true)});
    FlowBits bits;
    // isnotset is confirmed after the setter of the same packet (readers
    // last), so "first" sets the bit and the reader then finds it set.
    CHECK(e.packet("first", with_bits(bits)).empty());
    CHECK(bits.isset(0));
    CHECK(e.packet("check", with_bits(bits)) == Sids{5});  // any of t|seen: seen is set
    CHECK(e.packet("reset", with_bits(bits)).empty());
    CHECK(e.packet("check", with_bits(bits)).empty());     // neither set
    CHECK(e.packet("flip", with_bits(bits)).empty());
    CHECK(e.packet("check", with_bits(bits)) == Sids{5});  // t set
    CHECK(e.packet("flip", with_bits(bits)).empty());
    CHECK(e.packet("check", with_bits(bits)).empty());     // t toggled back off
    FlowBits fresh;
    CHECK(e.packet("nothing to see", with_bits(fresh)).empty());
    CHECK(fresh.n == 0);
    Engine alone({fb(rule(1, {C("first")}), Cmd::kIsNotSet, {"seen"})});
    CHECK(alone.packet("first", with_bits(fresh)) == Sids{1});
    CHECK(alone.packet("first").empty());  // no flow: isnotset does not match either (Suricata)
}

TEST_CASE("detect flowbits: a flow holds at most kMax bits; the refused set is counted", "[detect][flowbits]") {
    std::vector<rules::Rule> rules;
    for (uint32_t i = 0; i <= FlowBits::kMax; ++i)
        rules.push_back(quiet(fb(rule(100 + i, {C("bit" + std::to_string(i) + ";")}), Cmd::kSet, {"b" + std::to_string(i)})));
    rules.push_back(fb(rule(1, {C("probe")}), Cmd::kIsSet, {"b" + std::to_string(FlowBits::kMax)}));
    Engine e(rules);
    FlowBits bits;
    std::string all;
    for (uint32_t i = 0; i <= FlowBits::kMax; ++i) all += "bit" + std::to_string(i) + "; ";
    CHECK(e.packet(all, with_bits(bits)).empty());
    CHECK(bits.n == FlowBits::kMax);
    CHECK(e.scanner->counters().flowbits_full == 1);
    CHECK(e.packet("probe", with_bits(bits)).empty());  // the 16th bit was never set
}

TEST_CASE("detect flowbits: header-only readers and stream readers", "[detect][flowbits]") {
    // A reader without content (evaluated on every packet after the header
    // checks) and a stream rule set by a packet rule of the same flow.
    Engine e({fb(rule(1), Cmd::kIsSet, {"armed"}), quiet(fb(rule(2, {C("arm")}), Cmd::kSet, {"armed"})),
              fb(rule(3, {C("exfil")}), Cmd::kIsSet, {"armed"})});
    // The content-less reader is keyed by its bit (Suricata's flowbits
    // prefilter): not a candidate on a flow without it.
    CHECK(e.db->stats().groups[static_cast<size_t>(GroupId::kTcpPacket)].flowbit_indexed == 1);
    CHECK(e.db->stats().groups[static_cast<size_t>(GroupId::kTcpPacket)].always == 0);
    FlowBits bits;
    CHECK(e.packet("nothing", with_bits(bits)).empty());
    CHECK(e.scanner->counters().candidates == 0);
    StreamHandle h = e.scanner->open_stream();
    CHECK(e.stream(h, "exfil", with_bits(bits)).empty());
    CHECK(e.stream(h, "arm", with_bits(bits)).empty());  // the stream setter arms the flow
    CHECK(e.packet("anything", with_bits(bits)) == Sids{1});
    CHECK(e.stream(h, "exfil again", with_bits(bits)) == Sids{3});
    e.scanner->close_stream(h);
}
