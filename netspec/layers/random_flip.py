"""(being written: random_flip)"""
