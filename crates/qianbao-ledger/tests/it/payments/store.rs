//! The payments store's conformance suite.
