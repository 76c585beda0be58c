"""casework.auth"""
