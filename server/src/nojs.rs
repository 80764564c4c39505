//! Form handlers for the credential and protected API pages without JavaScript. The hydrated
//! app uses the server functions instead; these answer plain `<form>` posts
//! by rendering the next page on the server (never a redirect carrying a
//! secret), or by redirecting to the list when there is nothing to show.

use app::backend::caller::{Caller, CurrentPrincipal};
use app::backend::credentials::service::{self, CredentialInput};
use app::backend::protected_apis::service::{self as protected_apis, ProtectedApiInput};
use app::backend::AppState;
use app::error::AppError;
use app::model::Role;
use app::ui::pages::credentials::{FormValues, NoJsOutcome};
use app::ui::pages::protected_apis::ProtectedApiOutcome;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Router;
use leptos::prelude::provide_context;

/// Form bodies are small; anything bigger is refused before parsing.
const MAX_FORM_BYTES: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/credentials/new", post(create))
        .route("/credentials/{id}/edit", post(edit))
        .route("/credentials/{id}/regenerate", post(regenerate))
        .route("/credentials/{id}/delete", post(delete))
        .route("/protected-apis/new", post(create_api))
        .route("/protected-apis/{id}/edit", post(edit_api))
        .route("/protected-apis/{id}/regenerate", post(regenerate_api))
        .route("/protected-apis/{id}/delete", post(delete_api))
}

/// The signed-in user as the services' caller, if any.
fn caller(parts: &Parts) -> Option<Caller> {
    parts.extensions.get::<CurrentPrincipal>().and_then(|p| p.0.clone()).map(Caller::Person)
}

async fn read_form(body: Body) -> Result<Vec<(String, String)>, Response> {
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "Form too large.").into_response())?;
    serde_urlencoded::from_bytes(&bytes).map_err(|_| (StatusCode::BAD_REQUEST, "Malformed form.").into_response())
}

fn input_from(form: &[(String, String)]) -> CredentialInput {
    let one = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    CredentialInput {
        name: one("name"),
        expires_on: one("expires_on"),
        roles: form.iter().filter(|(n, _)| n == "roles[]").map(|(_, v)| v.clone()).collect(),
    }
}

fn values_from(input: &CredentialInput) -> FormValues {
    FormValues {
        name: input.name.clone(),
        expires_on: input.expires_on.clone(),
        roles: input.roles.iter().filter_map(|s| Role::from_slug(s)).collect(),
        revoked: vec![],
    }
}

fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Renders the page at the request's path with `outcome` in context, the
/// way a GET of that page would render, minus the hydration scripts.
/// The page's status follows from the outcome: 200 with a secret, the
/// error's own status otherwise.
async fn render(state: AppState, parts: Parts, outcome: NoJsOutcome) -> Response {
    let status = match &outcome {
        NoJsOutcome::Secret { .. } => StatusCode::OK,
        NoJsOutcome::FormError { error, .. } | NoJsOutcome::Error(error) => status_of(error),
    };
    render_with(state, parts, status, outcome).await
}

/// [`render`] for the protected API pages.
async fn render_api(state: AppState, parts: Parts, outcome: ProtectedApiOutcome) -> Response {
    let status = match &outcome {
        ProtectedApiOutcome::Secret { .. } => StatusCode::OK,
        ProtectedApiOutcome::FormError { error, .. } | ProtectedApiOutcome::Error(error) => status_of(error),
    };
    render_with(state, parts, status, outcome).await
}

async fn render_with<T: Clone + Send + Sync + 'static>(
    state: AppState,
    parts: Parts,
    status: StatusCode,
    outcome: T,
) -> Response {
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = parts.uri.clone();
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(state.clone());
            provide_context(outcome.clone());
        },
        move || app::shell(options.clone()),
    );
    let mut res = handler(req).await.into_response();
    *res.status_mut() = status;
    res
}

async fn create(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login?next=/credentials/new").into_response() };
    let form = match read_form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let input = input_from(&form);
    match service::create(&state, &p, input.clone()).await {
        Ok(secret) => render(state, parts, NoJsOutcome::Secret { secret, heading: "Credential created" }).await,
        Err(e) => render(state, parts, NoJsOutcome::FormError { values: values_from(&input), error: e.into() }).await,
    }
}

async fn edit(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    let form = match read_form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let input = input_from(&form);
    match service::update(&state, &p, &id, input.clone()).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => render(state, parts, NoJsOutcome::FormError { values: values_from(&input), error: e.into() }).await,
    }
}

async fn regenerate(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    match service::regenerate(&state, &p, &id).await {
        Ok(secret) => render(state, parts, NoJsOutcome::Secret { secret, heading: "New secret generated" }).await,
        Err(e) => render(state, parts, NoJsOutcome::Error(e.into())).await,
    }
}

async fn delete(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    match service::delete(&state, &p, &id).await {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => render(state, parts, NoJsOutcome::Error(e.into())).await,
    }
}

fn api_input_from(form: &[(String, String)]) -> ProtectedApiInput {
    let one = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    ProtectedApiInput { name: one("name"), audience: one("audience") }
}

fn api_form_error(input: ProtectedApiInput, error: AppError) -> ProtectedApiOutcome {
    ProtectedApiOutcome::FormError { name: input.name, audience: input.audience, error }
}

async fn create_api(State(state): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login?next=/protected-apis/new").into_response() };
    let form = match read_form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let input = api_input_from(&form);
    match protected_apis::create(&state, &p, input.clone()).await {
        Ok(secret) => {
            render_api(state, parts, ProtectedApiOutcome::Secret { secret, heading: "Protected API created" }).await
        }
        Err(e) => render_api(state, parts, api_form_error(input, e.into())).await,
    }
}

async fn edit_api(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    let form = match read_form(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let input = api_input_from(&form);
    match protected_apis::update(&state, &p, &id, input.clone()).await {
        Ok(()) => Redirect::to("/protected-apis").into_response(),
        Err(e) => render_api(state, parts, api_form_error(input, e.into())).await,
    }
}

async fn regenerate_api(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    match protected_apis::regenerate(&state, &p, &id).await {
        Ok(secret) => {
            render_api(state, parts, ProtectedApiOutcome::Secret { secret, heading: "New secret generated" }).await
        }
        Err(e) => render_api(state, parts, ProtectedApiOutcome::Error(e.into())).await,
    }
}

async fn delete_api(State(state): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    let (parts, _body) = req.into_parts();
    let Some(p) = caller(&parts) else { return Redirect::to("/login").into_response() };
    match protected_apis::delete(&state, &p, &id).await {
        Ok(()) => Redirect::to("/protected-apis").into_response(),
        Err(e) => render_api(state, parts, ProtectedApiOutcome::Error(e.into())).await,
    }
}
