"""casework.audit"""
