//! How the element shows the backing store under CSS scaling (`Scaling::Css`): the canvas
//! holds the frame 1:1, and its inline style scales it into the content box the way
//! `rfb_protocol::fit` says, so the browser's compositor does the scaling:
//!
//! | property | value | why |
//! |---|---|---|
//! | `object-fit` | the fit mode (`contain`, `cover`, `fill`) | the same rectangles as `fit_rect` |
//! | `object-position` | `50% 50%` | centred, as `fit_rect` centres (a page rule may say otherwise) |
//! | `background-color` | the letterbox colour | shows where the picture does not cover |
//!
//! Under `Scaling::Canvas` none of this is set (the backing store has the element's shape
//! and the letterbox is painted in it). The values the page had inline are put back when the
//! view is disposed or switches to canvas scaling.

use std::cell::RefCell;

use rfb_protocol::Scaling;
use web_sys::HtmlElement;

use super::surface::Layout;

/// The properties CSS scaling sets.
const PROPERTIES: [&str; 3] = ["object-fit", "object-position", "background-color"];

/// The inline style values the page had before the view set them: `(value, priority)`.
type Saved = Vec<(String, String)>;

/// The canvas style CSS scaling needs, applied and undone.
#[derive(Debug, Default)]
pub struct Presentation {
    /// `Some` while the view's values are set.
    saved: RefCell<Option<Saved>>,
}

/// The values `layout` needs (`None`: scaled in the canvas, nothing to set).
pub fn style_of(layout: &Layout) -> Option<[String; 3]> {
    (layout.scaling == Scaling::Css).then(|| {
        [
            layout.geometry(1, 1).object_fit().to_string(),
            "50% 50%".to_string(),
            layout.background.clone(),
        ]
    })
}

impl Presentation {
    /// Styles `canvas` for `layout` (under canvas scaling: puts the page's values back).
    pub fn apply(&self, canvas: &HtmlElement, layout: &Layout) {
        let Some(values) = style_of(layout) else {
            self.restore(canvas);
            return;
        };
        let style = canvas.style();
        let mut saved = self.saved.borrow_mut();
        if saved.is_none() {
            *saved = Some(
                PROPERTIES
                    .iter()
                    .map(|p| {
                        let value = style.get_property_value(p).unwrap_or_default();
                        (value, style.get_property_priority(p))
                    })
                    .collect(),
            );
        }
        for (property, value) in PROPERTIES.iter().zip(values) {
            // `important`: a page rule must not move the picture away from where input maps.
            // An invalid colour is ignored by the browser, as a 2D context's fillStyle does.
            let _ = style.set_property_with_priority(property, &value, "important");
        }
    }

    /// Puts back the page's inline values (no-op if nothing was set).
    pub fn restore(&self, canvas: &HtmlElement) {
        let Some(saved) = self.saved.borrow_mut().take() else {
            return;
        };
        let style = canvas.style();
        for (property, (value, priority)) in PROPERTIES.iter().zip(saved) {
            // Setting or removing a known property cannot fail.
            let _ = if value.is_empty() {
                style.remove_property(property).map(|_| ())
            } else {
                style.set_property_with_priority(property, &value, &priority)
            };
        }
    }
}
