#pragma once
// Sample wire buffers for tests and fuzz seeds: one valid Envelope per Body kind, every field set
// (strings, vectors, nested tables, record batches), so a verifier or a walker sees each layout.
#include <string>
#include <vector>

#include "schemas/envelope_generated.h"

namespace tidemq::test {

// A finished Envelope buffer whose body is `kind` (Body::NONE gives an envelope with only an
// error code and message). `error_message` lets a test find a string in the bytes.
std::string sample_envelope(wire::Body kind, uint64_t correlation_id = 42,
                            const std::string& error_message = "sample-error-message");

// Every Body value from NONE to Body::MAX.
std::vector<wire::Body> all_body_kinds();

// A valid record batch of `count` records (used as the records of Produce/Fetch bodies).
std::string sample_record_batch(int count, uint64_t base_offset = 0);

}  // namespace tidemq::test
