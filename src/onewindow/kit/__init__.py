"""Pure helpers shared by every app: error codes, check digits, crypto, request context.

Nothing in ``kit`` defines models or imports from an app (ARCHITECTURE.md, rule 2).
"""
