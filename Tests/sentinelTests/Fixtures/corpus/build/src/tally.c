#include <ctype.h>
#include "tally.h"

size_t tally_words(const char *text, size_t length)
{
	size_t words = 0;
	int inside = 0;
	for (size_t i = 0; i < length; i++) {
		if (isspace((unsigned char)text[i])) {
			inside = 0;
		} else if (!inside) {
			inside = 1;
			words++;
		}
	}
	return words;
}
