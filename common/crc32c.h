#pragma once
// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), as iSCSI, ext4 and LevelDB use it:
// value("123456789") == 0xE3069283. Uses the SSE4.2 crc32 instruction when the CPU has it
// (checked once, at run time), else a table. Thread-safe, no allocation.
#include <cstddef>
#include <cstdint>

namespace tidemq::crc32c {

// The CRC of data[0, n).
uint32_t value(const char* data, size_t n);
// The CRC of A followed by data[0, n), given crc == value(A): value(a + b) == extend(value(a), b).
uint32_t extend(uint32_t crc, const char* data, size_t n);

namespace detail {
// The two implementations behind extend(), for tests. hardware_extend() may only be called when
// hardware_available().
uint32_t software_extend(uint32_t crc, const char* data, size_t n);
uint32_t hardware_extend(uint32_t crc, const char* data, size_t n);
bool hardware_available();
}  // namespace detail

}  // namespace tidemq::crc32c
