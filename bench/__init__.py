"""Benchmarks: `python -m bench.NAME`. Each measures the floor (raw psycopg + orjson, or plain
smtplib) in the same run and prints a final JSON line with the figures and ratios.

They need DATABASE_URL (and REDIS_URL) like the app; each works in a database of its own,
named after the one in DATABASE_URL with a `_bench` suffix, and leaves it in place for reruns.
"""
