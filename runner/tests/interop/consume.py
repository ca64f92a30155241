"""An independent Kafka client reading a topic from the beginning and
printing each record as a JSON line {"value", "key", "partition", "offset"}.

usage: consume.py BROKERS TOPIC COUNT
Exits 0 once COUNT records were read, 1 if they did not arrive in 60 s.
"""

import json
import sys
import time

from confluent_kafka import Consumer


def main():
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"python-reader-{time.time()}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    consumer.subscribe([topic])
    seen = 0
    deadline = time.time() + 60
    while seen < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        key = message.key()
        print(
            json.dumps(
                {
                    "value": message.value().decode("utf-8"),
                    "key": key.decode("utf-8") if key is not None else None,
                    "partition": message.partition(),
                    "offset": message.offset(),
                }
            ),
            flush=True,
        )
        seen += 1
    consumer.close()
    sys.exit(0 if seen >= count else 1)


if __name__ == "__main__":
    main()
