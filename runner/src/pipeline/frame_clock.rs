//! When the consumer draws the next chart frame. Only a change is drawn.
//! `fps` (the interval) caps frames under load: while the consumer is
//! behind (it read a full batch within the last interval), a frame at most
//! every interval. Otherwise a change is drawn at once when the chart
//! writer is idle and its last frame was cheap next to the interval, so a
//! record reaches the page in about the time one frame takes, not up to a
//! whole interval later; a change after a quiet period always is. Early
//! frames leave the writer resting at least as long as it drew, so a
//! steady stream of changes costs at most half a core of drawing, not a
//! whole one at hundreds of frames a second no screen shows.

use std::time::{Duration, Instant};

use crate::chart_output::Drawing;

/// Drawing back to back is allowed while one frame costs at most this
/// share of the interval (a quarter: the chart stays a small CPU load).
const CHEAP_SHARE: u32 = 4;
/// How long a read waits while a frame waits for the writer to be idle.
const WRITER_POLL: Duration = Duration::from_millis(1);
/// How long a read waits when nothing is due.
const IDLE: Duration = Duration::from_millis(100);

pub struct FrameClock {
    pub interval: Duration,
    last: Option<Instant>,
    dirty: bool,
    /// When the consumer last read a full batch (it was behind).
    behind_at: Option<Instant>,
}

impl FrameClock {
    pub fn new(interval: Duration) -> Self {
        FrameClock { interval, last: None, dirty: false, behind_at: None }
    }

    pub fn changed(&mut self) {
        self.dirty = true;
    }

    /// The consumer read a full batch: more is waiting, so it is under load.
    pub fn behind(&mut self) {
        self.behind_at = Some(Instant::now());
    }

    fn under_load(&self) -> bool {
        self.behind_at.is_some_and(|t| t.elapsed() < self.interval)
    }

    /// A change may be drawn before the interval is up (once the writer
    /// rested, see `due`).
    fn early_allowed(&self, drawing: Drawing) -> bool {
        !self.under_load() && drawing.last_draw.saturating_mul(CHEAP_SHARE) <= self.interval
    }

    /// How long a read may wait without delaying a due frame.
    pub fn wait_hint(&self, drawing: Drawing) -> Duration {
        match (self.dirty, self.last) {
            (true, None) => Duration::ZERO,
            (true, Some(_)) if self.early_allowed(drawing) => WRITER_POLL,
            (true, Some(last)) => self.interval.saturating_sub(last.elapsed()).min(IDLE),
            _ => IDLE,
        }
    }

    /// A frame was drawn, and nothing changed since.
    pub fn settled(&self) -> bool {
        !self.dirty && self.last.is_some()
    }

    /// True (and resets) when a frame should be drawn now.
    pub fn due(&mut self, drawing: Drawing) -> bool {
        let ready = match self.last {
            None => true,
            Some(last) => {
                last.elapsed() >= self.interval
                    || (drawing.idle && drawing.rested >= drawing.last_draw && self.early_allowed(drawing))
            }
        };
        if self.dirty && ready {
            self.dirty = false;
            self.last = Some(Instant::now());
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    const CHEAP: Drawing =
        Drawing { idle: true, last_draw: Duration::from_millis(5), rested: Duration::from_millis(5) };

    /// A clock at 1 frame/s that has just drawn its first frame.
    fn drawn_once() -> FrameClock {
        let mut clock = FrameClock::new(SECOND);
        clock.changed();
        assert!(clock.due(CHEAP));
        clock
    }

    #[test]
    fn a_change_is_drawn_at_once_when_caught_up_and_drawing_is_cheap() {
        let mut clock = drawn_once();
        assert!(!clock.due(CHEAP), "nothing changed");
        clock.changed();
        assert_eq!(clock.wait_hint(CHEAP), WRITER_POLL);
        assert!(clock.due(CHEAP), "well inside the interval, but the consumer is caught up");
        assert!(clock.settled());
    }

    #[test]
    fn an_early_frame_waits_until_the_writer_rested_as_long_as_it_drew() {
        let mut clock = drawn_once();
        clock.changed();
        let tired = Drawing { rested: Duration::from_millis(2), ..CHEAP };
        assert!(!clock.due(tired), "idle for 2 ms after a 5 ms frame");
        assert_eq!(clock.wait_hint(tired), WRITER_POLL, "asked again soon");
        assert!(clock.due(CHEAP), "rested 5 ms after a 5 ms frame");
    }

    #[test]
    fn the_interval_caps_frames_under_load_a_busy_writer_or_a_costly_chart() {
        let mut clock = drawn_once();
        clock.changed();
        assert!(!clock.due(Drawing { idle: false, ..CHEAP }), "the writer is still drawing");
        assert!(
            !clock.due(Drawing { idle: true, last_draw: Duration::from_millis(300), rested: SECOND }),
            "a frame costs 30% of the interval"
        );
        clock.behind();
        assert!(!clock.due(CHEAP), "a full batch was just read");
        assert!(clock.wait_hint(CHEAP) > Duration::from_millis(50));
        // Once the interval is up, the change is drawn whatever the load.
        clock.last = Some(Instant::now() - SECOND);
        assert!(clock.due(Drawing { idle: false, last_draw: SECOND, rested: Duration::ZERO }));
    }
}
