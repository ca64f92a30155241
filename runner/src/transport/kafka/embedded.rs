//! The embedded broker: librdkafka's mock cluster, started once per process
//! on a loopback port and shared by every pipeline in it.

use std::ffi::{CStr, CString};
use std::sync::OnceLock;

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka_sys as sys;

use crate::transport::TransportError;

/// Kafka's API key of produce requests.
const PRODUCE: i16 = 0;

struct Embedded {
    cluster: *mut sys::rd_kafka_mock_cluster_t,
    bootstrap: String,
}

// SAFETY: the mock cluster is only used through librdkafka's thread-safe C
// API, and is never freed (it lives as long as the process).
unsafe impl Send for Embedded {}
unsafe impl Sync for Embedded {}

fn start() -> Result<Embedded, TransportError> {
    let fail = |what: &str| TransportError(format!("cannot start the embedded Kafka broker: {what}"));
    // The cluster needs a client handle to live in; it is kept for ever.
    let handle: BaseProducer = ClientConfig::new().set("log_level", "3").create().map_err(|e| fail(&e.to_string()))?;
    let handle: &'static BaseProducer = Box::leak(Box::new(handle));
    // SAFETY: a valid client handle; one broker.
    let cluster = unsafe { sys::rd_kafka_mock_cluster_new(handle.client().native_ptr(), 1) };
    if cluster.is_null() {
        return Err(fail("librdkafka refused to create a mock cluster"));
    }
    // SAFETY: `cluster` is live. A group forms at once instead of after the
    // default 3 s wait for more members: start-up stays well under a second.
    unsafe { sys::rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, 0) };
    // SAFETY: `cluster` is live; the string it returns is owned by it.
    let bootstrap =
        unsafe { CStr::from_ptr(sys::rd_kafka_mock_cluster_bootstraps(cluster)) }.to_string_lossy().into_owned();
    tracing::info!(
        "embedded Kafka broker (librdkafka mock cluster) listening at {bootstrap}; it lives in this process only: \
         set KAFKA_BROKERS=host:port to use a real cluster, or KAFKA_BROKERS={bootstrap} to reach this one from another buzz process"
    );
    Ok(Embedded { cluster, bootstrap })
}

fn embedded() -> Result<&'static Embedded, TransportError> {
    static EMBEDDED: OnceLock<Result<Embedded, TransportError>> = OnceLock::new();
    EMBEDDED.get_or_init(start).as_ref().map_err(Clone::clone)
}

/// The embedded broker's address, starting it on first use.
pub fn embedded_bootstrap() -> Result<String, TransportError> {
    Ok(embedded()?.bootstrap.clone())
}

fn c_topic(topic: &str) -> Result<CString, TransportError> {
    CString::new(topic).map_err(|_| TransportError(format!("topic name {topic:?} contains a NUL byte")))
}

/// Creates a topic on the embedded broker; an existing one is left alone.
pub fn create_embedded_topic(topic: &str, partitions: i32) -> Result<(), TransportError> {
    let cluster = embedded()?.cluster;
    let name = c_topic(topic)?;
    // SAFETY: a live cluster and a valid C string.
    let err = unsafe { sys::rd_kafka_mock_topic_create(cluster, name.as_ptr(), partitions, 1) };
    match err {
        sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
        | sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS => Ok(()),
        other => Err(TransportError(format!("cannot create topic {topic} on the embedded broker: {other:?}"))),
    }
}

/// Makes the embedded broker answer every metadata request for `topic` with
/// `error` (creating the topic if missing), or answer normally again with
/// `None`: rehearses a topic this client may not use
/// (`TOPIC_AUTHORIZATION_FAILED`) without a broker that enforces ACLs.
pub fn set_embedded_topic_error(topic: &str, error: Option<sys::rd_kafka_resp_err_t>) -> Result<(), TransportError> {
    let cluster = embedded()?.cluster;
    let name = c_topic(topic)?;
    let error = error.unwrap_or(sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR);
    // SAFETY: a live cluster and a valid C string, copied by librdkafka.
    unsafe { sys::rd_kafka_mock_topic_set_error(cluster, name.as_ptr(), error) };
    Ok(())
}

/// Makes the embedded broker answer the next produce request with `error`:
/// rehearses a broker that lost an idempotent producer's state
/// (`OUT_OF_ORDER_SEQUENCE_NUMBER` is fatal to that producer).
pub fn fail_next_embedded_produce(error: sys::rd_kafka_resp_err_t) -> Result<(), TransportError> {
    let cluster = embedded()?.cluster;
    // SAFETY: a live cluster; one error, read before the call returns.
    unsafe { sys::rd_kafka_mock_push_request_errors_array(cluster, PRODUCE, 1, &error) };
    Ok(())
}

/// Makes the embedded broker hold its answer to the next produce request
/// for `delay`: rehearses a broker slow to acknowledge what it was sent.
pub fn delay_next_embedded_produce(delay: std::time::Duration) -> Result<(), TransportError> {
    let cluster = embedded()?.cluster;
    let rtt_ms = i32::try_from(delay.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: a live cluster; broker 1 is its only broker; one (error,
    // round-trip time) pair follows, as the variadic arguments say.
    let err = unsafe {
        sys::rd_kafka_mock_broker_push_request_error_rtts(
            cluster,
            1,
            PRODUCE,
            1,
            sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR,
            rtt_ms,
        )
    };
    match err {
        sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(()),
        other => Err(TransportError(format!("cannot delay the embedded broker's answer: {other:?}"))),
    }
}

/// Takes the embedded broker down or brings it back, to rehearse an outage
/// (clients see a broker that stopped answering; nothing it holds is lost).
pub fn set_embedded_broker_up(up: bool) -> Result<(), TransportError> {
    let cluster = embedded()?.cluster;
    // SAFETY: a live cluster; broker 1 is its only broker.
    let err = unsafe {
        if up { sys::rd_kafka_mock_broker_set_up(cluster, 1) } else { sys::rd_kafka_mock_broker_set_down(cluster, 1) }
    };
    match err {
        sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR => Ok(()),
        other => Err(TransportError(format!("cannot change the embedded broker's state: {other:?}"))),
    }
}
