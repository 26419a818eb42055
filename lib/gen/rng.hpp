// The generator's only randomness: std::mt19937_64, whose output sequence the
// C++ standard fixes. Standard distributions are implementation-defined, so
// every draw here is derived from raw engine output: same seed, same bytes,
// on any standard library.
#pragma once

#include <cstdint>
#include <random>

namespace vtap::gen {

class Rng {
public:
    explicit Rng(uint64_t seed) : eng_(seed) {}

    uint64_t next() { return eng_(); }
    // Uniform in [0, n); the modulo bias is below 2^-40 for every n we use.
    uint64_t below(uint64_t n) { return n == 0 ? 0 : eng_() % n; }
    uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }  // inclusive
    double unit() { return static_cast<double>(eng_() >> 11) * 0x1.0p-53; }  // [0, 1)
    bool chance(double p) { return p > 0 && unit() < p; }

private:
    std::mt19937_64 eng_;
};

// Derives an independent seed for a sub-stream (a flow, a message), so one
// flow's bytes do not depend on how many draws other flows made.
constexpr uint64_t mix_seed(uint64_t a, uint64_t b) {
    uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);  // splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

}  // namespace vtap::gen
