"""The security activity log"""
