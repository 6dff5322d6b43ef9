use leptos::prelude::*;
use leptos_meta::Title;

/// Any path Beatbook does not know. Sets the real 404 status when rendered on the server.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Beatbook"/>
        <section class="page">
            <h1>"Not found"</h1>
            <p>"There is no such page. " <a href="/">"Back to the overview"</a></p>
        </section>
    }
}
