/*
 * Seeded randomness: xoshiro256** (Blackman and Vigna), its state filled
 * by splitmix64 from the 64-bit seed. The only randomness in a simulation.
 * Independent streams (per domain, per fault class) get their seeds from
 * sim_seed_derive, so each is a function of the run's seed and its key.
 */
#include "sim.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t sim_seed_derive(uint64_t seed, uint64_t key)
{
	/* Mix the key on its own first: keys are small integers that
	 * differ in few bits, and xoring them into the seed unmixed would
	 * give related (seed, key) pairs equal results. */
	uint64_t k = key;
	uint64_t x = seed ^ splitmix64(&k);

	return splitmix64(&x);
}

void sim_rng_seed(struct sim_rng *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t sim_rng_below(struct sim_rng *rng, uint64_t bound)
{
	if (bound == 0)
		return 0;
	/* Rejection sampling keeps the draw unbiased. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t x;
	do
		x = sim_rng_next(rng);
	while (x >= limit);
	return x % bound;
}

bool sim_rng_chance(struct sim_rng *rng, uint32_t per_million)
{
	if (per_million == 0)
		return false;
	return sim_rng_below(rng, 1000000) < per_million;
}
