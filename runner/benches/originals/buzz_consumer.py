"""The buzz messages' original consumer, one message at a time, no file or
broker.

Usage: buzz_consumer.py COUNT [SEED]

COUNT messages are made up front as the original producer made them, from
its word lists ({"message": "I just <action> <topic>! It was <adjective>.",
"author": ...}), with a fixed seed so every run sees the same list. For each
message the consumer decodes it, counts it for its author and draws the whole
bar chart again: authors on x, message counts on y.
"""

import json
import random
import sys
from collections import defaultdict

from redraw import new_figure, time_messages

ACTIONS = ["found", "saw", "tried", "shared", "loved"]
TOPICS = ["a movie", "a meme", "an app", "a trick", "a story"]
ADJECTIVES = ["amazing", "funny", "boring", "exciting", "weird"]
AUTHORS = ["Alice", "Bob", "Charlie", "Eve"]


class AuthorCountConsumer:
    def __init__(self):
        self.counts = defaultdict(int)
        self.fig, self.ax = new_figure()

    def on_message(self, text):
        author = json.loads(text).get("author")
        if author is None:
            return
        self.counts[author] += 1
        self.draw()

    def draw(self):
        ax = self.ax
        ax.clear()
        authors = list(self.counts)
        ax.bar(authors, [self.counts[a] for a in authors], color="skyblue")
        ax.set_title("Basic Real-Time Author Message Counts")
        ax.set_xlabel("Authors")
        ax.set_ylabel("Message Counts")
        ax.tick_params(axis="x", labelrotation=45)
        self.fig.tight_layout()
        self.fig.canvas.draw()


def messages(count, seed):
    rng = random.Random(seed)
    return [
        json.dumps(
            {
                "message": f"I just {rng.choice(ACTIONS)} {rng.choice(TOPICS)}! It was {rng.choice(ADJECTIVES)}.",
                "author": rng.choice(AUTHORS),
            }
        )
        for _ in range(count)
    ]


def main():
    count = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 42
    consumer = AuthorCountConsumer()
    time_messages(messages(count, seed), consumer.on_message, authors=lambda: dict(consumer.counts))


if __name__ == "__main__":
    main()
