//! Sending what a producer holds now, without waiting out `linger.ms`.
//!
//! librdkafka's broker threads treat `linger.ms` as passed while a flush is
//! running. rust-rdkafka's `flush` calls librdkafka's with no wait and then
//! polls, so that flag is up for an instant and a broker thread usually
//! wakes after it is down again: the records still linger. librdkafka's
//! own flush keeps the flag up for its whole wait, so it is called here.

use std::time::Duration;

use rdkafka::client::{Client, ClientContext};

/// Has the producer `client` send everything it holds at once, waiting
/// for the deliveries at most `limit`. librdkafka counts whole
/// milliseconds: under one, nothing is done (a flush would overrun it).
pub fn send_within<C: ClientContext>(client: &Client<C>, limit: Duration) {
    let limit_ms = limit.as_millis().min(i32::MAX as u128) as i32;
    if limit_ms == 0 {
        return;
    }
    // SAFETY: the pointer is this live client's own, and librdkafka's flush
    // may be called from any thread. It serves delivery reports on this
    // thread meanwhile, as rust-rdkafka's flush does. Its answer (whether
    // all was delivered in time) is not needed: failures reach the
    // delivery reports as ever.
    unsafe { rdkafka::bindings::rd_kafka_flush(client.native_ptr(), limit_ms) };
}
