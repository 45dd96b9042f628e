/*
 * A small open-addressing hash map from non-zero 64-bit keys to pointers.
 * Used for pending events by id, open requests by key, frames by address.
 * Deterministic: iteration order depends only on the sequence of calls.
 */
#ifndef SIM_CORE_U64MAP_H
#define SIM_CORE_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_u64map {
	uint64_t *keys; /* 0: empty slot, UINT64_MAX: deleted */
	void **vals;
	size_t cap;     /* power of two, or 0 */
	size_t used;    /* live entries */
	size_t dead;    /* deleted markers */
};

void sim_u64map_init(struct sim_u64map *m);
void sim_u64map_fini(struct sim_u64map *m);
/* Room for n entries without growing (an optimisation only). */
void sim_u64map_reserve(struct sim_u64map *m, size_t n);
/* Inserts or replaces. key must not be 0 or UINT64_MAX. */
void sim_u64map_put(struct sim_u64map *m, uint64_t key, void *val);
void *sim_u64map_get(const struct sim_u64map *m, uint64_t key);
bool sim_u64map_has(const struct sim_u64map *m, uint64_t key);
/* Returns the removed value, or NULL. */
void *sim_u64map_del(struct sim_u64map *m, uint64_t key);
size_t sim_u64map_size(const struct sim_u64map *m);
/* Visit every entry; the callback must not modify the map. */
void sim_u64map_each(const struct sim_u64map *m,
		     void (*fn)(uint64_t key, void *val, void *arg), void *arg);

#endif /* SIM_CORE_U64MAP_H */
