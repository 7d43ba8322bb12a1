// See include/CFileIdentity.h.

#define _GNU_SOURCE
#include "CFileIdentity.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int vitrine_file_identity(int fd, struct vitrine_file_identity *out) {
    struct statx st;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_BTIME, &st) != 0) return -1;
    out->device = makedev(st.stx_dev_major, st.stx_dev_minor);
    out->inode = st.stx_ino;
    out->birth_seconds = st.stx_btime.tv_sec;
    out->birth_nanoseconds = st.stx_btime.tv_nsec;
    return (st.stx_mask & STATX_BTIME) && (st.stx_mask & STATX_INO) ? 1 : 0;
}
