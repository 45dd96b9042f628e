/*
 * Where each key of a configuration file was written. libxlutil keeps no
 * line per setting and cannot list its settings, so this walks the text a
 * second time, after libxlutil accepted it: the lexical rules below are a
 * subset of libxlu_cfg_l.l that is enough to find `key =`, `key +=` and
 * the start of every top-level list item. It never fails on odd input
 * (each byte is consumed once), it only records less.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "simcfg_impl.h"

enum tok {
	TOK_EOF,
	TOK_ATOM,
	TOK_STRING,
	TOK_OPEN,
	TOK_CLOSE,
	TOK_EQ,
	TOK_ADD,
	TOK_OTHER
};

struct token {
	enum tok kind;
	const char *start;
	size_t len;
	unsigned line;
};

struct lexer {
	const char *p, *end;
	unsigned line;
};

static bool is_atom_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Blanks, comments and the separators (',' ';' newline) carry nothing
 * the scan needs: items are found by bracket depth. */
static void skip_blank(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
			continue;
		}
		if (c == '\n')
			lx->line++;
		else if (!strchr(" \t\r,;", c))
			return;
		lx->p++;
	}
}

/* Quoted strings end at their quote or, unterminated, at a newline;
 * a backslash escapes the next character. */
static void skip_string(struct lexer *lx)
{
	char q = *lx->p++;

	while (lx->p < lx->end && *lx->p != q && *lx->p != '\n') {
		if (*lx->p == '\\' && lx->p + 1 < lx->end && lx->p[1] != '\n')
			lx->p++;
		lx->p++;
	}
	if (lx->p < lx->end && *lx->p == q)
		lx->p++;
}

static enum tok lex_one(struct lexer *lx)
{
	char c = *lx->p;

	if (c == '"' || c == '\'') {
		skip_string(lx);
		return TOK_STRING;
	}
	if (is_atom_char(c)) {
		while (lx->p < lx->end && is_atom_char(*lx->p))
			lx->p++;
		return TOK_ATOM;
	}
	lx->p++;
	if (c == '+' && lx->p < lx->end && *lx->p == '=') {
		lx->p++;
		return TOK_ADD;
	}
	if (c == '=')
		return TOK_EQ;
	if (c == '[')
		return TOK_OPEN;
	return c == ']' ? TOK_CLOSE : TOK_OTHER;
}

static void next_token(struct lexer *lx, struct token *t)
{
	skip_blank(lx);
	t->start = lx->p;
	t->line = lx->line;
	t->kind = lx->p < lx->end ? lex_one(lx) : TOK_EOF;
	t->len = (size_t)(lx->p - t->start);
}

static struct simcfg_key *find_key(const struct simcfg_scan *sc,
				   const char *name, size_t len)
{
	for (unsigned i = 0; i < sc->nr_keys; i++)
		if (sc->keys[i].len == len &&
		    memcmp(sc->keys[i].name, name, len) == 0)
			return &sc->keys[i];
	return NULL;
}

static enum simcfg_scan_result refuse(struct simcfg_scan *sc,
				      const struct token *key,
				      enum simcfg_scan_result why)
{
	sc->bad_key = key->start;
	sc->bad_len = key->len;
	sc->bad_line = key->line;
	return why;
}

static enum simcfg_scan_result start_key(struct simcfg_scan *sc,
					 const struct token *key, bool add,
					 simcfg_known_fn *known,
					 struct simcfg_key **cur)
{
	struct simcfg_key *k = find_key(sc, key->start, key->len);

	if (!known(key->start, key->len))
		return refuse(sc, key, SIMCFG_SCAN_UNKNOWN);
	if (k && !add) {
		sc->first_line = k->line;
		return refuse(sc, key, SIMCFG_SCAN_DUPLICATE);
	}
	if (!k) {
		if (sc->nr_keys == sc->cap) {
			unsigned cap = sc->cap ? 2 * sc->cap : 16;
			void *n = realloc(sc->keys, cap * sizeof(*sc->keys));

			if (!n)
				return SIMCFG_SCAN_NOMEM;
			sc->keys = n;
			sc->cap = cap;
		}
		k = &sc->keys[sc->nr_keys++];
		memset(k, 0, sizeof(*k));
		k->name = key->start;
		k->len = key->len;
		k->line = key->line;
	}
	*cur = k;
	return SIMCFG_SCAN_OK;
}

static enum simcfg_scan_result add_item(struct simcfg_key *k, unsigned line)
{
	if (k->nr_items == k->cap) {
		unsigned cap = k->cap ? 2 * k->cap : 8;
		void *n = realloc(k->item_lines, cap * sizeof(*k->item_lines));

		if (!n)
			return SIMCFG_SCAN_NOMEM;
		k->item_lines = n;
		k->cap = cap;
	}
	k->item_lines[k->nr_items++] = line;
	return SIMCFG_SCAN_OK;
}

enum simcfg_scan_result simcfg_scan(const char *text, size_t len,
				    simcfg_known_fn *known,
				    struct simcfg_scan *sc)
{
	struct lexer lx = {.p = text, .end = text + len, .line = 1};
	struct token t, prev = {.kind = TOK_OTHER};
	struct simcfg_key *cur = NULL;
	enum simcfg_scan_result r = SIMCFG_SCAN_OK;
	unsigned depth = 0;

	memset(sc, 0, sizeof(*sc));
	for (next_token(&lx, &t); t.kind != TOK_EOF && !r;
	     prev = t, next_token(&lx, &t)) {
		if (depth == 0 && prev.kind == TOK_ATOM &&
		    (t.kind == TOK_EQ || t.kind == TOK_ADD)) {
			r = start_key(sc, &prev, t.kind == TOK_ADD, known,
				      &cur);
			continue;
		}
		if (depth == 1 && cur &&
		    (t.kind == TOK_STRING || t.kind == TOK_ATOM ||
		     t.kind == TOK_OPEN))
			r = add_item(cur, t.line);
		if (t.kind == TOK_OPEN)
			depth++;
		else if (t.kind == TOK_CLOSE && depth > 0)
			depth--;
	}
	return r;
}

void simcfg_scan_free(struct simcfg_scan *sc)
{
	for (unsigned i = 0; i < sc->nr_keys; i++)
		free(sc->keys[i].item_lines);
	free(sc->keys);
	memset(sc, 0, sizeof(*sc));
}

const struct simcfg_key *simcfg_scan_find(const struct simcfg_scan *sc,
					  const char *name)
{
	return find_key(sc, name, strlen(name));
}

/* ---- lexical check before libxlutil ------------------------------------- */

/* libxlutil 4.17 leaks list entries when its lexer fails inside a list
 * (xlu__cfg_list_append returns early once ctx->err is set), so text it
 * would refuse lexically never reaches it. The rules are those of
 * libxlu_cfg_l.l: IDENT [a-z][._0-9a-z]*, NUMBER [0-9][0-9a-fx]*, quoted
 * strings without newlines, , [ ] = ; += and comments. Of the escapes its
 * dequoting knows, only the single-character ones are kept: its numeric
 * escapes (\x, octal) misbehave. */
static const char *lex_quoted(const char *p, const char *end, const char **why)
{
	char q = *p++;

	for (; p < end && *p != q; p++) {
		if (*p == '\n')
			break;
		if (*p != '\\')
			continue;
		if (p + 1 >= end || p[1] == '\0' ||
		    !strchr("ntrabfv\\'\"", p[1])) {
			*why = "bad escape in quoted string (allowed: \\n \\t "
			       "\\r \\a \\b \\f \\v \\\\ \\' \\\")";
			return NULL;
		}
		p++;
	}
	if (p >= end || *p != q) {
		*why = "unterminated quoted string";
		return NULL;
	}
	return p + 1;
}

static const char *lex_check(const char *p, const char *end, const char **why)
{
	char c = *p;

	if (c == '\'' || c == '"')
		return lex_quoted(p, end, why);
	if (c >= 'a' && c <= 'z') {
		while (++p < end && ((*p >= 'a' && *p <= 'z') || *p == '.' ||
				     *p == '_' || (*p >= '0' && *p <= '9')))
			;
		return p;
	}
	if (c >= '0' && c <= '9') {
		while (++p < end && ((*p >= '0' && *p <= '9') || *p == 'x' ||
				     (*p >= 'a' && *p <= 'f')))
			;
		return p;
	}
	if (c == '#') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		return nl ? nl : end;
	}
	if (c == '+' && p + 1 < end && p[1] == '=')
		return p + 2;
	if (c != '\0' && strchr(" \t\n,[]=;", c))
		return p + 1;
	*why = "lexical error";
	return NULL;
}

int simcfg_lex_check(const char *text, size_t len, unsigned *line,
		     const char **at, const char **why)
{
	const char *p = text, *end = text + len;

	*line = 1;
	while (p < end) {
		const char *next = lex_check(p, end, why);

		if (!next) {
			*at = p;
			return -1;
		}
		if (*p == '\n')
			(*line)++;
		p = next;
	}
	return 0;
}
