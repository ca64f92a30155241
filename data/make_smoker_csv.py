"""Writes smoker.csv: the project's own smart-smoker readings.

Shape (see seed-apps.md, app 3): one reading a minute for four hours; the
temperature climbs 0.4 F a minute from 70 F for three hours, then stalls,
wobbling within 0.2 F around 142 F for the last hour. Deterministic: run it
again and the file is byte-for-byte the same.
"""

import csv
import datetime
import random
from pathlib import Path

START = datetime.datetime(2025, 1, 11, 10, 0, 0)
CLIMB_MINUTES = 180
STALL_MINUTES = 60


def readings():
    rng = random.Random(4)
    for minute in range(CLIMB_MINUTES + STALL_MINUTES):
        if minute < CLIMB_MINUTES:
            temperature = 70.0 + 0.4 * minute + rng.choice([-0.1, 0.0, 0.1])
        else:
            temperature = 142.0 + rng.choice([-0.1, 0.0, 0.1])
        yield START + datetime.timedelta(minutes=minute), round(temperature, 1)


def main():
    path = Path(__file__).with_name("smoker.csv")
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["timestamp", "temperature"])
        for time, temperature in readings():
            writer.writerow([time.strftime("%Y-%m-%d %H:%M:%S"), f"{temperature:.1f}"])


if __name__ == "__main__":
    main()
