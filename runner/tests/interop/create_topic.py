"""An independent Kafka client creating a topic with a partition count of
its own choosing, as another team's tooling would.

usage: create_topic.py BROKERS TOPIC PARTITIONS
Exits 0 once the topic exists with PARTITIONS partitions.
"""

import sys

from confluent_kafka.admin import AdminClient, NewTopic


def main():
    brokers, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    futures[topic].result(30)
    made = admin.list_topics(topic, timeout=30).topics[topic]
    if len(made.partitions) != partitions:
        sys.exit(f"topic {topic} has {len(made.partitions)} partitions, not {partitions}")


if __name__ == "__main__":
    main()
