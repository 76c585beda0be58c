"""casework.partners"""
