//! What a new token of a credential would get.

use crate::model::{format_date, EffectiveRights};
use leptos::either::Either;
use leptos::prelude::*;

/// The roles a new token would get now, and why any on the record are
/// missing. `full` always says it (the edit dialog); otherwise only when
/// something is missing (list rows, where the chips say the rest).
#[component]
pub(super) fn EffectiveRightsNote(rights: EffectiveRights, #[prop(optional)] full: bool) -> impl IntoView {
    let EffectiveRights { roles, blocked, missing } = rights;
    if let Some(why) = blocked {
        return Either::Left(Some(view! {
            <p class="rights rights-blocked">
                <strong>"New tokens: none. "</strong>
                {why}
            </p>
        }));
    }
    if missing.is_empty() && !full {
        return Either::Left(None);
    }
    let labels = roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
    let why = (!missing.is_empty()).then(|| {
        let each = missing.iter().map(|(role, at)| match (*at > 0, full) {
            (true, true) => format!("{role} was revoked from you on {}", format_date(*at)),
            (true, false) => format!("{role} (revoked {})", format_date(*at)),
            (false, _) => format!("{role} (you do not hold it)"),
        });
        format!("Not included: {}.", each.collect::<Vec<_>>().join("; "))
    });
    Either::Right(view! {
        <p class="rights">
            <strong>"New tokens get: "</strong>
            {labels}
            "."
            {why.map(|w| view! { <span class="rights-missing">" " {w}</span> })}
        </p>
    })
}
