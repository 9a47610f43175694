//! Integration tests of sipas-aggregate.

mod arms;
mod channels;
mod common;
mod design;
mod design_fixture;
mod index;
mod level;
mod merge;
mod rollout;
mod sql;
mod survey;
