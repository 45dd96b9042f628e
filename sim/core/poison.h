/*
 * Marking memory the simulator keeps for reuse (pools) as off limits, so
 * AddressSanitizer still reports a use after free into it. No-ops in other
 * builds.
 */
#ifndef SIM_CORE_POISON_H
#define SIM_CORE_POISON_H

#if defined(__SANITIZE_ADDRESS__)
#define SIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIM_ASAN 1
#endif
#endif

#ifdef SIM_ASAN
#include <sanitizer/asan_interface.h>
#define SIM_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define SIM_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SIM_POISON(p, n) ((void)(p), (void)(n))
#define SIM_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif /* SIM_CORE_POISON_H */
