"""Accounts: login, logout and the access rules every view relies on."""
