/*
 * Inside the replay player (player.h): naming differences for messages
 * (player_fields.c).
 */
#ifndef SIM_REPLAY_PLAYER_IMPL_H
#define SIM_REPLAY_PLAYER_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "player.h"
#include "sim/trace/trace.h"

/* The first difference between the payloads of two records of type
 * type, as "field NAME: expected X, got Y". */
void replay_describe_diff(int type, const uint8_t *expected, size_t elen,
			  const uint8_t *got, size_t glen, char *out,
			  size_t len);
/* A string from a trace for a message: printable bytes as they are,
 * others (and backslashes) as \xNN, at most 96 bytes then "...". */
void replay_printable(char *out, size_t len, const uint8_t *p, size_t n);
#define REPLAY_SHOWN (96 * 4 + 8) /* room for replay_printable's output */
/* What a record is: "request on ring 1 (vscsiif) slot 3, idx 19",
 * "dom1 xenstore write of /local/...", ... */
void replay_describe_rec(int type, unsigned domid, const uint8_t *payload,
			 size_t len, char *out, size_t outlen);

#endif /* SIM_REPLAY_PLAYER_IMPL_H */
