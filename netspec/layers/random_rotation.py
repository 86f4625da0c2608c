"""(being written: random_rotation)"""
