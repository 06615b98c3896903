"""Photos of facts"""
