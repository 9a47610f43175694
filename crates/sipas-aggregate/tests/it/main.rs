//! Integration tests of sipas-aggregate.

mod channels;
mod survey;
