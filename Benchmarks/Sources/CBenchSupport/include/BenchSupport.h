#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

/// Turns off SQLite's memory-usage accounting (`SQLITE_CONFIG_MEMSTATUS`, 0), which SQLite's
/// "recommended compile-time options" page lists as making `sqlite3_malloc` much faster.
/// Must run before the first SQLite call. Returns SQLite's result code.
int bench_sqlite3_disable_memstatus(void);

#include <sqlite3.h>

/// Installs a busy handler that behaves as `sqlite3_busy_timeout(db, timeout_ms)` (SQLite's
/// default handler: same delays, same total) and counts its calls, so a run can report how often
/// a connection found the database busy.
int bench_sqlite3_busy_counting(sqlite3 *db, int timeout_ms);

/// Calls of that busy handler so far, over all connections of the process.
long bench_sqlite3_busy_calls(void);

#endif
