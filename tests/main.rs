//! Integration tests, one module per area (the maintainer merges the list).

mod space;
