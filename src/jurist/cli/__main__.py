"""`python -m jurist.cli`, as the `jurist` script."""

from . import main

main()
