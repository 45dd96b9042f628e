/* Open addressing with linear probing; see u64map.h. */
#include "u64map.h"

#include <stdlib.h>

#include "sim.h"

#define EMPTY 0u
#define DEAD UINT64_MAX

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing spreads sequential ids and page addresses. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 7) & (cap - 1);
}

void sim_u64map_init(struct sim_u64map *m)
{
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->used = m->dead = 0;
}

void sim_u64map_fini(struct sim_u64map *m)
{
	free(m->keys);
	free(m->vals);
	sim_u64map_init(m);
}

static void rehash(struct sim_u64map *m, size_t cap)
{
	struct sim_u64map old = *m;

	m->keys = sim_xcalloc(cap, sizeof(*m->keys));
	m->vals = sim_xcalloc(cap, sizeof(*m->vals));
	m->cap = cap;
	m->used = m->dead = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i] != EMPTY && old.keys[i] != DEAD)
			sim_u64map_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

void sim_u64map_reserve(struct sim_u64map *m, size_t n)
{
	size_t cap = 16;

	while (cap * 3 <= (n + 1) * 4)
		cap *= 2;
	if (cap > m->cap)
		rehash(m, cap);
}

void sim_u64map_put(struct sim_u64map *m, uint64_t key, void *val)
{
	SIM_ASSERT(key != EMPTY && key != DEAD);
	if ((m->used + m->dead + 1) * 4 >= m->cap * 3)
		rehash(m, m->cap ? (m->used * 2 >= m->cap ? m->cap * 2 : m->cap)
				 : 16);
	size_t i = slot_of(key, m->cap), tomb = SIZE_MAX;
	for (;; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return;
		}
		if (m->keys[i] == DEAD && tomb == SIZE_MAX)
			tomb = i;
		if (m->keys[i] == EMPTY)
			break;
	}
	if (tomb != SIZE_MAX) {
		i = tomb;
		m->dead--;
	}
	m->keys[i] = key;
	m->vals[i] = val;
	m->used++;
}

static size_t find(const struct sim_u64map *m, uint64_t key)
{
	if (m->cap == 0 || key == EMPTY || key == DEAD)
		return SIZE_MAX;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return i;
		if (m->keys[i] == EMPTY)
			return SIZE_MAX;
	}
}

void *sim_u64map_get(const struct sim_u64map *m, uint64_t key)
{
	size_t i = find(m, key);
	return i == SIZE_MAX ? NULL : m->vals[i];
}

bool sim_u64map_has(const struct sim_u64map *m, uint64_t key)
{
	return find(m, key) != SIZE_MAX;
}

void *sim_u64map_del(struct sim_u64map *m, uint64_t key)
{
	size_t i = find(m, key);
	if (i == SIZE_MAX)
		return NULL;
	void *val = m->vals[i];
	m->keys[i] = DEAD;
	m->vals[i] = NULL;
	m->used--;
	m->dead++;
	return val;
}

size_t sim_u64map_size(const struct sim_u64map *m)
{
	return m->used;
}

void sim_u64map_each(const struct sim_u64map *m,
		     void (*fn)(uint64_t key, void *val, void *arg), void *arg)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i] != EMPTY && m->keys[i] != DEAD)
			fn(m->keys[i], m->vals[i], arg);
}
