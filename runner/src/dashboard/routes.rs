//! The dashboard's pages, data and push stream. Nothing else is served.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::hosts::{self, AllowedHosts};
use super::pngs::Pngs;
use super::{PipelineView, StatsBoard};
use super::{metrics, probes};
use crate::chart_output::RenderedFrame;

pub struct AppState {
    pub pipelines: Vec<PipelineView>,
    pub board: StatsBoard,
    pub pngs: Pngs,
    pub metrics: prometheus_client::registry::Registry,
}

type AppStateRef = Arc<AppState>;

pub fn router(state: AppStateRef, hosts: AllowedHosts) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/assets/app.js", get(|| asset("text/javascript; charset=utf-8", include_str!("assets/app.js"))))
        .route("/assets/morph.js", get(|| asset("text/javascript; charset=utf-8", include_str!("assets/morph.js"))))
        .route("/assets/tooltip.js", get(|| asset("text/javascript; charset=utf-8", include_str!("assets/tooltip.js"))))
        .route("/assets/style.css", get(|| asset("text/css; charset=utf-8", include_str!("assets/style.css"))))
        .route("/api/pipelines", get(pipelines))
        .route("/api/stats", get(stats))
        .route("/api/renders", get(|State(state): State<AppStateRef>| async move { axum::Json(state.pngs.counts()) }))
        .route("/events", get(events))
        .route("/metrics", get(|State(state): State<AppStateRef>| async move { metrics_text(&state) }))
        .route("/health", get(probes::health))
        .route("/ready", get(|State(state): State<AppStateRef>| async move { probes::ready(&state.pipelines) }))
        .route("/charts/{pipeline}/{file}", get(chart_file))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: the dashboard serves only its own pages\n") })
        .layer(axum::middleware::from_fn_with_state(hosts, hosts::check))
        .with_state(state)
}

async fn index() -> Html<&'static str> {
    Html(include_str!("assets/index.html"))
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn pipelines(State(state): State<AppStateRef>) -> Response {
    let list: Vec<serde_json::Value> = state
        .pipelines
        .iter()
        .map(|p| {
            let branches: Vec<String> = p.shared.charts.list().into_iter().filter_map(|c| c.name).collect();
            serde_json::json!({ "name": p.name, "has_chart": p.files.is_some(), "branches": branches })
        })
        .collect();
    axum::Json(list).into_response()
}

async fn stats(State(state): State<AppStateRef>) -> Response {
    let latest = state.board.latest.borrow().clone();
    axum::Json(latest.as_ref().clone()).into_response()
}

fn metrics_text(state: &AppState) -> Response {
    let (content_type, text) = metrics::render(&state.metrics);
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// The push stream: every chart frame as it is drawn, and the stats once a
/// second. A client that connects late gets the current frame at once.
async fn events(State(state): State<AppStateRef>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // Small, per client: a slow client only holds up its own forwarders,
    // which skip to the newest frame when they catch up.
    let (tx, rx) = mpsc::channel::<Event>(8);
    for pipeline in &state.pipelines {
        tokio::spawn(forward_branches(pipeline.clone(), tx.clone()));
    }
    tokio::spawn(forward_stats(state.board.clone(), tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|event| (Ok(event), rx)) });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A frame of a pipeline's chart; `branch` names which, for a pipeline of
/// several.
fn frame_event(pipeline: &str, branch: Option<&str>, frame: &RenderedFrame) -> Event {
    let svg = String::from_utf8_lossy(&frame.svg);
    let mut data = serde_json::json!({ "pipeline": pipeline, "sequence": frame.sequence, "svg": svg });
    if let Some(branch) = branch {
        data["branch"] = serde_json::json!(branch);
    }
    Event::default().event("frame").data(data.to_string())
}

/// Follows a pipeline's list of branches: says which there are (first, and
/// after every reload that adds or removes one) and forwards each one's
/// frames, until the client goes.
async fn forward_branches(pipeline: PipelineView, tx: mpsc::Sender<Event>) {
    let mut list = pipeline.shared.charts.subscribe();
    let mut forwarded = std::collections::BTreeSet::new();
    loop {
        let branches = list.borrow_and_update().clone();
        let names: Vec<&String> = branches.iter().filter_map(|b| b.name.as_ref()).collect();
        let data = serde_json::json!({ "pipeline": pipeline.name, "branches": names });
        if tx.send(Event::default().event("branches").data(data.to_string())).await.is_err() {
            return;
        }
        // A removed branch's forwarder ends with its frames.
        forwarded.retain(|id| branches.iter().any(|b| b.id == *id));
        for branch in branches.iter().filter(|b| forwarded.insert(b.id)) {
            let frames = branch.frames.subscribe();
            tokio::spawn(forward_frames(pipeline.name.clone(), branch.name.clone(), frames, tx.clone()));
        }
        tokio::select! {
            changed = list.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
        }
    }
}

async fn forward_frames(
    pipeline: String,
    branch: Option<String>,
    mut frames: tokio::sync::watch::Receiver<Option<RenderedFrame>>,
    tx: mpsc::Sender<Event>,
) {
    loop {
        let event = frames.borrow_and_update().as_ref().map(|frame| frame_event(&pipeline, branch.as_deref(), frame));
        if let Some(event) = event
            && tx.send(event).await.is_err()
        {
            return;
        }
        tokio::select! {
            changed = frames.changed() => if changed.is_err() { return },
            () = tx.closed() => return,
        }
    }
}

async fn forward_stats(board: StatsBoard, tx: mpsc::Sender<Event>) {
    let mut latest = board.latest;
    loop {
        let data = serde_json::to_string(latest.borrow_and_update().as_ref()).unwrap_or_default();
        if tx.send(Event::default().event("stats").data(data)).await.is_err() {
            return;
        }
        if latest.changed().await.is_err() {
            return;
        }
    }
}

#[derive(Deserialize)]
struct Download {
    download: Option<String>,
    /// Which branch's chart, for a pipeline of several (default: the first).
    branch: Option<String>,
}

/// The current chart as `chart.svg`, `chart.png` or `chart.json`.
async fn chart_file(
    State(state): State<AppStateRef>,
    Path((pipeline, file)): Path<(String, String)>,
    Query(query): Query<Download>,
) -> Response {
    let Some(at) = state.pipelines.iter().position(|p| p.name == pipeline) else {
        return (StatusCode::NOT_FOUND, format!("no pipeline named {pipeline:?}\n")).into_response();
    };
    let charts = state.pipelines[at].shared.charts.list();
    let branch = match &query.branch {
        None => 0,
        Some(name) => match charts.iter().position(|c| c.name.as_ref() == Some(name)) {
            Some(branch) => branch,
            None => return (StatusCode::NOT_FOUND, format!("no branch named {name:?}\n")).into_response(),
        },
    };
    // PNGs are cached per chart.
    let index = charts[branch].id;
    let Some(frame) = charts[branch].frames.borrow().clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no chart frame has been drawn yet\n").into_response();
    };
    let (content_type, body) = match file.as_str() {
        "chart.svg" => ("image/svg+xml", Bytes::from(frame.svg.to_vec())),
        "chart.json" => ("application/json", Bytes::from(frame.json.to_vec())),
        "chart.png" => match state.pngs.png(index, frame).await {
            Ok(png) => ("image/png", png),
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        },
        _ => return (StatusCode::NOT_FOUND, "charts are chart.svg, chart.png and chart.json\n").into_response(),
    };
    let extension = file.rsplit('.').next().unwrap_or("bin");
    let disposition = match query.download {
        Some(_) => match &query.branch {
            Some(branch) => format!("attachment; filename=\"{pipeline}-{branch}.{extension}\""),
            None => format!("attachment; filename=\"{pipeline}.{extension}\""),
        },
        None => "inline".to_string(),
    };
    ([(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}
