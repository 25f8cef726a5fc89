//! What a viewer may do with the app: drive it, or only watch.

use serde::{Deserialize, Serialize};

/// A viewer's role on a stream, decided by the authentication hook and changeable at run
/// time by the app (control hand-over).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// May send input, viewport changes and pastes to the app.
    #[default]
    Control,
    /// Watches only: its input, viewport changes and pastes are dropped (and counted).
    View,
}

impl Role {
    /// `control` or `view`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Control => "control",
            Role::View => "view",
        }
    }

    /// The role named `control` or `view`.
    pub fn from_name(name: &str) -> Option<Role> {
        match name {
            "control" => Some(Role::Control),
            "view" => Some(Role::View),
            _ => None,
        }
    }

    /// True when this viewer's input reaches the app.
    pub fn may_control(self) -> bool {
        self == Role::Control
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in [Role::Control, Role::View] {
            assert_eq!(Role::from_name(role.name()), Some(role));
        }
        assert_eq!(Role::from_name("admin"), None);
        assert!(Role::Control.may_control() && !Role::View.may_control());
    }
}
