"""(being written: spectral_normalization)"""
