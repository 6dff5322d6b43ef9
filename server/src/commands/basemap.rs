//! `server basemap check|schematic`: what `serve` will say about a basemap file, or a plain grid
//! basemap to try the offline map with.

use crate::cli::BasemapCmd;

/// Runs one `server basemap …` command.
///
/// # Errors
/// A file that is not a usable PMTiles basemap; a bad box or zoom range.
pub fn run(cmd: BasemapCmd) -> anyhow::Result<()> {
    match cmd {
        BasemapCmd::Check { file } => {
            let map = crate::basemap::Basemap::open(&file, "")?;
            let i = &map.info;
            println!(
                "{}: PMTiles v3, {} tiles, zoom {}..{}, bounds {:.5},{:.5},{:.5},{:.5}, {} bytes, served as {}",
                file.display(),
                i.tile_type,
                i.min_zoom,
                i.max_zoom,
                i.bounds[0],
                i.bounds[1],
                i.bounds[2],
                i.bounds[3],
                i.bytes,
                i.url
            );
            Ok(())
        }
        BasemapCmd::Schematic { out, bbox, min_zoom, max_zoom } => {
            let bbox: [f64; 4] =
                bbox.try_into().map_err(|_| anyhow::anyhow!("--bbox takes four numbers: west,south,east,north"))?;
            let s = crate::basemap::write_schematic(&out, bbox, min_zoom, max_zoom)?;
            println!("{}: {} tiles, {} bytes", out.display(), s.tiles, s.bytes);
            Ok(())
        }
    }
}
