//! What assistive technology is told about the canvas: a role and an accessible name.
//! A canvas is otherwise an anonymous graphic. When the view forwards input (keys are
//! captured while it has focus) it is an `application` (screen readers pass keys through);
//! a view-only canvas is an `img`. The page's own `role` and `aria-label` win; what the view
//! added is removed on dispose.

use web_sys::Element;

/// The accessible name the view gives its canvas.
pub const DEFAULT_LABEL: &str = "Remote display";

/// The attributes the view added (to remove them again).
#[derive(Debug, Default)]
pub struct Labelled {
    added: Vec<&'static str>,
}

/// Gives `canvas` a role (`application` when `interactive`, else `img`), an accessible
/// name and a role description, unless the page set them.
pub fn label(canvas: &Element, interactive: bool) -> Labelled {
    let role = if interactive { "application" } else { "img" };
    let mut added = Vec::new();
    for (name, value) in [
        ("role", role),
        ("aria-label", DEFAULT_LABEL),
        ("aria-roledescription", "remote display"),
    ] {
        // Setting an attribute with a valid name cannot fail.
        if !canvas.has_attribute(name) && canvas.set_attribute(name, value).is_ok() {
            added.push(name);
        }
    }
    Labelled { added }
}

impl Labelled {
    /// Removes what [`label`] added from `canvas`.
    pub fn remove(&self, canvas: &Element) {
        for name in &self.added {
            // Removing an attribute cannot fail.
            let _ = canvas.remove_attribute(name);
        }
    }
}
