//! Dev's side of berth: the sample HTTP service the pipeline ships, and its buildspec as a typed model.
