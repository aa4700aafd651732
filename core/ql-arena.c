/* qlaunch — QlArena: a bump allocator for one command line's objects. */
#include "ql-arena-private.h"

struct _QlArenaBlock
{
  QlArenaBlock *next;
  gsize size;
  /* The data follows, aligned. */
};

#define HEADER_SIZE ((sizeof (QlArenaBlock) + QL_ARENA_ALIGN - 1) & ~(gsize) (QL_ARENA_ALIGN - 1))
#define FIRST_BLOCK_SIZE 1024
#define MAX_BLOCK_SIZE (32 * 1024)

void
ql_arena_init (QlArena *arena)
{
  arena->blocks = NULL;
  arena->pos = arena->end = NULL;
  arena->next_size = FIRST_BLOCK_SIZE;
}

void
ql_arena_clear (QlArena *arena)
{
  QlArenaBlock *block = arena->blocks;

  while (block != NULL)
    {
      QlArenaBlock *next = block->next;

      g_free (block);
      block = next;
    }
  ql_arena_init (arena);
}

/* @size is rounded already and does not fit in the newest block. */
gpointer
ql_arena_alloc_slow (QlArena *arena,
                     gsize    size)
{
  gsize data_size = MAX (arena->next_size - HEADER_SIZE, size);
  QlArenaBlock *block = g_malloc (HEADER_SIZE + data_size);
  char *data = (char *) block + HEADER_SIZE;

  block->size = data_size;
  if (arena->next_size < MAX_BLOCK_SIZE)
    arena->next_size *= 2;
  if (size > data_size / 2 && arena->blocks != NULL)
    {
      /* A large object gets a block of its own, behind the newest one:
       * the free rest of that block stays in use. */
      block->next = arena->blocks->next;
      arena->blocks->next = block;
      return data;
    }
  block->next = arena->blocks;
  arena->blocks = block;
  arena->pos = data + size;
  arena->end = data + data_size;
  return data;
}
