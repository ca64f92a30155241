"""An independent Kafka client producing buzz messages exactly as the
original buzzline producers did: JSON objects {"message", "author"},
json.dumps(...).encode("utf-8"), no key.

usage: produce_original.py BROKERS TOPIC COUNT [--malformed] [--compression CODEC]
Prints the messages it sent as JSON lines. With --compression it compresses
its batches with CODEC (zstd, lz4, gzip...). With --malformed it also sends
one record that is not JSON, with a key, headers and a timestamp, and then
prints {"malformed": {"partition", "offset"}} where the broker put it.
"""

import json
import random
import sys

from confluent_kafka import Producer

ADJECTIVES = ["amazing", "funny", "boring", "exciting", "weird"]
ACTIONS = ["found", "saw", "tried", "shared", "loved"]
TOPICS = ["a movie", "a meme", "an app", "a trick", "a story"]
AUTHORS = ["Alice", "Bob", "Charlie", "Eve"]


def main():
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(11)
    config = {"bootstrap.servers": brokers}
    if "--compression" in sys.argv:
        config["compression.type"] = sys.argv[sys.argv.index("--compression") + 1]
    producer = Producer(config)
    for _ in range(count):
        message = {
            "message": f"I just {rng.choice(ACTIONS)} {rng.choice(TOPICS)}! It was {rng.choice(ADJECTIVES)}.",
            "author": rng.choice(AUTHORS),
        }
        producer.produce(topic, value=json.dumps(message).encode("utf-8"))
        producer.poll(0)
        print(json.dumps(message))
    where = {}
    if "--malformed" in sys.argv:
        producer.produce(
            topic,
            value=b"this is not JSON",
            key=b"sensor-7",
            headers=[("origin", b"python"), ("trace", None)],
            timestamp=1700000000123,
            on_delivery=lambda err, msg: where.update(partition=msg.partition(), offset=msg.offset()),
        )
    remaining = producer.flush(30)
    if remaining:
        sys.exit(f"{remaining} messages were not delivered")
    if where:
        print(json.dumps({"malformed": where}))


if __name__ == "__main__":
    main()
