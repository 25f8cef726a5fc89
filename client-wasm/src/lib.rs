//! The rfb browser viewer (built in the browser viewer issue).
