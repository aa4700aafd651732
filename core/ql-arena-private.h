/* qlaunch — private: a bump allocator whose memory goes all at once. */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/*
 * QlArena:
 * Memory for many small objects that live and die together (the options
 * and strings of one command line): each allocation takes the next bytes
 * of a block, nothing is freed alone, ql_arena_clear() frees the blocks.
 * Blocks grow from 1 KiB to 32 KiB, under glibc's mmap threshold, so a
 * large command line is a few dozen malloc() calls instead of thousands.
 */
typedef struct _QlArenaBlock QlArenaBlock;

typedef struct
{
  QlArenaBlock *blocks;       /* newest first */
  char *pos;                  /* the next free byte of the newest block */
  char *end;
  gsize next_size;
} QlArena;

/* What every allocation is aligned to. */
#define QL_ARENA_ALIGN 16

void     ql_arena_init        (QlArena    *arena);
void     ql_arena_clear       (QlArena    *arena);
gpointer ql_arena_alloc_slow  (QlArena    *arena,
                               gsize       size);

static inline gpointer
ql_arena_alloc (QlArena *arena,
                gsize    size)
{
  gsize rounded = (size + QL_ARENA_ALIGN - 1) & ~(gsize) (QL_ARENA_ALIGN - 1);
  char *p = arena->pos;

  if (G_LIKELY (rounded <= (gsize) (arena->end - p)))
    {
      arena->pos = p + rounded;
      return p;
    }
  return ql_arena_alloc_slow (arena, rounded);
}

static inline gpointer
ql_arena_alloc0 (QlArena *arena,
                 gsize    size)
{
  return memset (ql_arena_alloc (arena, size), 0, size);
}

/* A copy of the @len bytes at @text, NUL-terminated. */
static inline char *
ql_arena_strndup (QlArena    *arena,
                  const char *text,
                  gsize       len)
{
  char *copy = ql_arena_alloc (arena, len + 1);

  memcpy (copy, text, len);
  copy[len] = '\0';
  return copy;
}

/* A copy of @text; NULL for NULL. */
static inline char *
ql_arena_strdup (QlArena    *arena,
                 const char *text)
{
  return text != NULL ? ql_arena_strndup (arena, text, strlen (text)) : NULL;
}

G_END_DECLS
