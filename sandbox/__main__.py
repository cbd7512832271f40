"""`python -m sandbox demo | ui | serve`: the whole pipeline against the fake APIs."""

import sys

from sandbox.demo import main

sys.exit(main(sys.argv[1:]))
