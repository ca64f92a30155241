"""What the two original consumers share: matplotlib on the Agg backend,
and a clock around their per-message work.

The originals call plt.draw() then plt.pause(0.01) after every message. On
Agg, plt.draw() renders the whole figure and plt.pause() only sleeps, so the
consumers here render with fig.canvas.draw() and leave the sleep out: the
time measured is the drawing work alone, which favours the originals.
"""

import json
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)


def new_figure():
    return plt.subplots()


def time_messages(messages, on_message, **extra):
    """Feeds every message to on_message and prints one JSON line for the
    Rust benchmark: messages and seconds (all of them), last_messages and
    last_seconds (the last tenth, where a growing chart is slowest) and, for
    each keyword argument, its name and what calling it returns."""
    times = []
    for message in messages:
        started = time.perf_counter()
        on_message(message)
        times.append(time.perf_counter() - started)
    tenth = max(1, len(times) // 10)
    result = {
        "messages": len(times),
        "seconds": sum(times),
        "last_messages": tenth,
        "last_seconds": sum(times[-tenth:]),
        **{name: f() for name, f in extra.items()},
    }
    print(json.dumps(result))
