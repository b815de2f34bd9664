//! Laws of the products as property tests.
