//! Server hardening: every way in, every bound, every refusal (one file per behaviour).
//!
//! | file | behaviour |
//! |---|---|
//! | `hosts.rs` | the `Host` allow-list (DNS rebinding), security headers, static files |
//! | `side_channel.rs` | hooks guard `/metrics`, `/streams`, `/recorded-events`; POST reset; probing |
//! | `roles.rs` | `Control` and `View`, hand-over, clipboard and paste |
//! | `limits.rs` | header and idle timeouts, connection and session limits |
//! | `heartbeat.rs` | heartbeats on still streams, 4409 for a silent viewer |
//! | `keyframes.rs` | what one viewer needs never costs the others more than one IDR per 500 ms |
//! | `match_client.rs` | viewport sizing that always fits the encoder, per-viewer debounce |

mod heartbeat;
mod hosts;
mod keyframes;
mod limits;
mod match_client;
mod roles;
mod side_channel;
