"""The window's sizes, which the command line shares (no Qt here): the smallest the window is
laid out for, which `gdplayground screenshot --size` holds to, and the one it opens at."""

SMALLEST = (1024, 640)  # every tab lays out in it; nothing in the window may ask for more
LARGEST = (4000, 3000)  # for a screenshot
OPENING = (1440, 900)  # or nine tenths of a smaller screen, though never below SMALLEST
