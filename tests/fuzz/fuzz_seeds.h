#pragma once
// Seed inputs for each fuzz target, in that target's input format: valid frames streams, record
// batches and envelopes, plus a few near-misses. Deterministic for a given rng seed. Used by the
// standalone driver as its corpus and written out by `--write-seeds DIR` for libFuzzer.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tidemq::fuzz {

// Seeds for "frame_decoder", "record_batch", "envelope", "handlers" or "raw_broker"; empty for an
// unknown name.
std::vector<std::string> seeds_for(std::string_view target, uint64_t rng_seed = 1);

}  // namespace tidemq::fuzz
