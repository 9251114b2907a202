/*  types - forward declarations of the daemon's types, so that headers
    can name each other's types without including each other, and
    container_of. Nothing else lives here: it is the bottom of daemon/'s
    include graph, below every module (gorod.c, the main, is the top).
*/
#ifndef TYPES_H_INCLUDED
#define TYPES_H_INCLUDED

#include <stddef.h>

typedef struct heap heap_t;
typedef struct heap_node heap_node_t;
typedef struct job job_t;
typedef struct job_table job_table_t;
typedef struct job_links job_links_t;
typedef struct sched sched_t;
typedef struct worker worker_t;
typedef struct worker_table worker_table_t;
typedef struct park park_t;
typedef struct pool pool_t;
typedef struct journal journal_t;
typedef struct server server_t;

/* Gets the struct that embeds MEMBER at PTR. */
#define container_of(ptr, type, member) \
    ((type *) ((char *) (ptr) -offsetof(type, member)))

#endif
