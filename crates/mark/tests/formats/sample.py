#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Module docstring.

# not a comment: inside the docstring

with a blank line above.
"""
import sys

TEMPLATE = """
first

# inside a string at column 0

last
"""

RAW = r'''raw \' still

inside'''


def joined():
    return ("a"

            "b")
@FILLER@

def main():
    print(repr(__doc__))
    print(repr(TEMPLATE), repr(RAW), joined())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
