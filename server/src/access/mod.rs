//! Who may reach the server, decided from the request alone, before any session exists.
//! Pure functions over raw header bytes (no I/O), so the fuzz targets and unit tests
//! drive them directly.
//!
//! | check | refusal | module |
//! |---|---|---|
//! | `Host` names this server (DNS rebinding) | HTTP 403 on every path | [`host`] |
//! | `Origin` is a page allowed to connect (cross-site WebSocket hijacking) | upgrade accepted, then close 4403 with a reason naming `--origin` | [`origin`] |
//! | the side channel's credential (`Authorization: Bearer`, `?token=`) | HTTP 401 | [`token`], `crate::http` |
//! | a static file's path stays inside its folder, names nothing hidden | HTTP 404 | [`path`], `crate::http` |
//!
//! Authentication of viewers (the app's hook, roles) is in [`crate::auth`].

pub mod host;
pub mod origin;
pub mod path;
pub mod token;

pub use host::{Authority, HostAllowList};
pub use origin::{OriginPolicy, OriginRefused};
pub use token::request_token;
