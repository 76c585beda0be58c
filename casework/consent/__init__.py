"""casework.consent"""
