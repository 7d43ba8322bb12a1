#include <sqlite3.h>
#include "BenchSupport.h"

int bench_sqlite3_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

#include <stdatomic.h>

static atomic_long busy_calls;

/* SQLite's own default busy handler (sqliteDefaultBusyCallback in main.c, for builds with
   usleep): the same delays, the same total timeout, plus a count of how often it was called. */
static int bench_busy_handler(void *timeout_ms, int count) {
    static const unsigned char delays[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };
    static const unsigned char totals[] = { 0, 1, 3, 8, 18, 33, 53, 78, 103, 128, 178, 228 };
    const int n = (int)(sizeof(delays) / sizeof(delays[0]));
    int timeout = (int)(long)timeout_ms;
    int delay, prior;
    atomic_fetch_add_explicit(&busy_calls, 1, memory_order_relaxed);
    if (count < n) {
        delay = delays[count];
        prior = totals[count];
    } else {
        delay = delays[n - 1];
        prior = totals[n - 1] + delay * (count - (n - 1));
    }
    if (prior + delay > timeout) {
        delay = timeout - prior;
        if (delay <= 0) return 0;
    }
    sqlite3_sleep(delay);
    return 1;
}

int bench_sqlite3_busy_counting(sqlite3 *db, int timeout_ms) {
    return sqlite3_busy_handler(db, bench_busy_handler, (void *)(long)timeout_ms);
}

long bench_sqlite3_busy_calls(void) {
    return atomic_load_explicit(&busy_calls, memory_order_relaxed);
}
