// The CPU's CRC-32C instruction (x86-64 SSE4.2 `crc32`, AArch64 `crc32c*`), which Swift cannot
// reach: VitrineStore's CRC32C uses it when `vitrine_crc32c_hardware_available()` says the CPU
// has it, and its own slice-by-8 tables otherwise. Same polynomial (Castagnoli, reflected), same
// results: the register is advanced without the initial and final inversion, as in CRC32C.swift.

#ifndef VITRINE_CRC32C_HARDWARE_H
#define VITRINE_CRC32C_HARDWARE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the instruction, else 0 (cache it: where glibc does not say, the CPU is
/// asked at each call).
int vitrine_crc32c_hardware_available(void);

/// Advances the CRC-32C register `reg` over `count` bytes at `bytes`. Only call it when
/// `vitrine_crc32c_hardware_available()` returned 1.
uint32_t vitrine_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count);

/// Three registers at once over three consecutive segments of `segment` bytes each (a multiple
/// of 8) at `bytes`: `registers[0]` starts from its given value, the other two from 0. The three
/// chains run interleaved (the instruction has a latency of three cycles and a throughput of
/// one), and the caller combines them by shifting (CRC32C.swift). Only call it when available.
void vitrine_crc32c_hardware_update3(uint32_t registers[3], const void *bytes, size_t segment);

/// 1 when this CPU also has a carry-less multiply (x86-64 PCLMULQDQ) beside the CRC-32C
/// instruction, else 0 (cache it, as above).
int vitrine_crc32c_multiply_available(void);

/// a * b * x^33 mod P for reflected polynomials (x^0 = 1 << 31): one carry-less multiply and one
/// CRC-32C instruction, where the bit-by-bit multiply takes ~100 steps. Only call it when
/// `vitrine_crc32c_multiply_available()` returned 1.
uint32_t vitrine_crc32c_multiply_x33(uint32_t a, uint32_t b);

/// Advances the register `reg` over `count` zero bytes (0...4096; larger counts are taken as
/// 4096): `vitrine_crc32c_multiply_x33` by entry `count` of the zero-shift table (ZeroShift.c).
/// Only call it when `vitrine_crc32c_multiply_available()` returned 1.
uint32_t vitrine_crc32c_advance_zeros_x33(uint32_t reg, size_t count);

#endif
