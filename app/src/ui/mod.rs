//! Shared widgets and hooks: the header ([`header`]), night mode ([`theme`]), the shift
//! picker ([`shift_picker`]), the one map component ([`map`]) and a place tapped on it
//! ([`place_picker`]), SVG charts ([`charts`]), hooks
//! ([`hooks`]) and the 404 page ([`not_found`]).

pub mod charts;
pub mod header;
pub mod hooks;
pub mod map;
pub mod not_found;
pub mod place_picker;
pub mod shift_picker;
pub mod theme;
