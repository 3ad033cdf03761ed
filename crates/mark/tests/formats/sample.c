#include <stdio.h>

#define LONG_MACRO(x) \
    ((x) * 2 \
     + 1)

static const char *s1 = "not // a comment /* nor this";
static const char *s2 = "line one\n"
                        "line two";
static const char c1 = '"';

/*
 * A block comment

 * with a blank line.
 */
static int table[] = {
    1,

    2,
};
@FILLER@
int main(void) {
    printf("%s|%s|%c|%d|%d\n", s1, s2, c1, LONG_MACRO(3), table[1]);
    return 0;
}
