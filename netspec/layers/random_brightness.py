"""(being written: random_brightness)"""
