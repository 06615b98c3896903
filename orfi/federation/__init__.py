"""Federation statistics"""
