"""(being written: random_crop)"""
