//! Who may reach an rfb server, decided from the request alone, before any session exists.
//! Pure functions over raw header bytes (no I/O), so the fuzz targets and unit tests
//! drive them directly. The server re-exports this crate as `rfb::access`; it is a crate of
//! its own so that the fuzz targets build it (instrumented) without the server's encoders.
//!
//! | check | refusal | module |
//! |---|---|---|
//! | `Host` names this server (DNS rebinding) | HTTP 403 on every path | [`host`] |
//! | `Origin` is a page allowed to connect (cross-site WebSocket hijacking) | upgrade accepted, then close 4403 with a reason naming `--origin` | [`origin`] |
//! | the side channel's credential (`Authorization: Bearer`, `?token=`) | HTTP 401 | [`token`], `rfb::http` |
//! | a static file's path stays inside its folder, names nothing hidden | HTTP 404 | [`path`], `rfb::http` |
//!
//! Authentication of viewers (the app's hook, roles) is in `rfb::auth`.

#![warn(missing_docs)]

pub mod host;
pub mod origin;
pub mod path;
pub mod token;

pub use host::{Authority, HostAllowList};
pub use origin::{OriginPolicy, OriginRefused};
pub use token::request_token;
