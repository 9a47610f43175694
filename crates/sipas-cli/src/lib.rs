//! sipas CLI
