"""`python cli.py ...` in a checkout: the `netspec` command (netspec/cli.py), not installed."""

from netspec.cli import main

if __name__ == "__main__":
    main()
