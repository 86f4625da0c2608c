"""(being written: random_contrast)"""
