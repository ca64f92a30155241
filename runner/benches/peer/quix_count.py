"""Counts buzz messages per author with Quix Streams: the peer's side of
`scripts/bench peer` (run by runner/benches/peer/bench.py in the peer's own
venv).

The input topic is keyed by author (buzz's producer keys it so), so a
stateful `apply` keeps one count per author in Quix's RocksDB state, backed
by its changelog topic: the same job as buzz's `count_by` + bar chart,
without the chart. The app stops itself once it has processed every
partition up to the end offsets it is given, and then writes the last count
it emitted per author (its state's value) as JSON.

Usage: quix_count.py BROKER TOPIC GROUP STATE_DIR ENDS_JSON OUT_JSON GUARANTEE SESSION_MS
  ENDS_JSON: {"partition": end offset (exclusive)} of TOPIC.
"""

import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition
from quixstreams import Application, message_context

broker, topic_name, group, state_dir, ends_json, out_json, guarantee, session_ms = sys.argv[1:9]
ends = {int(p): int(o) for p, o in json.loads(ends_json).items()}
# The last offset of each partition still to be seen; an empty partition is done.
remaining = {p: end - 1 for p, end in ends.items() if end > 0}
# A resumed run: partitions the group had already read to the end are done.
probe = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
for tp in probe.committed([TopicPartition(topic_name, p) for p in remaining], timeout=10):
    if tp.offset >= ends[tp.partition]:
        del remaining[tp.partition]
probe.close()
counts = {}
first_seen = [None]

app = Application(
    broker_address=broker,
    consumer_group=group,
    auto_offset_reset="earliest",
    state_dir=state_dir,
    processing_guarantee=guarantee,
    # buzz checkpoints every second ([state] checkpoint_ms = 1000); Quix's
    # default is 5 s. The same interval for both.
    commit_interval=1.0,
    # tansu forms a group only with a session timeout shorter than
    # librdkafka's default (/work/shared/notes/measured-facts.md); buzz uses
    # 6 s on tansu too.
    consumer_extra_config={"session.timeout.ms": int(session_ms)},
)
topic = app.topic(topic_name, value_deserializer="json", key_deserializer="str")
sdf = app.dataframe(topic)


def count(value, state):
    n = state.get("count", 0) + 1
    state.set("count", n)
    return n


def note(n, key, timestamp, headers):
    if first_seen[0] is None:
        first_seen[0] = time.time()
    counts[key] = n
    context = message_context()
    partition = context.partition
    if partition in remaining and context.offset >= remaining[partition]:
        del remaining[partition]
        if not remaining:
            app.stop()


sdf = sdf.apply(count, stateful=True)
sdf = sdf.update(note, metadata=True)

started = time.time()
if remaining:
    app.run()
with open(out_json, "w") as out:
    json.dump(
        {
            "counts": counts,
            "first_record_s": None if first_seen[0] is None else first_seen[0] - started,
            "finished": not remaining,
        },
        out,
    )
