"""Accounts: citizens, enterprises and agents, staff and roles, MFA, SSO (issue 3 fills it in)."""
