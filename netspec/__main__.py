"""`python -m netspec ...`: the `netspec` command."""

from netspec.cli import main

main()
