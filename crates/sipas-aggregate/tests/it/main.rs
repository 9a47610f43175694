//! Integration tests of sipas-aggregate.

mod design;
mod survey;
