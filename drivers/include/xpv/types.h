/* SPDX-License-Identifier: MIT */
/*
 * Fixed-width types and a few compiler built-ins for the portable cores.
 *
 * The cores are compiled freestanding (-ffreestanding -nostdinc) in the
 * simulator, in the freestanding test and inside a kernel, so nothing here
 * includes a header: the types come from the compiler's predefined macros,
 * which gcc and clang provide identically in every one of those builds.
 */
#ifndef XPV_TYPES_H
#define XPV_TYPES_H

typedef __UINT8_TYPE__ xpv_u8;
typedef __UINT16_TYPE__ xpv_u16;
typedef __UINT32_TYPE__ xpv_u32;
typedef __UINT64_TYPE__ xpv_u64;
typedef __INT8_TYPE__ xpv_s8;
typedef __INT16_TYPE__ xpv_s16;
typedef __INT32_TYPE__ xpv_s32;
typedef __INT64_TYPE__ xpv_s64;
typedef __SIZE_TYPE__ xpv_size;
typedef __UINTPTR_TYPE__ xpv_uptr;
typedef _Bool xpv_bool;

#define XPV_NULL ((void *)0)
#define XPV_TRUE ((xpv_bool)1)
#define XPV_FALSE ((xpv_bool)0)

#define XPV_PAGE_SIZE 4096u
#define XPV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define XPV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define XPV_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Compile-time assertion usable at file scope. */
#define XPV_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)

/* The built-ins lower to memcpy/memset, which every environment provides. */
#define xpv_memcpy(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define xpv_memset(dst, c, n) __builtin_memset((dst), (c), (n))
#define xpv_memcmp(a, b, n) __builtin_memcmp((a), (b), (n))
#define xpv_strlen(s) __builtin_strlen(s)

#define xpv_likely(x) __builtin_expect(!!(x), 1)
#define xpv_unlikely(x) __builtin_expect(!!(x), 0)

#endif /* XPV_TYPES_H */
