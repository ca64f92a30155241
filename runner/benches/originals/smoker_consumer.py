"""The smart smoker's original consumer, one message at a time, no broker.

Usage: smoker_consumer.py CSV [WINDOW] [THRESHOLD]

Every row of CSV becomes the JSON message the original producer sent. For
each message the consumer decodes it, keeps the last WINDOW temperatures,
flags a stall when the window is full and varies by at most THRESHOLD
degrees, and then draws the whole line chart again: every reading so far
against its timestamp (text, so one tick label per reading), a red dot and
a "Stall Detected" note at every stalled reading, and a legend. The chart
grows with every message, and so does the time to draw it.
"""

import csv
import json
import sys
from collections import deque

from redraw import new_figure, time_messages

# As the runner's stall_detection: a range equal to the threshold is a stall
# despite floating-point rounding.
EPSILON = 1e-9


class SmokerConsumer:
    def __init__(self, window, threshold):
        self.window = deque(maxlen=window)
        self.threshold = threshold
        self.timestamps = []
        self.temperatures = []
        self.stalled = []  # indices of stalled readings
        self.fig, self.ax = new_figure()

    def on_message(self, text):
        reading = json.loads(text)
        timestamp, temperature = reading.get("timestamp"), reading.get("temperature")
        if timestamp is None or temperature is None:
            return
        self.window.append(temperature)
        self.timestamps.append(timestamp)
        self.temperatures.append(temperature)
        if len(self.window) == self.window.maxlen and max(self.window) - min(self.window) <= self.threshold + EPSILON:
            self.stalled.append(len(self.temperatures) - 1)
        self.draw()

    def draw(self):
        ax = self.ax
        ax.clear()
        ax.plot(self.timestamps, self.temperatures, color="tab:blue", label="Temperature")
        if self.stalled:
            xs = [self.timestamps[i] for i in self.stalled]
            ys = [self.temperatures[i] for i in self.stalled]
            ax.scatter(xs, ys, color="red", zorder=3, label="Stall Detected")
            for x, y in zip(xs, ys):
                ax.annotate("Stall Detected", (x, y), xytext=(0, 6), textcoords="offset points", fontsize=7)
        ax.set_title("Smart Smoker: Temperature vs. Time")
        ax.set_xlabel("Time")
        ax.set_ylabel("Temperature (°F)")
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(loc="upper left")
        self.fig.tight_layout()
        self.fig.canvas.draw()


def messages(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [json.dumps({"timestamp": r["timestamp"], "temperature": float(r["temperature"])}) for r in rows]


def main():
    path = sys.argv[1]
    window = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    threshold = float(sys.argv[3]) if len(sys.argv) > 3 else 0.2
    consumer = SmokerConsumer(window, threshold)
    time_messages(messages(path), consumer.on_message, stalls=lambda: len(consumer.stalled))


if __name__ == "__main__":
    main()
