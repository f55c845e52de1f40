import sys

from gdplayground.cli import main

sys.exit(main())
