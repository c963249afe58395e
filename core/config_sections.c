#include "config_sections.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct scanner {
	const char *text;
	size_t len;
	size_t pos;
	int line;
};

enum token_kind { TOK_END, TOK_WORD, TOK_STRING, TOK_PUNCT, TOK_BAD };

struct token {
	enum token_kind kind;
	size_t start;
	size_t end;     /* for strings: including the quotes */
	int line;
	char punct;
};

static void advance(struct scanner *s)
{
	if (s->text[s->pos] == '\n')
		s->line++;
	s->pos++;
}

static bool skip_comment(struct scanner *s)
{
	const char *t = s->text;

	if (t[s->pos] == '#' || (t[s->pos] == '/' && s->pos + 1 < s->len && t[s->pos + 1] == '/')) {
		while (s->pos < s->len && t[s->pos] != '\n')
			advance(s);
		return true;
	}
	if (t[s->pos] == '/' && s->pos + 1 < s->len && t[s->pos + 1] == '*') {
		advance(s);
		advance(s);
		while (s->pos + 1 < s->len && !(t[s->pos] == '*' && t[s->pos + 1] == '/'))
			advance(s);
		if (s->pos + 1 < s->len) {
			advance(s);
			advance(s);
		} else {
			s->pos = s->len;
		}
		return true;
	}
	return false;
}

static void skip_blanks(struct scanner *s)
{
	while (s->pos < s->len) {
		char c = s->text[s->pos];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == ',')
			advance(s);
		else if (!skip_comment(s))
			return;
	}
}

static bool scan_string(struct scanner *s, char quote)
{
	advance(s);
	while (s->pos < s->len && s->text[s->pos] != quote) {
		if (s->text[s->pos] == '\\' && s->pos + 1 < s->len)
			advance(s);
		advance(s);
	}
	if (s->pos >= s->len)
		return false;
	advance(s);
	return true;
}

static bool is_word_char(char c)
{
	return c && !strchr(" \t\r\n;,{}()=\"'#", c);
}

static struct token next_token(struct scanner *s)
{
	struct token tok = { TOK_END, 0, 0, 0, 0 };
	char c;

	skip_blanks(s);
	tok.start = s->pos;
	tok.line = s->line;
	if (s->pos >= s->len)
		return tok;
	c = s->text[s->pos];
	if (c == '"' || c == '\'') {
		tok.kind = scan_string(s, c) ? TOK_STRING : TOK_BAD;
	} else if (strchr("{}()=", c)) {
		tok.kind = TOK_PUNCT;
		tok.punct = c;
		advance(s);
	} else {
		tok.kind = TOK_WORD;
		while (s->pos < s->len && is_word_char(s->text[s->pos]) &&
		       !(s->text[s->pos] == '/' && s->pos + 1 < s->len &&
			 (s->text[s->pos + 1] == '/' || s->text[s->pos + 1] == '*')))
			advance(s);
	}
	tok.end = s->pos;
	return tok;
}

/* Skip a balanced {...} or (...) whose opening token was just read. */
static bool skip_group(struct scanner *s, char open, char close)
{
	int depth = 1;

	while (depth > 0) {
		struct token tok = next_token(s);

		if (tok.kind == TOK_END || tok.kind == TOK_BAD)
			return false;
		if (tok.kind == TOK_PUNCT && tok.punct == open)
			depth++;
		else if (tok.kind == TOK_PUNCT && tok.punct == close)
			depth--;
	}
	return true;
}

static char *token_text(const char *text, const struct token *tok)
{
	size_t start = tok->start, end = tok->end;

	if (tok->kind == TOK_STRING) {
		start++;
		end--;
	}
	return strndup(text + start, end - start);
}

static int append_span(struct section_span **spans, size_t *n, const char *text,
		       const struct token *name, const struct token *title, size_t end)
{
	struct section_span *grown = realloc(*spans, (*n + 1) * sizeof(**spans));
	struct section_span *span;

	if (!grown)
		return -1;
	*spans = grown;
	span = &grown[*n];
	span->name = token_text(text, name);
	span->title = title ? token_text(text, title) : NULL;
	span->start = name->start;
	span->end = end;
	span->line = name->line;
	if (!span->name || (title && !span->title)) {
		free(span->name);
		free(span->title);
		return -1;
	}
	(*n)++;
	return 0;
}

/*
 * One top-level statement starting with the word `first`: a section
 * (`name [title] {`), an assignment (`key = value`) or a function call
 * (`include(...)`).  Returns false when the rest of the text cannot be
 * scanned.
 */
static bool scan_statement(struct scanner *s, const struct token *first,
			   struct section_span **spans, size_t *n, int *oom)
{
	struct token tok = next_token(s);
	struct token title;
	bool has_title = false;

	if (tok.kind == TOK_PUNCT && tok.punct == '=') {
		tok = next_token(s);
		if (tok.kind == TOK_PUNCT && tok.punct == '{')
			return skip_group(s, '{', '}');
		return tok.kind == TOK_WORD || tok.kind == TOK_STRING;
	}
	if (tok.kind == TOK_PUNCT && tok.punct == '(')
		return skip_group(s, '(', ')');
	if (tok.kind == TOK_WORD || tok.kind == TOK_STRING) {
		title = tok;
		has_title = true;
		tok = next_token(s);
	}
	if (tok.kind != TOK_PUNCT || tok.punct != '{')
		return false;
	if (!skip_group(s, '{', '}'))
		return false;
	if (append_span(spans, n, s->text, first, has_title ? &title : NULL, s->pos) < 0) {
		*oom = 1;
		return false;
	}
	return true;
}

int config_find_sections(const char *text, size_t len,
			 struct section_span **spans, size_t *n_spans, int *stopped_line)
{
	struct scanner s = { text, len, 0, 1 };
	int oom = 0;

	*spans = NULL;
	*n_spans = 0;
	*stopped_line = 0;
	for (;;) {
		struct token tok = next_token(&s);

		if (tok.kind == TOK_END)
			break;
		if (tok.kind != TOK_WORD || !scan_statement(&s, &tok, spans, n_spans, &oom)) {
			*stopped_line = tok.line;
			break;
		}
	}
	if (oom) {
		config_free_sections(*spans, *n_spans);
		*spans = NULL;
		*n_spans = 0;
		return -1;
	}
	return 0;
}

void config_free_sections(struct section_span *spans, size_t n_spans)
{
	for (size_t i = 0; i < n_spans; i++) {
		free(spans[i].name);
		free(spans[i].title);
	}
	free(spans);
}

void config_blank_span(char *text, size_t start, size_t end)
{
	for (size_t i = start; i < end; i++) {
		if (text[i] != '\n')
			text[i] = ' ';
	}
}
