#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

/// Turns off SQLite's memory-usage accounting (`SQLITE_CONFIG_MEMSTATUS`, 0), which SQLite's
/// "recommended compile-time options" page lists as making `sqlite3_malloc` much faster.
/// Must run before the first SQLite call. Returns SQLite's result code.
int bench_sqlite3_disable_memstatus(void);

#endif
