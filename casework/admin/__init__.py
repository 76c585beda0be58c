"""casework.admin"""
