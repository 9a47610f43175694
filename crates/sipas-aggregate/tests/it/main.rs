//! Integration tests of sipas-aggregate.

mod channels;
mod design;
mod merge;
mod rollout;
mod sql;
mod survey;
