//! The HTTP surface, assembled in one place so that `main` and the
//! integration tests serve exactly the same thing.

use crate::middleware;
use app::backend::auth::session_store::DbSessionStore;
use app::backend::AppState;
use app::{shell, App};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

pub use crate::middleware::MAX_BODY_BYTES;

/// The longest a request may take, body included (408 after).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub fn build(state: AppState) -> Router {
    build_with(state, REQUEST_TIMEOUT)
}

/// The app's routes, generated once per process.
///
/// Generating runs the app with resource loading suppressed through a
/// process-wide flag in `leptos_server`; a resource that first polls while
/// any thread is generating waits forever (leptos-rs/leptos#4773). Building
/// a second router (tests build one per test, concurrently with other tests
/// rendering pages) must therefore never generate again.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// [`build`] with another request timeout (tests use a short one).
pub fn build_with(state: AppState, request_timeout: std::time::Duration) -> Router {
    let routes = route_list();
    let sessions = SessionManagerLayer::new(DbSessionStore::new(&state.db))
        .with_name(state.security.session_cookie_name())
        .with_secure(state.security.secure_cookies)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        // The browser forgets the cookie when it closes; the idle and
        // absolute limits are enforced on the server from General Settings.
        .with_expiry(Expiry::OnSessionEnd);

    let web = Router::new()
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .merge(crate::nojs::routes())
        .merge(crate::exports::routes())
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(middleware::server_fn_status))
        .layer(axum::middleware::from_fn(middleware::guard_pages))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::principal))
        .layer(sessions)
        .layer(axum::middleware::from_fn(middleware::csrf))
        .layer(axum::middleware::from_fn(middleware::limit_streamed_body));

    Router::new()
        .route("/healthz", get(healthz))
        // The machine surfaces: no session, no CSRF check (no cookies).
        .merge(crate::oauth::routes())
        .nest("/api/v1", crate::api::routes())
        .merge(crate::forward_auth::routes())
        .merge(web)
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::client_ip))
        // No request body is legitimately larger than a form; a slow or huge
        // request cannot hold the server (413 / 408).
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::security_headers))
        // Every log line of a request carries its id (ASVS V16.2.1); the id
        // is also sent back in `x-request-id`, so a user can quote it.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(middleware::request_span)
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::DEBUG)),
        )
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(tower_http::request_id::MakeRequestUuid))
        .layer(axum::middleware::map_request(middleware::drop_foreign_request_id))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
