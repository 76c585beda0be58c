"""casework.reports"""
