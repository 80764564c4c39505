//! The sign-in page. Works as a plain form post without JavaScript.

use crate::api::session::Login;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let expired = move || query.read().get("expired").is_some();
    let error = move || action.value().get().and_then(|r| r.err());

    // Enhancements that need JavaScript appear only once the page is live.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let show_password = RwSignal::new(false);

    view! {
        <Title text="Sign in" />
        <div class="auth-page">
            <div class="auth-card">
                <div class="brand brand-large">
                    <span class="brand-mark" aria-hidden="true">"ac"</span>
                    <span class="brand-name">"appcred"</span>
                </div>
                <h1>"Sign in"</h1>
                <p class="muted">"Manage the application credentials that let other systems call your APIs."</p>
                <Show when=expired>
                    <div class="alert alert-info" role="status">
                        "Your session ended. Sign in again to continue."
                    </div>
                </Show>
                {move || error().map(|e| view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> })}
                <ActionForm action>
                    <input type="hidden" name="next" value=next />
                    <div class="field">
                        <label for="username">"Username"</label>
                        <input id="username" name="username" type="text" autocomplete="username" required autofocus maxlength="64" />
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <div class="input-with-button">
                            <input
                                id="password"
                                name="password"
                                type=move || if show_password.get() { "text" } else { "password" }
                                autocomplete="current-password"
                                required
                                maxlength="256"
                            />
                            <Show when=move || hydrated.get()>
                                <button
                                    type="button"
                                    class="btn btn-ghost"
                                    aria-pressed=move || show_password.get().to_string()
                                    on:click=move |_| show_password.update(|v| *v = !*v)
                                >
                                    {move || if show_password.get() { "Hide" } else { "Show" }}
                                </button>
                            </Show>
                        </div>
                    </div>
                    <button type="submit" class="btn btn-primary btn-block" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </div>
    }
}
