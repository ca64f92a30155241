"""buzz against a peer users would pick instead: Quix Streams (Python, Kafka,
stateful aggregations in RocksDB with changelog topics and checkpoints).

Run with `scripts/bench peer`. One script, one broker per part, the same topic
for both programs:

1. Throughput (tansu, memory storage): a topic of 1,000,000 buzz messages
   written by buzz's own producer (`--role produce`, keyed by author, 3
   partitions), then, alternating for BENCH_ROUNDS rounds (default 3), each
   program consumes the whole topic in a new consumer group and counts
   messages per author: buzz with pipelines/buzz-kafka.toml (`count_by` +
   bar chart, the chart at 1 frame/s), Quix Streams with
   runner/benches/peer/quix_count.py (a stateful `apply`). Each is its own
   process, timed from spawn to exit (start-up and group join included);
   records/s is the topic's records over that; peak RSS is the process's
   `ru_maxrss` from wait4. Medians of the rounds, and buzz / Quix ratios.
2. Restart (tansu with SQLite storage: durable, and free of the memory
   engine's fetch-inside-a-batch bug that would skip records on resume):
   the same 1 M messages; each program once uninterrupted, then once killed
   (SIGKILL) as soon as its group's committed offsets reach 40% of the topic
   (both commit every second), and started again on the same group and
   state until it has read the topic. Total time = both processes' wall
   times. Final counts are compared with the true counts.
3. Quix Streams' exactly-once mode (Kafka transactions) on tansu, which has
   none: what it does.

True counts: the topic read with confluent-kafka and counted per author.

The peer is installed by the bench: a venv (BUZZ_PEER_VENV, default
.tools/peer-venv) with the exact versions of runner/benches/peer/requirements.txt.
BENCH_RECORDS and BENCH_ROUNDS change the count and the rounds;
BENCH_KILL_AT the fraction for the kill (0.4); BENCH_SESSION_MS both
programs' group session (6000; on a loaded machine tansu with SQLite
storage let 6 s sessions expire, and 30000 was needed, BENCHMARKS.md
section 8); BENCH_RUN_LIMIT_S how long a run may take before it is
reported as hung and killed (600); BENCH_KEEP=1 keeps the work folder.
"""

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
VENV = Path(os.environ.get("BUZZ_PEER_VENV", ROOT / ".tools/peer-venv"))
REQUIREMENTS = HERE / "requirements.txt"
PYTHON = VENV / "bin/python"


def ensure_venv():
    """Installs the pinned peer (once) and re-runs this script in its venv."""
    stamp = VENV / "requirements.txt"
    if not (stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text()):
        print(f"peer: installing Quix Streams (pinned) into {VENV}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
        )
        stamp.write_text(REQUIREMENTS.read_text())
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(PYTHON), [str(PYTHON), "-W", "ignore", __file__, *sys.argv[1:]])


ensure_venv()

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
import quixstreams  # noqa: E402

RECORDS = int(os.environ.get("BENCH_RECORDS", 1_000_000))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
KILL_AT = float(os.environ.get("BENCH_KILL_AT", 0.4))
# The consumer groups' session, both programs (6 s: buzz's default on tansu).
SESSION_MS = int(os.environ.get("BENCH_SESSION_MS", 6000))
SESSION_WAIT_S = SESSION_MS / 1000 + 1
# A run that has not exited by then is reported as hung and killed.
RUN_LIMIT_S = int(os.environ.get("BENCH_RUN_LIMIT_S", 600))
TOPIC = "buzzline_json"
PARTITIONS = 3
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
if not TARGET.is_absolute():
    TARGET = ROOT / TARGET
BUZZ = TARGET / "release/buzz"
PIPELINE = ROOT / "pipelines/buzz-kafka.toml"


def log(message):
    print(message, file=sys.stderr, flush=True)


class Tansu:
    """A tansu broker on a free port in `directory`."""

    def __init__(self, binary, storage, directory):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"tcp://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(ROOT / ".tools/bin" / binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", storage],
            cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.address = f"127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline, f"{binary} did not start"
                time.sleep(0.02)

    def stop(self):
        self.process.kill()
        self.process.wait()


class Run:
    """One program's process, run under GNU time: wall time, peak RSS, CPU
    time, how it ended. Peak RSS is GNU time's `%M` (the child's ru_maxrss):
    the driver's own wait4 would not do, since a process's ru_maxrss starts
    at its parent's RSS at fork (this script holds ~100 MB)."""

    def __init__(self, argv, log_path, env=None, kill_when=None):
        usage_path = f"{log_path}.time"
        started = time.monotonic()
        with open(log_path, "w") as log_file:
            process = subprocess.Popen(["/usr/bin/time", "-f", "%M %U %S", "-o", usage_path, *argv],
                                       stdout=subprocess.DEVNULL, stderr=log_file, cwd=ROOT,
                                       env={**os.environ, **(env or {})})
        self.killed = self.hung = False
        while process.poll() is None:
            kill = kill_when is not None and kill_when()
            self.hung = time.monotonic() - started > RUN_LIMIT_S
            if kill or self.hung:
                # The program is GNU time's only child.
                children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
                if children:
                    os.kill(int(children[0]), signal.SIGKILL)
                self.killed = kill
                break
            time.sleep(0.1)
        process.wait()
        self.seconds = time.monotonic() - started
        peak_kib, user, system = Path(usage_path).read_text().splitlines()[-1].split()
        self.peak_mb = int(peak_kib) * 1024 / 1e6
        self.cpu_s = float(user) + float(system)
        self.status = process.returncode
        if self.hung:
            lines = [line for line in Path(log_path).read_text().splitlines() if line.strip()]
            last = lines[-1] if lines else "(nothing logged)"
            print(f"peer NOTE: {Path(argv[0]).name} ({Path(log_path).name}) had not exited after {RUN_LIMIT_S} s "
                  f"and was killed; its last log line: {last}", flush=True)
        elif not self.killed and self.status != 0:
            sys.exit(f"{argv[0]} failed ({self.status}):\n{Path(log_path).read_text()[-3000:]}")


def create_topic(broker):
    """The input topic, made before buzz's producer would make it: Quix
    Streams derives its changelog topics' settings from the input topic's
    retention.ms and retention.bytes and fails (KeyError) when the broker
    reports none, which tansu does for a topic created without them."""
    admin = AdminClient({"bootstrap.servers": broker})
    config = {"retention.ms": "-1", "retention.bytes": "-1"}
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1, config=config)])[TOPIC].result()


def produce(broker, directory):
    started = time.monotonic()
    argv = [str(BUZZ), "run", str(PIPELINE), "--role", "produce", "--set", "source.interval_ms=0",
            "--set", f"source.count={RECORDS}", "--set", f"transport.topic={TOPIC}",
            "--set", f"dead_letter.path={directory}/produce-dead.jsonl",
            "--exit-when-done", "--http", "off", "--no-reload"]
    Run(argv, directory / "produce.log", env={"KAFKA_BROKERS": broker})
    return time.monotonic() - started


def read_topic(broker):
    """Every message of the topic read once (assigned, no group): the true
    counts per author (each message's key is checked to be its author) and
    each partition's end (last offset + 1). Ends are taken from the records,
    not asked for: tansu's memory storage answers ListOffsets with the start
    of a partition's last batch (23,096 for a partition of 24,894 records)."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": "peer-bench-truth", "enable.auto.commit": False})
    consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    counts, ends, read = {}, {p: 0 for p in range(PARTITIONS)}, 0
    deadline = time.monotonic() + 300
    while read < RECORDS:
        assert time.monotonic() < deadline, f"read {read} of {RECORDS} records"
        for message in consumer.consume(10_000, timeout=1):
            assert not message.error(), message.error()
            author = json.loads(message.value())["author"]
            assert message.key().decode() == author
            counts[author] = counts.get(author, 0) + 1
            ends[message.partition()] = message.offset() + 1
            read += 1
    # Nothing beyond them.
    assert not consumer.consume(1, timeout=2), f"more than {RECORDS} records in the topic"
    consumer.close()
    assert sum(ends.values()) == RECORDS, f"offsets {ends} for {RECORDS} records"
    return dict(sorted(counts.items())), ends


def committed(broker, group):
    """The group's committed offsets, summed over the topic's partitions."""
    consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})

    def total():
        try:
            offsets = consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=5)
        except Exception:  # noqa: BLE001 (the group may not exist yet)
            return 0
        return sum(max(o.offset, 0) for o in offsets)

    return consumer, total


def buzz_argv(group, directory):
    return [str(BUZZ), "run", str(PIPELINE), "--role", "consume", "--set", f"transport.topic={TOPIC}",
            "--set", f"transport.group={group}", "--set", "chart.fps=1",
            "--set", f"transport.session_timeout_ms={SESSION_MS}",
            "--set", f"chart.output={directory}/{group}-chart", "--set", f"dead_letter.path={directory}/{group}-dead.jsonl",
            "--exit-when-done", "--http", "off", "--no-reload", "--summary", f"{directory}/{group}-summary.json"]


def buzz_counts(group, directory):
    chart = json.loads((directory / f"{group}-chart.json").read_text())
    series = chart["series"][0]
    return {c: int(v) for c, v in zip(series["categories"], series["values"])}


def quix_argv(broker, group, directory, ends, guarantee="at-least-once"):
    return [str(PYTHON), "-W", "ignore", str(HERE / "quix_count.py"), broker, TOPIC, group,
            str(directory / f"{group}-state"), json.dumps(ends), str(directory / f"{group}-counts.json"), guarantee, str(SESSION_MS)]


def quix_counts(broker, group, directory):
    """Quix Streams' final state: its changelog topic read the way Quix
    restores from it (the last value per key, skipping updates whose source
    offset the group has not committed), checked against the counts the
    app's last run emitted."""
    changelog = f"changelog__{group}--{TOPIC}--default"
    consumer = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
    committed = {tp.partition: tp.offset for tp in
                 consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)}
    consumer.assign([TopicPartition(changelog, p, 0) for p in range(PARTITIONS)])
    state = {}
    while messages := consumer.consume(10_000, timeout=2):
        for message in messages:
            assert not message.error(), message.error()
            processed = json.loads(dict(message.headers())["__processed_tp_offsets__"])
            if processed is not None and processed[TOPIC] >= committed[message.partition()]:
                continue
            author, field = message.key().decode().split("|")
            assert field == '"count"'
            state[json.loads(author)] = json.loads(message.value())
    consumer.close()
    emitted = json.loads((directory / f"{group}-counts.json").read_text())["counts"]
    differ = {a: (n, state.get(a)) for a, n in emitted.items() if state.get(a) != n}
    if differ:
        print(f"peer NOTE {group}: last counts emitted differ from the changelog's (emitted, changelog): {differ}")
    return state


def consume(program, broker, group, directory, ends, kill_when=None, name=None):
    log_path = directory / f"{name or group}.log"
    if program == "buzz":
        return Run(buzz_argv(group, directory), log_path, env={"KAFKA_BROKERS": broker}, kill_when=kill_when)
    return Run(quix_argv(broker, group, directory, ends), log_path, kill_when=kill_when)


def counts_of(program, broker, group, directory, run=None):
    if run is not None and run.hung:
        return None
    return buzz_counts(group, directory) if program == "buzz" else quix_counts(broker, group, directory)


def describe_counts(counts, truth):
    if counts is None:
        return "n/a (the run did not finish)"
    if counts == truth:
        return "equal to the true counts"
    diff = {a: counts.get(a, 0) - truth.get(a, 0) for a in sorted(set(counts) | set(truth))}
    extra = sum(diff.values())
    return f"NOT equal: {extra:+d} records in all, per author {diff}"


def broker_in(work, name, binary, storage):
    """A fresh folder under `work` and a tansu broker keeping its data there."""
    directory = work / name
    directory.mkdir()
    return directory, Tansu(binary, storage, directory)


def fill_topic(broker, directory):
    """Makes the topic and fills it with buzz's producer: (seconds taken,
    true counts per author, each partition's end, records in all)."""
    create_topic(broker.address)
    produced_s = produce(broker.address, directory)
    truth, ends = read_topic(broker.address)
    return produced_s, truth, ends, sum(ends.values())


def throughput(work):
    log("peer: part 1, throughput on tansu (memory storage)")
    directory, broker = broker_in(work, "memory", "tansu", "memory://tansu/")
    try:
        produced_s, truth, ends, total = fill_topic(broker, directory)
        print(f"peer topic: {total} buzz messages in {PARTITIONS} partitions {ends}, written by buzz's producer in "
              f"{produced_s:.1f} s; true counts {truth}")
        runs = {"buzz": [], "quix": []}
        for round_ in range(1, ROUNDS + 1):
            for program in ("buzz", "quix"):
                group = f"{program}-throughput-{round_}"
                run = consume(program, broker.address, group, directory, ends)
                counts = counts_of(program, broker.address, group, directory, run)
                runs[program].append(run)
                print(f"peer round {round_} {program:<4} {total / run.seconds:>9,.0f} records/s ({run.seconds:.2f} s "
                      f"spawn to exit), peak RSS {run.peak_mb:.1f} MB, CPU {run.cpu_s:.2f} s; counts "
                      f"{describe_counts(counts, truth)}", flush=True)
    finally:
        broker.stop()
    med = {p: (statistics.median(total / r.seconds for r in rs), statistics.median(r.peak_mb for r in rs),
               statistics.median(r.cpu_s for r in rs)) for p, rs in runs.items()}
    for program, name in (("buzz", "buzz"), ("quix", f"Quix Streams {quixstreams.__version__}")):
        rate, peak, cpu = med[program]
        print(f"peer throughput {name:<20} {rate:>9,.0f} records/s, peak RSS {peak:6.1f} MB, CPU {cpu:5.2f} s "
              f"(medians of {ROUNDS})")
    print(f"peer throughput buzz / Quix Streams: records/s {med['buzz'][0] / med['quix'][0]:.2f}, "
          f"peak RSS {med['buzz'][1] / med['quix'][1]:.2f}, CPU {med['buzz'][2] / med['quix'][2]:.2f}")


def restart(work):
    log("peer: part 2, kill and resume on tansu (SQLite storage)")
    directory, broker = broker_in(work, "sqlite", "tansu-sqlite", "sqlite://tansu.db")
    try:
        produced_s, truth, ends, total = fill_topic(broker, directory)
        print(f"peer restart topic (SQLite storage): {total} records {ends}, written in {produced_s:.1f} s")
        results = {}
        for program in ("buzz", "quix"):
            group = f"{program}-whole"
            whole = consume(program, broker.address, group, directory, ends)
            whole_counts = describe_counts(counts_of(program, broker.address, group, directory, whole), truth)
            group = f"{program}-killed"
            watcher, done = committed(broker.address, group)
            killed_at = []

            def kill_when():
                n = done()
                if n >= KILL_AT * total:
                    killed_at.append(n)
                    return True
                return False

            first = consume(program, broker.address, group, directory, ends, kill_when=kill_when, name=f"{group}-1")
            watcher.close()
            if not first.killed:
                print(f"peer restart {program:<4} uninterrupted {whole.seconds:6.2f} s, counts {whole_counts}; the run "
                      f"to be killed ended before its committed offsets reached {KILL_AT:.0%} "
                      f"({'hung' if first.hung else 'exit ' + str(first.status)}): no restart measured", flush=True)
                continue
            # The killed member stays in the group until its session
            # (SESSION_MS, both) times out; tansu cannot hand partitions on from a
            # member that left while the group was forming (a consumer that
            # joins meanwhile was seen assigned nothing for 9 minutes), so
            # the restart waits that out, alike for both, and the wait is
            # not counted.
            time.sleep(SESSION_WAIT_S)
            second = consume(program, broker.address, group, directory, ends, name=f"{group}-2")
            counts = counts_of(program, broker.address, group, directory, second)
            results[program] = (whole, first, second)
            print(f"peer restart {program:<4} uninterrupted {whole.seconds:6.2f} s ({total / whole.seconds:,.0f} "
                  f"records/s, counts {whole_counts}); killed (SIGKILL) at {killed_at[0]:,} committed after "
                  f"{first.seconds:.2f} s, resumed ({SESSION_WAIT_S:.0f} s later) and finished in {second.seconds:.2f} s: total "
                  f"{first.seconds + second.seconds:.2f} s ({(first.seconds + second.seconds) / whole.seconds:.2f} "
                  f"x uninterrupted), peak RSS {max(first.peak_mb, second.peak_mb):.1f} MB; final counts "
                  f"{describe_counts(counts, truth)}", flush=True)
        totals = {p: first.seconds + second.seconds for p, (_, first, second) in results.items()}
        if len(results) == 2:
            print(f"peer restart buzz / Quix Streams: uninterrupted records/s "
                  f"{results['quix'][0].seconds / results['buzz'][0].seconds:.2f}, killed and resumed, records/s over "
                  f"the total {totals['quix'] / totals['buzz']:.2f}")
        exactly_once(broker.address, directory, ends)
    finally:
        broker.stop()


def exactly_once(broker, directory, ends):
    """Quix Streams' exactly-once mode needs Kafka transactions."""
    group = "quix-exactly-once"
    argv = quix_argv(broker, group, directory, ends, guarantee="exactly-once")
    log_path = directory / f"{group}.log"
    started = time.monotonic()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log_file, cwd=ROOT)
    try:
        status = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        status = "killed after 120 s"
    text = log_path.read_text()
    errors = [line.strip() for line in text.splitlines() if "rror" in line or "xception" in line]
    if errors:
        print(f"peer Quix Streams exactly-once on tansu: first error: {errors[0]}")
    counts = directory / f"{group}-counts.json"
    outcome = json.loads(counts.read_text()) if counts.exists() else None
    print(f"peer Quix Streams exactly-once on tansu: exit {status} after {time.monotonic() - started:.1f} s; "
          f"finished: {outcome['finished'] if outcome else False}; last error: {errors[-1] if errors else 'none'}")


def main():
    assert BUZZ.exists(), f"{BUZZ}: build buzz first (cargo build --release --workspace)"
    assert Path("/usr/bin/time").exists(), "/usr/bin/time (GNU time) measures peak RSS: apt-get install time"
    load = os.getloadavg()
    print(f"peer: Quix Streams {quixstreams.__version__} (Python {platform.python_version()}) against buzz "
          f"{subprocess.run([str(BUZZ), '--version'], capture_output=True, text=True).stdout.strip()}; "
          f"{RECORDS:,} records, {ROUNDS} rounds; load average at start {load[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="buzz-peer-bench-"))
    try:
        parts = sys.argv[1:] or ["throughput", "restart"]
        if "throughput" in parts:
            throughput(work)
        if "restart" in parts:
            restart(work)
    finally:
        if os.environ.get("BENCH_KEEP"):
            log(f"peer: kept {work}")
        else:
            subprocess.run(["rm", "-rf", str(work)])
    load = os.getloadavg()
    print(f"peer: load average at end {load[0]:.2f}")


if __name__ == "__main__":
    main()
