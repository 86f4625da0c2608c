"""(being written: rnn)"""
