//! Integration tests of sipas-aggregate.

mod merge;
mod survey;
