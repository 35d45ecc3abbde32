"""`python -m sfttui` runs the command line."""

from .cli import main

main()
