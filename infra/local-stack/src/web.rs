//! What the local stack serves to browsers beside the API: the interactive API reference at
//! `/docs` (Scalar rendering `/openapi.json`, with the bearer scheme usable) and the browser
//! demo at `/demo` (static files; `/demo/config.json` tells it where the WebSocket API is), from
//! `clients/web/`. Scalar's own files come from its npm package
//! (`npm ci --prefix clients/web`), served from `node_modules`: the page needs no internet.

use std::path::PathBuf;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::services::ServeDir;

/// `clients/web/` of this checkout, or `WEB_DIR`.
pub fn web_dir() -> PathBuf {
    std::env::var_os("WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients/web"))
}

pub fn router(websocket_url: String) -> Router {
    let dir = web_dir();
    let config = serde_json::json!({ "websocketUrl": websocket_url });
    let assets = dir.join("node_modules/@scalar/api-reference/dist/browser");
    let page = dir.join("docs/index.html");
    Router::new()
        .route(
            "/docs",
            get(move || {
                let (page, assets) = (page.clone(), assets.clone());
                async move { docs(page, assets).await }
            }),
        )
        .nest_service("/docs/assets", ServeDir::new(dir.join("node_modules/@scalar/api-reference/dist/browser")))
        .route("/demo/config.json", get(move || std::future::ready(axum::Json(config.clone()))))
        .nest_service("/demo", ServeDir::new(dir.join("demo")))
}

async fn docs(page: PathBuf, assets: PathBuf) -> Response {
    if !assets.join("standalone.js").exists() {
        let text = format!(
            "<!doctype html><meta charset=utf-8><title>API reference</title><p>The reference page's files are not installed: run <code>npm ci --prefix clients/web</code> ({} is missing), or read <a href=\"/openapi.json\">/openapi.json</a>.",
            assets.display()
        );
        return (StatusCode::SERVICE_UNAVAILABLE, Html(text)).into_response();
    }
    match tokio::fs::read_to_string(&page).await {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{}: {e}", page.display())).into_response(),
    }
}
