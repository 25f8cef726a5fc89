//! The canvas's boxes as the page lays them out (main thread): its content-box size in its
//! own CSS pixels (what the backing store and the fit are computed from; unaffected by CSS
//! transforms, unlike `getBoundingClientRect`) and the [`ElementBox`] pointer positions are
//! mapped through (transforms, border and padding).

use web_sys::{CssStyleDeclaration, Element};

use crate::input::ElementBox;

/// A length property of a computed style in CSS pixels (`"12.5px"` -> 12.5; 0 otherwise).
fn px(style: &CssStyleDeclaration, property: &str) -> f64 {
    style
        .get_property_value(property)
        .ok()
        .and_then(|v| v.trim().trim_end_matches("px").parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// Border and padding of each side: (left, top, right, bottom).
fn insets(style: &CssStyleDeclaration) -> (f64, f64, f64, f64) {
    let side =
        |s: &str| px(style, &format!("border-{s}-width")) + px(style, &format!("padding-{s}"));
    (side("left"), side("top"), side("right"), side("bottom"))
}

fn computed_style(element: &Element) -> Option<CssStyleDeclaration> {
    web_sys::window()?
        .get_computed_style(element)
        .ok()
        .flatten()
}

/// The content box's size in the element's own CSS pixels (before transforms).
pub fn content_size(element: &Element) -> (f64, f64) {
    let Some(style) = computed_style(element) else {
        let rect = element.get_bounding_client_rect();
        return (rect.width(), rect.height());
    };
    let (l, t, r, b) = insets(&style);
    let (width, height) = (px(&style, "width"), px(&style, "height"));
    if style.get_property_value("box-sizing").ok().as_deref() == Some("border-box") {
        ((width - l - r).max(0.0), (height - t - b).max(0.0))
    } else {
        (width, height)
    }
}

/// Where `element` is on the page, for mapping pointer positions into its content box;
/// `content` is its content-box size (the layout the view keeps from its size watch).
pub fn element_box(element: &Element, content: (f64, f64)) -> ElementBox {
    let rect = element.get_bounding_client_rect();
    let (l, t, r, b) = computed_style(element).map_or((0.0, 0.0, 0.0, 0.0), |s| insets(&s));
    ElementBox {
        rect_left: rect.left(),
        rect_top: rect.top(),
        rect_width: rect.width(),
        rect_height: rect.height(),
        inset_left: l,
        inset_top: t,
        border_width: content.0 + l + r,
        border_height: content.1 + t + b,
    }
}
