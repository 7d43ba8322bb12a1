// See include/CRC32CHardware.h. Compiled for the baseline CPU; the functions that use the
// instruction are compiled for it alone (target attribute) and reached only after the run-time
// check, so the binary still runs on a CPU without it.

#include "CRC32CHardware.h"
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

// glibc's dynamic loader asks the CPU for its features once per process (to pick memcpy and the
// like); <sys/platform/x86.h> reads what it found. Asking again with CPUID costs a VM exit per
// leaf in a virtual machine: the two checks were ~35 us of opening a database in a new process
// (Benchmarks/README.md, session 17).
#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>

int vitrine_crc32c_hardware_available(void) { return CPU_FEATURE_ACTIVE(SSE4_2) ? 1 : 0; }

int vitrine_crc32c_multiply_available(void) {
    return CPU_FEATURE_ACTIVE(SSE4_2) && CPU_FEATURE_ACTIVE(PCLMULQDQ) ? 1 : 0;
}
#else
int vitrine_crc32c_hardware_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0;
}

int vitrine_crc32c_multiply_available(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    return (c & bit_SSE4_2) != 0 && (c & bit_PCLMUL) != 0;
}
#endif

extern const uint32_t vitrine_crc32c_zero_shift_x33[4097];

// The carry-less product of two reflected 32-bit polynomials is their 63-bit product, reflected
// (bit k holds x^(62 - k)); as the instruction's 64 data bits it reads as that product times x,
// and the instruction returns data * x^32 mod P. So: a * b * x^33 mod P.
__attribute__((target("sse4.2,pclmul")))
uint32_t vitrine_crc32c_multiply_x33(uint32_t a, uint32_t b) {
    __m128i product = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)a), _mm_cvtsi32_si128((int)b), 0);
    return (uint32_t)__builtin_ia32_crc32di(0, (uint64_t)_mm_cvtsi128_si64(product));
}

__attribute__((target("sse4.2,pclmul")))
uint32_t vitrine_crc32c_advance_zeros_x33(uint32_t reg, size_t count) {
    return vitrine_crc32c_multiply_x33(vitrine_crc32c_zero_shift_x33[count <= 4096 ? count : 4096], reg);
}

__attribute__((target("sse4.2")))
uint32_t vitrine_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint64_t c = reg;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);  // unaligned-safe; compiles to one load
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        count -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (count > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
        count--;
    }
    return c32;
}

__attribute__((target("sse4.2")))
void vitrine_crc32c_hardware_update3(uint32_t registers[3], const void *bytes, size_t segment) {
    const unsigned char *p = bytes;
    uint64_t a = registers[0], b = 0, c = 0;
    for (size_t o = 0; o + 8 <= segment; o += 8) {
        uint64_t x, y, z;
        memcpy(&x, p + o, 8);
        memcpy(&y, p + segment + o, 8);
        memcpy(&z, p + 2 * segment + o, 8);
        a = __builtin_ia32_crc32di(a, x);
        b = __builtin_ia32_crc32di(b, y);
        c = __builtin_ia32_crc32di(c, z);
    }
    registers[0] = (uint32_t)a;
    registers[1] = (uint32_t)b;
    registers[2] = (uint32_t)c;
}

#elif defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>

// Not yet done with the polynomial multiply (PMULL) here: the software multiply is used.
int vitrine_crc32c_multiply_available(void) { return 0; }

uint32_t vitrine_crc32c_multiply_x33(uint32_t a, uint32_t b) {
    (void)a;
    return b;  // never called: unavailable
}

uint32_t vitrine_crc32c_advance_zeros_x33(uint32_t reg, size_t count) {
    (void)count;
    return reg;  // never called: unavailable
}
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif

int vitrine_crc32c_hardware_available(void) {
    return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0;
}

__attribute__((target("crc")))
uint32_t vitrine_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count) {
    const unsigned char *p = bytes;
    uint32_t c = reg;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_arm_crc32cd(c, word);
        p += 8;
        count -= 8;
    }
    while (count > 0) {
        c = __builtin_arm_crc32cb(c, *p++);
        count--;
    }
    return c;
}

__attribute__((target("crc")))
void vitrine_crc32c_hardware_update3(uint32_t registers[3], const void *bytes, size_t segment) {
    const unsigned char *p = bytes;
    uint32_t a = registers[0], b = 0, c = 0;
    for (size_t o = 0; o + 8 <= segment; o += 8) {
        uint64_t x, y, z;
        memcpy(&x, p + o, 8);
        memcpy(&y, p + segment + o, 8);
        memcpy(&z, p + 2 * segment + o, 8);
        a = __builtin_arm_crc32cd(a, x);
        b = __builtin_arm_crc32cd(b, y);
        c = __builtin_arm_crc32cd(c, z);
    }
    registers[0] = a;
    registers[1] = b;
    registers[2] = c;
}

#else

int vitrine_crc32c_hardware_available(void) { return 0; }

int vitrine_crc32c_multiply_available(void) { return 0; }

uint32_t vitrine_crc32c_multiply_x33(uint32_t a, uint32_t b) {
    (void)a;
    return b;  // never called: unavailable
}

uint32_t vitrine_crc32c_advance_zeros_x33(uint32_t reg, size_t count) {
    (void)count;
    return reg;  // never called: unavailable
}

uint32_t vitrine_crc32c_hardware_update(uint32_t reg, const void *bytes, size_t count) {
    (void)bytes;
    (void)count;
    return reg;  // never called: unavailable
}

void vitrine_crc32c_hardware_update3(uint32_t registers[3], const void *bytes, size_t segment) {
    (void)registers;
    (void)bytes;
    (void)segment;  // never called: unavailable
}

#endif
