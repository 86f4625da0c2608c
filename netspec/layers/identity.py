"""(being written: identity)"""
