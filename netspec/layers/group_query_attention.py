"""(being written: group_query_attention)"""
