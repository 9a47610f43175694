//! Integration tests of sipas-aggregate.

mod survey;
