"""(being written: adaptive_pooling)"""
