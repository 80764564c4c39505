//! The one modal dialog.

use leptos::prelude::*;

/// A modal `<dialog>`: Esc closes it, focus stays inside while it is open
/// and returns to the opener when it closes (native dialog behaviour).
#[component]
pub fn Modal(
    open: Signal<bool>,
    on_close: Callback<()>,
    #[prop(into)] label: String,
    children: ChildrenFn,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(d) = node.get() {
            if open.get() {
                if !d.open() {
                    let _ = d.show_modal();
                }
            } else if d.open() {
                d.close();
            }
        }
    });
    view! {
        // `close` also fires when we close it ourselves (because `open` went
        // false); only a close the user made (Esc) is reported.
        <dialog
            class="modal"
            node_ref=node
            aria-label=label
            on:close=move |_| {
                if open.get_untracked() {
                    on_close.run(())
                }
            }
        >
            <Show when=move || open.get()>{children()}</Show>
        </dialog>
    }
}
