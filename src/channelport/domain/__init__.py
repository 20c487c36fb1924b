"""Pure domain code: normalized events, the order aggregate and the rules that apply one to the other.

Nothing in this package does I/O, reads a clock or touches a database.
"""
