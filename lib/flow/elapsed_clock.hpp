// ElapsedClock: the clock a FlowTable (and Defrag) ages its entries on.
//
// Its input is capture time offline and the wall clock live, and either can
// step backwards: captures merged from several taken years apart (the ndpi
// mix in ../shared steps back 64 times), an NTP step on a live collector.
// Entries are kept in lists ordered by the time they were last seen, and
// expiry and eviction walk those lists from the oldest end; fed a time that
// stepped back, a list's head looks "seen in the future", and both stop
// behind it until the input catches up — for the rest of the capture when it
// stepped back by years (the table then refuses every new flow once full).
//
// So the clock sums the input's forward progress and never runs backwards:
//   - a step back of more than kStepBackNs rebases (no time passes; counted);
//   - a smaller one reads as no progress: packets of several RX queues or
//     workers arrive slightly out of time order, and rebasing on each would
//     let the clock run ahead of real time by the reordering jitter every
//     time it happens.
// While the input never steps back the clock equals it.
#pragma once

#include <cstdint>

namespace vtap::flow {

class ElapsedClock {
public:
    static constexpr uint64_t kStepBackNs = 1'000'000'000;

    // Moves the clock by the input's progress since the last call; true when
    // the input stepped back by more than kStepBackNs (a rebase).
    bool advance(uint64_t input_ns) noexcept {
        if (input_ns >= input_ns_) {
            now_ns_ += input_ns - input_ns_;
            input_ns_ = input_ns;
            return false;
        }
        if (input_ns_ - input_ns <= kStepBackNs) return false;
        input_ns_ = input_ns;
        return true;
    }
    uint64_t now() const noexcept { return now_ns_; }

private:
    uint64_t input_ns_ = 0;  // the input at the last call
    uint64_t now_ns_ = 0;
};

}  // namespace vtap::flow
