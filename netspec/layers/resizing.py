"""(being written: resizing)"""
