"""An independent Kafka client producing records with a key, headers and a
timestamp of its own: record i is {"n": i}, key "k<i>", headers
trace=t<i> and empty (no value), timestamp 1700000000000 + i * 1000.

usage: produce_with_metadata.py BROKERS TOPIC COUNT
"""

import json
import sys

from confluent_kafka import Producer


def main():
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    producer = Producer({"bootstrap.servers": brokers})
    for i in range(count):
        producer.produce(
            topic,
            value=json.dumps({"n": i}).encode("utf-8"),
            key=f"k{i}".encode("utf-8"),
            headers=[("trace", f"t{i}".encode("utf-8")), ("empty", None)],
            timestamp=1700000000000 + i * 1000,
        )
        producer.poll(0)
    if producer.flush(30) != 0:
        sys.exit("not every record was delivered")


if __name__ == "__main__":
    main()
