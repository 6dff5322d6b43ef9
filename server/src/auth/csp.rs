//! The Content-Security-Policy: a fresh nonce per page, no `unsafe-inline`.

/// The per-request CSP nonce, for the page renderer.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

/// The Content-Security-Policy for a page whose inline scripts carry `nonce`; images may also
/// come from `tile_origin`, the department's online tile service, and from no other origin.
pub fn page_csp(nonce: &str, tile_origin: Option<&str>) -> String {
    let tiles = tile_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data: blob:{tiles}; font-src 'self'; connect-src 'self'; \
         worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a page (API answers, files).
pub const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

#[cfg(test)]
mod tests {
    #[test]
    fn images_come_from_this_origin_and_the_tile_service_only() {
        assert!(super::page_csp("n", None).contains("img-src 'self' data: blob:;"));
        let with = super::page_csp("n", Some("https://tiles.city.gov"));
        assert!(with.contains("img-src 'self' data: blob: https://tiles.city.gov;"), "{with}");
        assert!(with.contains("connect-src 'self';"), "tiles are images: nothing else opens to that origin");
    }
}
