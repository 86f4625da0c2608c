"""(being written: random_translation)"""
