#include <stdio.h>
#include <string.h>
#include "tally.h"

static int check(const char *text, size_t expected)
{
	size_t words = tally_words(text, strlen(text));
	if (words != expected)
		fprintf(stderr, "\"%s\": %zu words, expected %zu\n", text, words, expected);
	return words == expected;
}

int main(void)
{
	int passed = check("", 0) & check("tea", 1) & check("  green tea\n and cocoa ", 4);
	return passed ? 0 : 1;
}
