//! Integration tests of sipas-aggregate.

mod arms;
mod channels;
mod design;
mod merge;
mod rollout;
mod sql;
mod survey;
