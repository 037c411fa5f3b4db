"""Recognition: training data (`dataset`, `countix`), features (`features`, `augment`), the
classifier (`model`), its training (`train`, `training_rows`), its honest measurement (`metrics`) and
its use on clips and streams (`inference`)."""
