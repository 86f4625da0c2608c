"""Torch-side code: modules and functions that builders import lazily."""
