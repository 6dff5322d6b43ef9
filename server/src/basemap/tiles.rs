//! An online tile service (`BEATBOOK_TILE_URL`): a department's own XYZ tile server (its ArcGIS
//! or OpenStreetMap tiles) drawn over the offline PMTiles basemap when there is signal. The
//! Content-Security-Policy lets images come from exactly that origin, and the service worker
//! stores nothing from another origin (most tile services' terms forbid keeping their tiles):
//! with no signal the maps fall back to the PMTiles file, or to the plain background.

use app::model::TileServiceInfo;

/// A checked tile URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileService {
    /// What the maps get: the template and its attribution.
    pub info: TileServiceInfo,
    /// `scheme://host[:port]`, the one origin the CSP allows images from.
    pub origin: String,
}

impl TileService {
    /// Checks a template such as `https://tiles.example.org/{z}/{x}/{y}.png`: `https` (plain
    /// `http` only for a tile server on this machine, since a page served over TLS may not load
    /// it), a host, and `{z}`, `{x}` and `{y}`.
    ///
    /// # Errors
    /// A sentence naming `BEATBOOK_TILE_URL` and what is wrong.
    pub fn parse(template: &str, attribution: &str) -> anyhow::Result<Self> {
        let bad = |why: &str| anyhow::anyhow!("BEATBOOK_TILE_URL '{template}' {why}");
        let template = template.trim();
        for part in ["{z}", "{x}", "{y}"] {
            if !template.contains(part) {
                return Err(bad(&format!("has no {part} (e.g. https://tiles.example.org/{{z}}/{{x}}/{{y}}.png)")));
            }
        }
        let (scheme, rest) = template.split_once("://").ok_or_else(|| bad("is not an http(s) URL"))?;
        let host_port = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host_port.is_empty() || host_port.contains(['{', '}', '@', ' ']) {
            return Err(bad("needs a fixed host (no {s} subdomains, no user name)"));
        }
        let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h);
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        match scheme {
            "https" => {}
            "http" if loopback => {}
            "http" => return Err(bad("must be https (plain http only for a tile server on this machine)")),
            _ => return Err(bad("is not an http(s) URL")),
        }
        if attribution.trim().is_empty() {
            anyhow::bail!("BEATBOOK_TILE_ATTRIBUTION is empty: a tile service's licence names its attribution");
        }
        Ok(TileService {
            info: TileServiceInfo { url_template: template.to_string(), attribution: attribution.trim().to_string() },
            origin: format!("{scheme}://{host_port}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::TileService;

    #[test]
    fn a_template_gives_its_one_origin_and_bad_ones_are_named() {
        let t = TileService::parse("https://tiles.city.gov:8443/osm/{z}/{x}/{y}.png", "© City").expect("good");
        assert_eq!(t.origin, "https://tiles.city.gov:8443");
        let t = TileService::parse("http://127.0.0.1:3111/t/{z}/{x}/{y}.png", "Test").expect("loopback http");
        assert_eq!(t.origin, "http://127.0.0.1:3111");
        let err = |u: &str| TileService::parse(u, "© City").expect_err(u).to_string();
        assert!(err("https://tiles.city.gov/{z}/{x}.png").contains("has no {y}"));
        assert!(err("http://tiles.city.gov/{z}/{x}/{y}.png").contains("must be https"));
        assert!(err("https://{s}.tile.osm.org/{z}/{x}/{y}.png").contains("fixed host"));
        assert!(err("ftp://tiles.city.gov/{z}/{x}/{y}.png").contains("not an http(s) URL"));
        assert!(TileService::parse("https://t.city.gov/{z}/{x}/{y}.png", " ").is_err());
    }
}
