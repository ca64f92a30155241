"""An independent Kafka client describing a topic: prints its partition
count as {"partitions": N}.

usage: describe_topic.py BROKERS TOPIC
Client settings beyond the brokers (TLS, SASL) come as a JSON object in
the environment variable KAFKA_CLIENT_CONFIG.
"""

import json
import os
import sys

from confluent_kafka.admin import AdminClient


def main():
    brokers, topic = sys.argv[1], sys.argv[2]
    config = json.loads(os.environ.get("KAFKA_CLIENT_CONFIG", "{}"))
    admin = AdminClient({"bootstrap.servers": brokers, **config})
    described = admin.list_topics(topic, timeout=30).topics[topic]
    if described.error is not None:
        sys.exit(f"topic {topic}: {described.error}")
    print(json.dumps({"partitions": len(described.partitions)}))


if __name__ == "__main__":
    main()
