"""(being written: conv_lstm)"""
