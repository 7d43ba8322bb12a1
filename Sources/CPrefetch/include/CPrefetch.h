// The CPU's prefetch hint, which Swift cannot emit: `__builtin_prefetch` (x86-64 `prefetcht0`,
// AArch64 `prfm pldl1keep`). A hint only: it never faults, whatever the address, and changes
// no result. VitrineStore's scans use it to ask for the cells and the next leaf ahead of the
// loads that need them (Table.swift, Cursor.swift). Also a load the compiler must make, so that
// the pager can time a page's first fault (Pager.swift).

#ifndef VITRINE_PREFETCH_H
#define VITRINE_PREFETCH_H

/// Asks for the cache line holding `address`, for reading, kept in every cache level.
static inline void vitrine_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// The spin-wait hint (x86-64 `pause`, AArch64 `yield`): a thread polling for work lets the
/// core's other thread run and does not flood the memory bus (PageWriter.swift).
static inline void vitrine_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Reads the byte at `address` (a volatile load: never elided). The address must be readable.
static inline unsigned char vitrine_touch(const void *address) { return *(const volatile unsigned char *)address; }

#endif
