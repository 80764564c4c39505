use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <div class="auth-page">
            <div class="auth-card">
                <h1>"Page not found"</h1>
                <p class="muted">"The page you asked for does not exist."</p>
                <a class="btn btn-primary" href="/">"Go to the start page"</a>
            </div>
        </div>
    }
}
