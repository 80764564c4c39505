//! The admin web app: document shell, routes and the signed-in frame.

pub mod components;
pub mod layout;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The Content-Security-Policy of every page: scripts only with this
/// response's nonce (Leptos puts it on the hydration scripts it writes) or
/// loaded by them (`strict-dynamic`: the wasm bundle's glue), WebAssembly
/// compilation allowed, everything else from our own origin only.
#[cfg(feature = "ssr")]
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'"
    )
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP carries this response's nonce, so it is set here, where the
    // nonce is known, rather than by the server's header middleware.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(res)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = http::HeaderValue::from_str(&page_csp(&nonce.to_string())) {
            res.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                // Pages answering a plain form post are static: they show
                // server-side results the client could not reproduce.
                {(use_context::<pages::credentials::NoJsOutcome>().is_none()
                    && use_context::<pages::protected_apis::ProtectedApiOutcome>().is_none())
                .then(|| view! { <HydrationScripts options /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/appcred.css" />
        <Title formatter=|text: String| if text.is_empty() { "appcred".to_string() } else { format!("{text} · appcred") } />
        // Every page is rendered whole on the server (SsrMode::Async), so it
        // is complete without JavaScript; hydration then takes over.
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=layout::Layout ssr=SsrMode::Async>
                    <Route path=path!("/") view=pages::credentials::CredentialsPage ssr=SsrMode::Async />
                    <Route path=path!("/credentials/new") view=pages::credentials::NewCredentialPage ssr=SsrMode::Async />
                    <Route path=path!("/credentials/:id/edit") view=pages::credentials::EditCredentialPage ssr=SsrMode::Async />
                    <Route path=path!("/credentials/:id/regenerate") view=pages::credentials::RegenerateCredentialPage ssr=SsrMode::Async />
                    <Route path=path!("/credentials/:id/delete") view=pages::credentials::DeleteCredentialPage ssr=SsrMode::Async />
                    <Route path=path!("/users") view=pages::users::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/users/:id") view=pages::users::UserDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=pages::settings::SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/protected-apis") view=pages::protected_apis::ProtectedApisPage ssr=SsrMode::Async />
                    <Route path=path!("/protected-apis/new") view=pages::protected_apis::NewProtectedApiPage ssr=SsrMode::Async />
                    <Route path=path!("/protected-apis/:id/edit") view=pages::protected_apis::EditProtectedApiPage ssr=SsrMode::Async />
                    <Route path=path!("/protected-apis/:id/regenerate") view=pages::protected_apis::RegenerateProtectedApiPage ssr=SsrMode::Async />
                    <Route path=path!("/protected-apis/:id/delete") view=pages::protected_apis::DeleteProtectedApiPage ssr=SsrMode::Async />
                    <Route path=path!("/credentials/:id/usage") view=pages::audit::OwnUsagePage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=pages::audit::AuditLogPage ssr=SsrMode::Async />
                    <Route path=path!("/audit/credentials") view=pages::audit::AllCredentialsPage ssr=SsrMode::Async />
                    <Route path=path!("/audit/credentials/:id") view=pages::audit::AuditedUsagePage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
