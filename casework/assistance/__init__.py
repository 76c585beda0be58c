"""casework.assistance"""
