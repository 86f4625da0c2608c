"""(being written: random_zoom)"""
