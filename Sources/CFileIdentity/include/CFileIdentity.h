// statx(2) for VitrineStore's page-cache origin (System/PageCacheOrigin.swift): Glibc's Swift
// module does not export statx (it needs _GNU_SOURCE), and only statx reports a file's birth
// time, which tells a file from a later one that reused its inode number.

#ifndef VITRINE_FILE_IDENTITY_H
#define VITRINE_FILE_IDENTITY_H

#include <stdint.h>

/// What names one file instance on one machine.
struct vitrine_file_identity {
    uint64_t device;        // makedev(major, minor) of the file system
    uint64_t inode;
    int64_t birth_seconds;  // creation time (statx btime)
    uint32_t birth_nanoseconds;
};

/// Fills `out` for the open file `fd`. Returns 1 when the file system reports a birth time
/// (the identity is complete), 0 when it does not, -1 with errno set when statx fails.
int vitrine_file_identity(int fd, struct vitrine_file_identity *out);

#endif
