/*
 * Xen's own io/ring.h from libxen-dev, for the simulator's backend models.
 * Backends use the real macros (BACK_RING_INIT, RING_COPY_REQUEST,
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY, ...), so the frontend ring code is
 * always exercised against Xen's reference implementation of the other side.
 * ring.h expects the includer to supply the barriers.
 */
#ifndef SIM_BACKENDS_XEN_RING_H
#define SIM_BACKENDS_XEN_RING_H

#include <stdint.h>
#include <string.h>

#ifndef mb
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#include <xen/xen.h>
#include <xen/io/ring.h>

#endif /* SIM_BACKENDS_XEN_RING_H */
