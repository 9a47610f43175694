//! Integration tests of sipas-aggregate.

mod channels;
mod merge;
mod design;
mod survey;
