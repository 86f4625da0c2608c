"""Seeing and reviewing models: `netspec plot`, `netspec diff` and `netspec compare`."""
