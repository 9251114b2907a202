/*  list - the one doubly linked list of gorod: intrusive, FIFO.

    The links live in the item (a list_node_t member) and the list is a
    head, a tail and a count, so that a zero-initialised list is empty
    and a zero-initialised node is in no list: items made with
    util_zalloc need no setup. Push at either end and removal from
    anywhere are O(1) and allocate nothing; LIST_ITEM finds the item from
    its node. An item sits in as many lists as it has nodes, each list
    owning one node.

    Not a container: the list never frees an item.
*/
#ifndef LIST_H_INCLUDED
#define LIST_H_INCLUDED

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct list_node {
    struct list_node *prev, *next;
} list_node_t;

typedef struct {
    list_node_t *head, *tail;
    size_t count;
} list_t;

/* The item of type TYPE whose member MEMBER is NODE, which is not NULL
   (NODE is evaluated once). */
#define LIST_ITEM(node, type, member) \
    ((type *) (void *) ((char *) (node) -offsetof(type, member)))

/* Whether NODE is in LIST. O(1). */
static inline bool
list_contains(const list_t *list, const list_node_t *node)
{
    return node->prev || node->next || list->head == node;
}

static inline void
list_push_back(list_t *list, list_node_t *node)
{
    assert(!list_contains(list, node));
    node->next = NULL;
    node->prev = list->tail;
    if (list->tail)
        list->tail->next = node;
    else
        list->head = node;
    list->tail = node;
    list->count++;
}

static inline void
list_push_front(list_t *list, list_node_t *node)
{
    assert(!list_contains(list, node));
    node->prev = NULL;
    node->next = list->head;
    if (list->head)
        list->head->prev = node;
    else
        list->tail = node;
    list->head = node;
    list->count++;
}

/* Unlinks NODE, which must be in LIST; it is then in no list. */
static inline void
list_remove(list_t *list, list_node_t *node)
{
    assert(list_contains(list, node));
    if (node->prev)
        node->prev->next = node->next;
    else
        list->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        list->tail = node->prev;
    node->prev = node->next = NULL;
    list->count--;
}

/* Removes and returns the first node, NULL if LIST is empty. */
static inline list_node_t *
list_pop_front(list_t *list)
{
    list_node_t *node = list->head;
    if (node)
        list_remove(list, node);
    return node;
}

#endif
