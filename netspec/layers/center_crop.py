"""(being written: center_crop)"""
