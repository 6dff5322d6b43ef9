//! The screens, one module each.

mod accounts;
mod accuracy;
mod audit;
mod crime;
mod missions;
mod nearby;
mod not_found;
mod overview;
mod places;
mod presence;
mod signin;
mod snapshot;
mod upload;

pub use accounts::{AccountsPage, DevicesPage};
pub use accuracy::AccuracyPage;
pub use audit::AuditLog;
pub use crime::{cell_fill, cells_geojson, harm_breaks, CrimePage, Shade};
pub use missions::{compass, distance_and_bearing, distance_text, MenuEditor, MyMissions, PlanShift, ShiftBoard};
pub use nearby::{hot_spots_near, NearRow, NearbyHotSpots};
pub use not_found::NotFound;
pub use overview::Overview;
pub use places::{busiest_places, PlaceRow, Places};
pub use presence::{presence_class, PresencePage};
pub use signin::{signin_message, SignIn};
pub use snapshot::{LorenzCurve, SnapshotBody, SnapshotPage, Sparkline};
pub use upload::{UploadPage, Uploaded, PRESETS as UPLOAD_PRESETS};
