"""Project bundles, OpenTimelineIO and subtitle files."""
