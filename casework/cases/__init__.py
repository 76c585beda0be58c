"""casework.cases"""
