"""Append-only, SM3 hash-chained audit trail (审计日志)."""
