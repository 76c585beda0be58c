"""casework.exports"""
