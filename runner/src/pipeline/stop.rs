//! A stop request shared by a pipeline's threads, with timed waits that end
//! early when a stop comes.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct StopToken {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl StopToken {
    pub fn stop(&self) {
        *self.inner.0.lock().expect("stop token poisoned") = true;
        self.inner.1.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        *self.inner.0.lock().expect("stop token poisoned")
    }

    /// Sleeps up to `timeout`; true if a stop was requested.
    pub fn wait(&self, timeout: Duration) -> bool {
        let guard = self.inner.0.lock().expect("stop token poisoned");
        let (guard, _) =
            self.inner.1.wait_timeout_while(guard, timeout, |stopped| !*stopped).expect("stop token poisoned");
        *guard
    }
}
