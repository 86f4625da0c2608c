"""`python -m netspec.reference [--builtin] [-o FILE]`: print (or write) docs/reference.md."""

from .document import main

if __name__ == "__main__":
    raise SystemExit(main())
