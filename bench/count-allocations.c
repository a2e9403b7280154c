// Counts malloc/calloc/realloc calls, for benchmarks that claim no allocation per item:
//   clang -O2 -shared -fPIC -o .build/bench/count-allocations.so bench/count-allocations.c
//   LD_PRELOAD=.build/bench/count-allocations.so .build/release/bosc-bench FILE
// The benchmark reads the count through sentinel_allocation_count().
#include <stddef.h>
#include <stdatomic.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);

static atomic_ulong allocations;

unsigned long sentinel_allocation_count(void) { return atomic_load(&allocations); }

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}
