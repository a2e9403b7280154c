#ifndef TALLY_H
#define TALLY_H
#include <stddef.h>

/* Counts the words of a request's body. */
size_t tally_words(const char *text, size_t length);

#endif
