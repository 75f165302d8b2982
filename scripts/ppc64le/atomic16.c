/*
 * 16-byte atomics for the ppc64le Swift runtime, built without quadword atomics.
 *
 * QEMU's ppc64 translator (7.2, Debian 12) never lets `stqcx.` succeed, so code that uses
 * the POWER8 `lqarx`/`stqcx.` pair for a 16-byte compare-and-swap spins forever under
 * qemu-user and qemu-system TCG alike. scripts/build-swift-ppc64le.sh builds the runtime,
 * libdispatch and every Swift module (kexboot's too, through the SDK's toolset) with
 * `-target-feature -quadword-atomics`, which turns those operations into calls to the
 * libatomic-style functions below. GCC's libatomic would use the same instructions, so
 * these take a lock instead: a small table of spin locks made of 4-byte atomics (which
 * QEMU translates correctly), chosen by the object's address. Every 16-byte atomic access
 * in the program goes through here, so the lock is what makes them atomic.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef unsigned __int128 u128;

#define LOCKS 64
static int locks[LOCKS];

static int *lock_for(const volatile void *p) {
    uintptr_t a = (uintptr_t)p;
    return &locks[(a >> 4) % LOCKS];
}

/* Full fences around the locked section: each operation is then sequentially consistent
 * with the program's other atomics, whatever order it was asked for. */
static void take(int *l) {
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __asm__ __volatile__("or 27,27,27" ::: "memory"); /* yield the SMT thread */
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void give(int *l) {
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

u128 __atomic_load_16(const volatile void *p, int order) {
    (void)order;
    int *l = lock_for(p);
    take(l);
    u128 v;
    memcpy(&v, (const void *)p, sizeof v);
    give(l);
    return v;
}

void __atomic_store_16(volatile void *p, u128 v, int order) {
    (void)order;
    int *l = lock_for(p);
    take(l);
    memcpy((void *)p, &v, sizeof v);
    give(l);
}

u128 __atomic_exchange_16(volatile void *p, u128 v, int order) {
    (void)order;
    int *l = lock_for(p);
    take(l);
    u128 old;
    memcpy(&old, (const void *)p, sizeof old);
    memcpy((void *)p, &v, sizeof v);
    give(l);
    return old;
}

bool __atomic_compare_exchange_16(volatile void *p, void *expected, u128 desired, int success,
                                  int failure) {
    (void)success, (void)failure;
    int *l = lock_for(p);
    take(l);
    bool same = memcmp((const void *)p, expected, sizeof desired) == 0;
    if (same)
        memcpy((void *)p, &desired, sizeof desired);
    else
        memcpy(expected, (const void *)p, sizeof desired);
    give(l);
    return same;
}

#define FETCH_OP(name, expr)                                                    \
    u128 __atomic_fetch_##name##_16(volatile void *p, u128 v, int order) {      \
        (void)order;                                                            \
        int *l = lock_for(p);                                                   \
        take(l);                                                                \
        u128 old;                                                               \
        memcpy(&old, (const void *)p, sizeof old);                              \
        u128 new = (expr);                                                      \
        memcpy((void *)p, &new, sizeof new);                                    \
        give(l);                                                                \
        return old;                                                             \
    }

FETCH_OP(add, old + v)
FETCH_OP(sub, old - v)
FETCH_OP(and, old & v)
FETCH_OP(or, old | v)
FETCH_OP(xor, old ^ v)
FETCH_OP(nand, ~(old & v))
