//! Integration tests of sipas-aggregate.

mod channels;
mod design;
mod level;
mod merge;
mod rollout;
mod sql;
mod survey;
