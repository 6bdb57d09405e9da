"""Reports: read a study's result tables from a folder and write text, HTML and figures.

Reports sit above the studies: they never import a study's code, only the
tables it wrote, so any report can be redrawn from a result folder alone.
"""
