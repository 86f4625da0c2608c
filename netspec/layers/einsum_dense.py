"""(being written: einsum_dense)"""
