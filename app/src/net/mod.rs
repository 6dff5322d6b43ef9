//! The browser's way to the server: same-origin requests with their status and text
//! ([`fetch_json`], [`fetch_body`]), and whether the server can be reached at all
//! ([`connectivity`]). Every request made here tells [`connectivity`] what happened.

pub mod connectivity;

/// The `message` of an error answer (the envelope of `protocol::error`), if it has one.
pub fn answer_message(body: &str) -> Option<String> {
    serde_json::from_str::<protocol::error::ErrorEnvelope>(body).ok().map(|e| e.message).or_else(|| {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
    })
}

/// Whether a server function's error means the server cannot be reached: at once when the
/// request got no answer; for any other failure of the call itself (an answer that did not
/// decode: a captive portal's page, a proxy's 502), when a probe of `/healthz` finds no Beatbook.
/// The server's own refusals (401, 403, 422…) are answers, not a lost server.
#[cfg(feature = "hydrate")]
pub async fn server_unreachable(err: &crate::error::ApiError) -> bool {
    use crate::error::ApiError;
    if err.is_offline() {
        connectivity::observe_failure();
        return true;
    }
    if !matches!(err, ApiError::Transport(_) | ApiError::Unavailable(_) | ApiError::BadRequest(_)) {
        return false;
    }
    !send_wrapper::SendWrapper::new(connectivity::check_now()).await.is_online()
}

#[cfg(feature = "hydrate")]
pub use browser::{fetch_body, fetch_json};

#[cfg(feature = "hydrate")]
mod browser {
    use wasm_bindgen::JsCast;

    use super::connectivity;

    /// A same-origin request with a JSON body; the status and the answer's text.
    ///
    /// # Errors
    /// No signal, the server cannot be reached (something else answered), or the answer was
    /// cut off.
    pub async fn fetch_json(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), String> {
        let json = body.map(|b| wasm_bindgen::JsValue::from_str(&b));
        fetch_body(method, url, json.as_ref().map(|b| (b, Some("application/json")))).await
    }

    /// A same-origin request with any body (a string, a `File`…) and, when given, its content
    /// type; the status and the answer's text.
    ///
    /// # Errors
    /// No signal, the server cannot be reached (something else answered), or the answer was
    /// cut off.
    pub async fn fetch_body(
        method: &str,
        url: &str,
        body: Option<(&wasm_bindgen::JsValue, Option<&str>)>,
    ) -> Result<(u16, String), String> {
        let init = web_sys::RequestInit::new();
        init.set_method(method);
        init.set_credentials(web_sys::RequestCredentials::SameOrigin);
        if let Some((b, content_type)) = body {
            init.set_body(b);
            if let Some(ct) = content_type {
                let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
                headers.set("content-type", ct).map_err(|e| format!("{e:?}"))?;
                init.set_headers(&headers);
            }
        }
        let window = web_sys::window().ok_or("no window")?;
        let resp =
            wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(|_| {
                connectivity::observe_failure();
                "no signal".to_string()
            })?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response".to_string())?;
        connectivity::observe_response(&resp);
        if !connectivity::current().is_online() {
            // A proxy's error page or a captive portal, not Beatbook: nothing was delivered.
            return Err(format!("the server cannot be reached (something else answered {})", resp.status()));
        }
        let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?)
            .await
            .map_err(|_| "the answer was cut off".to_string())?
            .as_string()
            .unwrap_or_default();
        Ok((resp.status(), text))
    }
}
