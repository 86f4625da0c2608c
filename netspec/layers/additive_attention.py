"""(being written: additive_attention)"""
